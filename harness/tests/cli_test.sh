#!/usr/bin/env bash
# cli_test.sh - the cmsgref command's contract: outputs, and bad input as
# one line on stderr with exit status 2.  Usage: cli_test.sh PATH/TO/cmsgref
# Ends with "N passed, N failed"; exit 1 if any failed.
set -u
bin=${1:?usage: cli_test.sh PATH/TO/cmsgref}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

# expect_err NAME ARGS...: exit 2, exactly one stderr line, nothing on stdout
expect_err() {
    local name=$1; shift
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    local rc=$? lines
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" -ne 2 ]; then bad "$name" "exit $rc, want 2"
    elif [ "$lines" -ne 1 ]; then bad "$name" "$lines stderr lines, want 1"
    elif [ -s "$tmp/out" ]; then bad "$name" "wrote to stdout"
    else ok "$name"; fi
}

# k01: H(20,1,1; ABCD) with 0xEE filler, C = 24
printf '\x14\0\0\0\0\0\0\0\x01\0\0\0\x01\0\0\0ABCD\xee\xee\xee\xee' >"$tmp/k01"
want='{"libc":"glibc","controllen":24,"items":[{"offset":0,"level":1,"type":1,"cmsg_len":20,"data":"41424344","status":"ok"}],"stop":"end","warning":false,"close_on_error":[1145258561]}'

got=$("$bin" parse "$tmp/k01")
[ "$got" = "$want" ] && ok parse_prints_documented_json || bad parse_prints_documented_json "$got"
got=$("$bin" parse - <"$tmp/k01")
[ "$got" = "$want" ] && ok parse_reads_stdin || bad parse_reads_stdin "$got"
got=$("$bin" parse --libc=glibc "$tmp/k01")
[ "$got" = "$want" ] && ok parse_accepts_libc_equals_form || bad parse_accepts_libc_equals_form "$got"
n=$("$bin" parse --libc all "$tmp/k01" | wc -l)
[ "$n" -eq 5 ] && ok parse_libc_all_prints_one_line_per_model || bad parse_libc_all_prints_one_line_per_model "$n lines"
: >"$tmp/empty"
got=$("$bin" parse "$tmp/empty")
case $got in *'"items":[],"stop":"end","warning":false,"close_on_error":[]}') ok parse_empty_file_is_no_items ;; *) bad parse_empty_file_is_no_items "$got" ;; esac
"$bin" explain "$tmp/k01" >"$tmp/out" && grep -q 'no warning' "$tmp/out" && grep -q "ancdata: \[(1, 1, b'ABCD')\]" "$tmp/out" \
    && ok explain_shows_items_and_warning_state || bad explain_shows_items_and_warning_state "$(cat "$tmp/out")"
printf '\x28\0\0\0\0\0\0\0\x01\0\0\0\x01\0\0\0ABCD' >"$tmp/trunc"
"$bin" explain "$tmp/trunc" | grep -q '^RuntimeWarning: received malformed or improperly-truncated ancillary data$' \
    && ok explain_names_the_warning || bad explain_names_the_warning "no warning line"
"$bin" --help | grep -q 'cmsgref parse' && ok help_describes_commands || bad help_describes_commands "no usage"
"$bin" --version | grep -q '^cmsgref [0-9]' && ok version_prints || bad version_prints "no version"
"$bin" models | grep -q '^musl ' && ok models_lists_musl || bad models_lists_musl "missing"

expect_err no_arguments
expect_err unknown_command frobnicate
expect_err unknown_option parse --frob "$tmp/k01"
expect_err unknown_model parse --libc uclibc "$tmp/k01"
expect_err libc_all_not_for_explain explain --libc all "$tmp/k01"
expect_err missing_model_value parse --libc
expect_err missing_file_argument parse
expect_err nonexistent_file parse "$tmp/nope"
expect_err directory_input parse "$tmp"
expect_err two_files parse "$tmp/k01" "$tmp/k01"
# Larger than CPython's 2147483647-byte limit: refused from its size alone
# (a sparse file: reading it would take seconds and 2 GiB).
truncate -s 2147483648 "$tmp/huge"
start=$(date +%s)
expect_err oversized_file_refused_without_reading parse "$tmp/huge"
[ $(( $(date +%s) - start )) -le 2 ] && ok oversized_file_refused_quickly || bad oversized_file_refused_quickly "took too long: it read the file"
rm -f "$tmp/huge"
# Unreadable: root reads anything, so drop to nobody where we can.
chmod 000 "$tmp/k01"
if [ "$(id -u)" -ne 0 ]; then
    expect_err unreadable_file parse "$tmp/k01"
elif command -v setpriv >/dev/null 2>&1; then
    chmod 711 "$tmp"
    bin_abs=$(readlink -f "$bin")
    setpriv --reuid=65534 --regid=65534 --clear-groups "$bin_abs" parse "$tmp/k01" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && ok unreadable_file || bad unreadable_file "exit $rc: $(cat "$tmp/err")"
else
    echo "SKIP unreadable_file: running as root without setpriv, cannot make a file unreadable"
fi
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
