#!/bin/bash -eu
# build.sh - builds cmsgref's fuzz targets under the OSS-Fuzz contract.
#
# Why: ClusterFuzzLite (and OSS-Fuzz) run this with $CC $CXX $CFLAGS
# $CXXFLAGS $LIB_FUZZING_ENGINE $OUT set for the engine and sanitizer they
# want; `make oss-fuzz-check` runs it the same way locally so it cannot rot.
# Every C file is compiled with $CC $CFLAGS; each target is linked with $CXX
# (the engine's runtime is C++).  Into $OUT it puts, per target <t>: the
# binary, <t>_seed_corpus.zip (the committed corpus/ directories of that
# target), <t>.dict and <t>.options.  The targets, each one's extra sources
# and corpus directories, and the include flags are read from the Makefile's
# fuzz section (FUZZ_TARGETS, FZ_EXTRA_<t>, FZ_CORPUS_<t>, FZ_INC), so the
# two cannot drift apart; the image has make.
set -eu  # also when run as `bash build.sh` (make oss-fuzz-check)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f "$ROOT/harness/include/cmsgref.h" ]; then
  ROOT="$SRC/cmsgref"
fi
cd "$ROOT"
OBJ="${WORK:-/tmp}/cmsgref-obj"
rm -rf "$OBJ"
mkdir -p "$OBJ"

mk_print() {  # mk_print MAKE-TEXT: what the Makefile expands MAKE-TEXT to
  MAKEFLAGS= MAKELEVEL= make --no-print-directory -s -C "$ROOT" \
    --eval "cfl-print: ; @$1" cfl-print
}
INC="$(mk_print 'echo $(FZ_INC)') -std=c11"
# One line a target: "name;extra sources;corpus directories".
LIST="$(mk_print '$(foreach t,$(FUZZ_TARGETS),echo "$(t);$(FZ_EXTRA_$(t));$(FZ_CORPUS_$(t))";)')"
if [ -z "$LIST" ]; then
  echo "build.sh: the Makefile names no FUZZ_TARGETS" >&2
  exit 1
fi
compile() {  # compile SRC.c -> $OBJ/<flattened>.o, print the object path
  local o="$OBJ/$(echo "$1" | tr '/' '_').o"
  $CC $CFLAGS $INC -c "$1" -o "$o"
  echo "$o"
}

LIB_OBJS=""
for f in harness/src/*.c; do
  LIB_OBJS="$LIB_OBJS $(compile "$f")"
done

zip_dirs() {  # zip_dirs OUT.zip DIR... : flat zip of every file
  local out="$1"; shift
  rm -f "$out"
  if command -v zip >/dev/null 2>&1; then
    find "$@" -maxdepth 1 -type f ! -name '.*' -print0 | xargs -0 zip -q -j "$out"
  else
    python3 - "$out" "$@" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for d in sys.argv[2:]:
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            if os.path.isfile(p) and not n.startswith('.'):
                z.write(p, n)
PY
  fi
}

while IFS=";" read -r t extra corpus <&3; do
  if [ -z "$corpus" ]; then
    echo "build.sh: the Makefile gives $t no FZ_CORPUS_$t" >&2
    exit 1
  fi
  objs="$(compile "fuzz/$t.c")"
  for e in $extra; do
    objs="$objs $(compile "$e")"
  done
  $CXX $CXXFLAGS $objs $LIB_OBJS $LIB_FUZZING_ENGINE -o "$OUT/$t"
  zip_dirs "$OUT/${t}_seed_corpus.zip" $corpus
  cp fuzz/cmsg.dict "$OUT/$t.dict"
  cp "fuzz/$t.options" "$OUT/$t.options"
done 3<<< "$LIST"
