#!/usr/bin/env bash
# test_cli.sh - bad invocations: each exits 2 with exactly one line on
# stderr that names the rule (a fragment checked below), and leaves every
# file byte-for-byte as it was (nothing created).  Also --dry-run, help,
# and the plan output.
source "$(dirname "$0")/lib.sh"
ROOT=$PWD
cd "$T" || exit 2
M=$((1024 * 1024))
mkdir adir
head -c 65536 /dev/urandom >junk.bin
"$VHDX" create -q -s 10M parent.vhdx
truncate -s 4M small.img
: >empty.bin
head -c 1048576 parent.vhdx >truncated.vhdx
snapshot() { find . -type f -print0 | sort -z | xargs -0 sha256sum; }

# expected stderr fragment | arguments (word-split; no spaces inside one)
cases=(
"missing command|"
"only in the UEFI app|create --bench-raw write -s 1M new.vhdx"
"only in the UEFI app|convert --bench-raw copy parent.vhdx new.img"
"unknown command|frobnicate"
"help: unknown command frobnicate|help frobnicate"
"extra argument info (help takes one VERB)|help create info"
"extra argument x (--version takes none)|--version x"
"unknown option --version|create --version -s 1G new.vhdx"
"--size is required|create new.vhdx"
"missing TARGET|create -s 1G"
"not a size|create -s 12X new.vhdx"
"not a size|create -s -5 new.vhdx"
"not a size|create -s 1.5G new.vhdx"
"not a size|create -s G new.vhdx"
"not a size|create -s 1GG new.vhdx"
"number too large|create -s 99999999999999999999 new.vhdx"
"number too large|create -s 17179869184T new.vhdx"
"larger than 64 TiB|create -s 65T new.vhdx"
"larger than 64 TiB|create -s 70368744177665 new.vhdx"
"at least one logical sector|create -s 0 new.vhdx"
"not a multiple of the logical sector size 512 (remainder 1)|create -s 1048577 new.vhdx"
"not a multiple of the logical sector size 4096 (remainder 512)|create -s 1049088 --logical-sector-size 4096 new.vhdx"
"power of two|create -s 1G -b 3M new.vhdx"
"1 MiB to 256 MiB|create -s 1G -b 512K new.vhdx"
"1 MiB to 256 MiB|create -s 1G -b 512M new.vhdx"
"out of range|create -s 1G -b 8G new.vhdx"
"out of range|create -s 1G -b 0 new.vhdx"
"must be 512 or 4096|create -s 1G --logical-sector-size 1024 new.vhdx"
"must be 512 or 4096|create -s 1G --physical-sector-size 520 new.vhdx"
"multiple of 1 MiB|create -s 1G --log-size 1536K new.vhdx"
"out of range|create -s 1G --log-size 4G new.vhdx"
"must be dynamic, fixed or differencing|create -t sparse -s 1G new.vhdx"
"unknown option|create --sise 1G new.vhdx"
"unknown option|create -z -s 1G new.vhdx"
"needs a value|create new.vhdx -s"
"takes no value|create --force=yes -s 1G new.vhdx"
"extra argument|create -s 1G new.vhdx other.vhdx"
"does not apply|info --size 1G parent.vhdx"
"does not apply|create --json -s 1G new.vhdx"
"list takes no TARGET|list new.vhdx"
"missing TARGET|info"
"missing TARGET|check"
"--zero-blocks applies to dynamic|create -t fixed --zero-blocks -s 1G new.vhdx"
"--no-zero applies to fixed|create --no-zero -s 1G new.vhdx"
"--parent needs --type differencing|create --parent parent.vhdx -s 1G new.vhdx"
"--parent-win32-path needs --type differencing|create --parent-win32-path C:\\x.vhdx -s 1G new.vhdx"
"needs --parent|create -t differencing new.vhdx"
"--size contradicts|create -t differencing --parent parent.vhdx -s 1G new.vhdx"
"sector sizes contradict|create -t differencing --parent parent.vhdx --logical-sector-size 4096 new.vhdx"
"is a directory|create -s 1G adir"
"refusing to overwrite|create -s 1G junk.bin"
"holds a VHDX image|create -s 1G parent.vhdx"
"No such file or directory|create -s 1G no/such/dir/new.vhdx"
"--size is required unless TARGET is a block device|create -t fixed small.img"
"short options cannot be combined|create -fy -s 1G new.vhdx"
"creator is longer than 255|create -s 1G --creator $(printf 'x%.0s' {1..256}) new.vhdx"
# sizes: suffixes we do not take, other notations, overflow in every option
"not a size|create -s 1KB new.vhdx"
"not a size|create -s 1P new.vhdx"
"not a size|create -s 1e9 new.vhdx"
"not a size|create -s 0x100000 new.vhdx"
"not a size|create -s +1G new.vhdx"
"larger than 64 TiB|create -s 18446744073709551615 new.vhdx"
"out of range|create -s 1G -b 99999999999999999999 new.vhdx"
"out of range|create -s 1G --log-size 18446744073709551616 new.vhdx"
"not a power of two|create -s 1G -b 1536K new.vhdx"
"must be 512 or 4096, not 0|create -s 1G --logical-sector-size 0 new.vhdx"
"must be 512 or 4096, not 8192|create -s 1G --physical-sector-size 8192 new.vhdx"
"out of range: 0|create -s 1G --log-size 0 new.vhdx"
"out of range: 4096M|create -s 1G --log-size 4096M new.vhdx"
"needs a value|create -s 1G -t"
# contradictions
"--no-zero applies to fixed|create --zero-blocks --no-zero -s 1G new.vhdx"
"--zero-blocks applies to dynamic|create -t differencing --parent parent.vhdx --zero-blocks new.vhdx"
"sector sizes contradict|create -t differencing --parent parent.vhdx --physical-sector-size 512 new.vhdx"
"cannot be its own parent|create -t differencing --parent parent.vhdx parent.vhdx"
# parents that are not a usable VHDX
"--parent junk.bin: not a VHDX image|create -t differencing --parent junk.bin new.vhdx"
"--parent empty.bin: not a VHDX image|create -t differencing --parent empty.bin new.vhdx"
"does not check clean|create -t differencing --parent truncated.vhdx new.vhdx"
"No such file or directory|create -t differencing --parent nothere.vhdx new.vhdx"
"Is a directory|create -t differencing --parent adir new.vhdx"
# targets: nonexistent, not storage
"No such file or directory|info nothere.vhdx"
"No such file or directory|check nothere.vhdx"
"Is a directory|info adir"
"cannot create it|create -s 1G nothere/"
"not a regular file or a block device|create -s 1G /dev/null"
"proc pseudo filesystem|create -s 1G /proc/version"
)
# a block device too small for the image (a loop device over a file here)
dev=
if command -v losetup >/dev/null && truncate -s 3M tiny.img && dev=$(losetup -f --show tiny.img 2>/dev/null); then
	trap 'losetup -d "$dev"; rm -rf "$T"' EXIT
	cases+=("too small: the image needs 4 MiB (4194304 bytes), the device has 3 MiB|create -s 1G $dev")
