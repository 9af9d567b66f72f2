#!/bin/bash -eu
# build.sh - builds cmsgref's fuzz targets under the OSS-Fuzz contract.
#
# Why: ClusterFuzzLite (and OSS-Fuzz) run this with $CC $CXX $CFLAGS
# $CXXFLAGS $LIB_FUZZING_ENGINE $OUT set for the engine and sanitizer they
# want; `make oss-fuzz-check` runs it the same way locally so it cannot rot.
# Every C file is compiled with $CC $CFLAGS; each target is linked with $CXX
# (the engine's runtime is C++).  Into $OUT it puts, per target <t>: the
# binary, <t>_seed_corpus.zip (the committed corpus/ directories of that
# target), <t>.dict and <t>.options.  The target list and corpus
# directories match the Makefile's fuzz section.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f "$ROOT/harness/include/cmsgref.h" ]; then
  ROOT="$SRC/cmsgref"
fi
cd "$ROOT"
OBJ="${WORK:-/tmp}/cmsgref-obj"
rm -rf "$OBJ"
mkdir -p "$OBJ"

INC="-Iharness/include -Iharness/shadow -Ifuzz -D_GNU_SOURCE -std=c11"
compile() {  # compile SRC.c -> $OBJ/<flattened>.o, print the object path
  local o="$OBJ/$(echo "$1" | tr '/' '_').o"
  $CC $CFLAGS $INC -c "$1" -o "$o"
  echo "$o"
}

LIB_OBJS=""
for f in harness/src/*.c; do
  LIB_OBJS="$LIB_OBJS $(compile "$f")"
done

# target -> extra sources, corpus directories
declare -A EXTRA=( [cmsg_parse]="" [cmsg_diff]="harness/shadow/shadow_walk.c"
                   [recvmsg_fake]="fuzz/fake_kernel.c" [cmsg_len]="" )
declare -A CORPUS=( [cmsg_parse]="corpus/cmsg_parse"
                    [cmsg_diff]="corpus/cmsg_diff corpus/cmsg_parse"
                    [recvmsg_fake]="corpus/recvmsg_fake"
                    [cmsg_len]="corpus/cmsg_len" )

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

for t in cmsg_parse cmsg_diff recvmsg_fake cmsg_len; do
  objs="$(compile "fuzz/$t.c")"
  for e in ${EXTRA[$t]}; do
    objs="$objs $(compile "$e")"
  done
  $CXX $CXXFLAGS $objs $LIB_OBJS $LIB_FUZZING_ENGINE -o "$OUT/$t"
  zip_dirs "$OUT/${t}_seed_corpus.zip" ${CORPUS[$t]}
  cp fuzz/cmsg.dict "$OUT/$t.dict"
  cp "fuzz/$t.options" "$OUT/$t.options"
done
