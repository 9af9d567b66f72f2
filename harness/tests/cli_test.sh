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
[ "$n" -eq 7 ] && ok parse_libc_all_prints_one_line_per_model || bad parse_libc_all_prints_one_line_per_model "$n lines"
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
"$bin" explain --libc all "$tmp/k01" 2>&1 | grep -q 'is for parse$' \
    && ok libc_all_for_explain_says_why || bad libc_all_for_explain_says_why "$("$bin" explain --libc all "$tmp/k01" 2>&1)"
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
# explain on data runs that are elided: every length ends, and the rows
# shown plus the bytes said hidden add up to the data (49..130 bytes not a
# multiple of 8 once printed the "not shown" line forever).
for n in 48 49 52 55 56 57 63 64 100 130; do
    python3 -c "import struct,sys; n=$n; sys.stdout.buffer.write(struct.pack('<QII', 16 + n, 1, 1) + bytes(n) + bytes(-n % 8))" >"$tmp/long"
    timeout 10 "$bin" explain "$tmp/long" 2>&1 | head -c 100000 >"$tmp/out"
    rc=${PIPESTATUS[0]}
    hidden=$(sed -n 's/.*\.\.\. \([0-9]*\) bytes not shown.*/\1/p' "$tmp/out")
    if [ "$rc" -ne 0 ] || [ "$(wc -l <"$tmp/out")" -gt 40 ]; then
        bad "explain_elides_${n}_data_bytes_and_ends" "exit $rc, $(wc -l <"$tmp/out") lines"
    elif [ "$n" -gt 48 ] && [ $((n % 8)) -eq 0 ] && [ -z "$hidden" ]; then
        bad "explain_elides_${n}_data_bytes_and_ends" "nothing elided"
    else ok "explain_elides_${n}_data_bytes_and_ends"; fi
done
full=$("$bin" explain --full "$tmp/long" | wc -l)
[ "$full" -gt "$(wc -l <"$tmp/out")" ] && ok explain_full_shows_more || bad explain_full_shows_more "$full lines"
# Help and the argument forms --help lists
for form in "--help" "-h" "help" "parse -h" "explain --help"; do
    # shellcheck disable=SC2086
    "$bin" $form >"$tmp/out" 2>"$tmp/err" && [ ! -s "$tmp/err" ] && head -1 "$tmp/out" | grep -q '^usage: ' \
        && ok "help_form_${form// /_}" || bad "help_form_${form// /_}" "$(cat "$tmp/err")"
done
expect_err help_takes_no_arguments --help junk
expect_err version_takes_no_arguments --version junk
printf '\x14\0\0\0\0\0\0\0\x01\0\0\0\x01\0\0\0ABCD\xee\xee\xee\xee' >"$tmp/-k01"
got=$(binabs=$(readlink -f "$bin"); cd "$tmp" && "$binabs" parse -- -k01)
[ "$got" = "$want" ] && ok double_dash_ends_options || bad double_dash_ends_options "$got"
"$bin" parse --libc legacy-glibc "$tmp/-k01" | grep -q '"libc":"glibc-legacy"' \
    && ok legacy_glibc_alias || bad legacy_glibc_alias "refused"
# --base: legacy glibc's next-header sum wraps at the buffer's address.
printf '\x10\0\0\0\0\0\0\0\x29\0\0\0\x32\0\0\0\0\0\0\0\xf9\xff\xff\xff\x29\0\0\0\x33\0\0\0' >"$tmp/wrap"
lo=$("$bin" parse --libc glibc-legacy --base 30064771055 "$tmp/wrap")
hi=$("$bin" parse --libc glibc-legacy --base=0x6fffffff0 "$tmp/wrap")
case $lo$hi in
*'"warning":false'*'"base":"0x6ffffffef","base_threshold":"0x6fffffff0"}'*'"warning":true'*'"base":"0x6fffffff0","base_threshold":"0x6fffffff0"}')
    ok base_moves_the_legacy_wrap ;;