else
	bad "no loop device: the 'target too small' case cannot run here"
fi
before=$(snapshot)
for c in "${cases[@]}"; do
	want=${c%%|*}
	args=${c#*|}
	# shellcheck disable=SC2086
	"$VHDX" $args >out.txt 2>err.txt
	rc=$?
	lines=$(wc -l <err.txt)
	if [ $rc -ne 2 ]; then
		bad "vhdx $args: exit $rc, expected 2"
	elif [ "$lines" -ne 1 ]; then
		bad "vhdx $args: $lines lines on stderr: $(cat err.txt)"
	elif ! grep -qF -- "$want" err.txt; then
		bad "vhdx $args: stderr '$(cat err.txt)' lacks '$want'"
	elif [ -s out.txt ]; then
		bad "vhdx $args: printed to stdout: $(head -2 out.txt)"
	elif [ "$(snapshot | grep -v ' ./out.txt$\| ./err.txt$')" != "$(grep -v ' ./out.txt$\| ./err.txt$' <<<"$before")" ]; then
		bad "vhdx $args: changed or created files"
	else
		ok "$want"
	fi
	rm -f out.txt err.txt
done
"$VHDX" create -s 1G "" >out.txt 2>err.txt
[ $? -eq 2 ] && grep -q "empty TARGET" err.txt && [ ! -s out.txt ] && ok "empty TARGET" || bad "empty TARGET: $(cat err.txt)"
echo "bad invocations tried: $(( ${#cases[@]} + 1 ))"

# --dry-run prints the plan and creates nothing
if "$VHDX" create -n -t fixed -s 10G dry.vhdx >out.txt && [ ! -e dry.vhdx ] &&
	grep -q "vhdx create -t fixed -s 10G -b 32M --logical-sector-size 512 --physical-sector-size 4096 --log-size 1M dry.vhdx" out.txt &&
	grep -q "BAT            1 MiB at 3 MiB (322 entries, FULLY_PRESENT)" out.txt; then
	ok "--dry-run: plan printed, nothing written"
else
	bad "--dry-run: $(cat out.txt)"
fi
# the equivalent command line recreates the same plan
cmdline=$(sed -n 's/^  command        //p' out.txt)
# shellcheck disable=SC2086
"$VHDX" ${cmdline#vhdx } -n >out2.txt 2>&1 && diff -q out.txt out2.txt >/dev/null &&
	ok "equivalent command line gives the same plan" || bad "equivalent command line differs"
# help
# help_says WHAT TEXT ARGS...: exit 0 and TEXT on stdout (the status is not
# lost in a pipe: a crash after the text fails)
help_says() {
	local what=$1 text=$2 out rc
	shift 2
	out=$("$VHDX" "$@")
	rc=$?
	[ $rc -eq 0 ] && grep -q -- "$text" <<<"$out" && ok "$what" || bad "$what: exit $rc: $(head -n 3 <<<"$out")"
}
help_says help "usage: vhdx create" help
help_says --help "--logical-sector-size" --help
help_says "create --help" "usage:" create --help
# ends_with_newline WHAT ARGS...: the last byte printed is a newline (the
# shell prompt starts on its own line)
ends_with_newline() {
	local what=$1 last
	shift
	last=$("$VHDX" "$@" | tail -c 1 | od -An -tx1 | tr -d ' ')
	[ "$last" = 0a ] && ok "$what ends with a newline" || bad "$what: last byte 0x$last, not a newline"
}
ends_with_newline help help
ends_with_newline --version --version
# help VERB and VERB --help: that verb's page alone, the same both ways
for v in create info check convert compare repair list; do
	"$VHDX" help "$v" >h1.txt 2>&1; r1=$?
	"$VHDX" "$v" --help >h2.txt 2>&1; r2=$?
	others=$(grep -c "^ *\(usage: \)\?vhdx " h1.txt)
	if [ $r1 -ne 0 ] || [ $r2 -ne 0 ]; then
		bad "help $v / $v --help: exit $r1 / $r2"
	elif ! cmp -s h1.txt h2.txt; then
		bad "help $v and $v --help differ"
	elif ! head -n 1 h1.txt | grep -q "^usage: vhdx $v\b" || [ "$others" -ne 1 ]; then
		bad "help $v: not $v's page alone: $(grep "vhdx " h1.txt | head -3)"
	elif [ "$(wc -l <h1.txt)" -ge "$("$VHDX" help | wc -l)" ]; then
		bad "help $v: as long as the whole page"
	else
		ok "help $v: $v's page alone"
	fi
	ends_with_newline "help $v" help "$v"
done
rm -f h1.txt h2.txt
# --version: "vhdx VERSION", VERSION the one core/vhdx_base.h defines
want=$(sed -n 's/^#define VHDX_VERSION "\(.*\)"$/\1/p' "$ROOT/core/vhdx_base.h")
got=$("$VHDX" --version)
[ $? -eq 0 ] && [ -n "$want" ] && [ "$got" = "vhdx $want" ] && ok "--version: $got" ||
	bad "--version: '$got', expected 'vhdx $want' (core/vhdx_base.h)"
# sizes with every suffix spelling
for s in 1073741824 1048576K 1024M 1G 1GiB 1g 1024MiB; do
	"$VHDX" create -q -n -s "$s" x.vhdx >/dev/null 2>&1 && ok "size $s" || bad "size $s refused"
done
# --opt=value and -svalue spellings
"$VHDX" create -q --size=1G --block-size=1M -b2M x.vhdx && [ -s x.vhdx ] && ok "--opt=value, -bVALUE" || bad "option spellings"
finish