*) bad base_moves_the_legacy_wrap "$lo / $hi" ;; esac
got=$("$bin" parse --libc glibc-legacy "$tmp/wrap")
case $got in *'"base":"0x7f0000000000"'*) ok base_default_is_documented ;; *) bad base_default_is_documented "$got" ;; esac
"$bin" explain --libc glibc-legacy --base 0 "$tmp/wrap" | grep -q 'at or above 0x6fffffff0' \
    && ok explain_says_where_the_address_decides || bad explain_says_where_the_address_decides "no line"
expect_err base_needs_an_address parse "$tmp/wrap" --base
expect_err base_rejects_octal_and_junk parse --base 0x1g "$tmp/wrap"
expect_err base_rejects_overflow parse --base 18446744073709551616 "$tmp/wrap"
expect_err base_rejects_negative parse --base -1 "$tmp/wrap"
expect_err base_leaves_room_for_the_buffer parse --base 0xffffffffffffffe0 "$tmp/wrap"
# 32-bit legacy glibc: 12-byte headers, the sum wraps at 2^32.  An ok
# empty item, then a header at 12 with L_next = 0xffff0000: visited iff
# base >= 2^32 - 12 - 0xffff0000 = 0xfff4.
printf '\x0c\0\0\0\x29\0\0\0\x32\0\0\0\0\0\xff\xff\x29\0\0\0\x33\0\0\0' >"$tmp/wrap32"
lo=$("$bin" parse --libc glibc-legacy-i386 --base 0xfff3 "$tmp/wrap32")
hi=$("$bin" parse --libc glibc-legacy-i386 --base 65524 "$tmp/wrap32")
case $lo$hi in
*'"warning":false'*'"base":"0xfff3","base_threshold":"0xfff4"}'*'"warning":true'*'"base":"0xfff4","base_threshold":"0xfff4"}')
    ok base_moves_the_32_bit_legacy_wrap ;;
*) bad base_moves_the_32_bit_legacy_wrap "$lo / $hi" ;; esac
got=$("$bin" parse --libc glibc-legacy-i386 "$tmp/wrap32")
case $got in *'"base":"0xf7000000"'*) ok base_default_32_bit_is_documented ;; *) bad base_default_32_bit_is_documented "$got" ;; esac
expect_err base_above_2p32_refused_for_32_bit parse --libc glibc-legacy-i386 --base 0x100000000 "$tmp/wrap32"
expect_err base_above_2p32_refused_for_libc_all parse --libc all --base 0x7f0000000000 "$tmp/wrap32"
"$bin" models | grep -q '^glibc-legacy-i386 .*mod 2^32' && "$bin" models | grep -q '^glibc-i386 .*N + 12 <= C' \
    && ok models_lists_the_32_bit_models || bad models_lists_the_32_bit_models "missing"
# An argument with a newline, or too long to quote, still gives one line
# that ends with the reason.
expect_err newline_in_file_name_is_one_line parse "$(printf 'new\nline')"
expect_err newline_in_model_is_one_line parse --libc "$(printf 'x\ny')" "$tmp/-k01"
long=$(printf '%05000d' 0)
"$bin" parse "$long" 2>"$tmp/err" >/dev/null
grep -q ': File name too long$' "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] \
    && ok long_argument_keeps_the_reason || bad long_argument_keeps_the_reason "$(cut -c1-80 "$tmp/err")"
# A file that reports size 0 but has content (/proc) is read to its end.
if [ -r /proc/self/status ]; then
    got=$("$bin" parse /proc/self/status | sed -n 's/.*"controllen":\([0-9]*\).*/\1/p')
    [ "${got:-0}" -gt 0 ] && ok size_zero_proc_file_is_read || bad size_zero_proc_file_is_read "controllen ${got:-?}"
else
    echo "SKIP size_zero_proc_file_is_read: no /proc/self/status here"
fi
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
