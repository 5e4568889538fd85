# tests/host/lib.sh - shared by the host integration tests (sourced).
# Counters, and the independent validators: each validator function prints
# why it failed and returns non-zero; a missing validator is a failure.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) VHDX=$BUILD/host/vhdx ;; *) VHDX=$PWD/$BUILD/host/vhdx ;; esac
pass=0
fail=0
ok() { pass=$((pass + 1)); [ -z "${VERBOSE:-}" ] || echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
T=$(mktemp -d /var/tmp/vhdx-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

need() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			bad "validator $tool is not installed (apt-get install qemu-utils 7zip libvhdi-utils)"
			finish
			exit 1
		fi
	done
}
need qemu-img 7zz vhdiinfo

# need_samples: the shared real-world images beside the repository, or fail
SAMPLES=../shared/samples
need_samples() {
	if [ ! -d "$SAMPLES" ]; then
		bad "$SAMPLES is absent: this test needs the shared sample images beside the repository"
		finish
		exit 1
	fi
}
[ -x "$VHDX" ] || make -s host >/dev/null || { bad "cannot build $VHDX"; finish; exit 1; }

# odd_sectors SIZE LSS: 7-Zip 26.02 refuses a virtual size that is an odd
# number of logical sectors (it tests one bit instead of the low bits).
odd_sectors() { [ $(( ($1 / $2) % 2 )) -eq 1 ]; }

# validate IMG VIRTUAL_SIZE LSS [TYPE]: every independent reader, plus our
# own check once it exists.  The virtual disk must read as zeros.
validate() {
	local img=$1 size=$2 lss=$3 name=${4:-$(basename "$1")} rc=0 out
	if [ "$lss" = 512 ]; then
		if out=$(qemu-img check -f vhdx "$img" 2>&1); then :; else
			echo "  qemu-img check: $out"; rc=1
		fi
		truncate -s "$size" "$T/zeros.raw"
		if out=$(qemu-img compare -f vhdx -F raw "$img" "$T/zeros.raw" 2>&1); then :; else
			echo "  qemu-img compare with zeros: $out"; rc=1
		fi
		rm -f "$T/zeros.raw"
	fi
	if odd_sectors "$size" "$lss"; then
		echo "  note: 7zz not run on $name: its virtual size is an odd number of sectors, which 7-Zip 26.02 refuses (its bug)"
	else
		out=$(7zz t -tvhdx "$img" 2>&1)
		if [ $? -ne 0 ] || grep -qE 'WARNING|ERROR' <<<"$out"; then
			echo "  7zz t: $(grep -E 'WARNING|ERROR|Error' <<<"$out" | head -3)"; rc=1
		fi
		if [ "$lss" = 4096 ]; then
			local got
			got=$(7zz e -tvhdx -so "$img" 2>/dev/null | cmp - /dev/zero 2>&1)
			# cmp reports EOF on "-" after exactly $size bytes when all were zero
			if ! grep -q "EOF on - after byte $size" <<<"$got" && ! grep -q "EOF on -$" <<<"$got"; then
				echo "  7zz e: virtual disk is not $size zero bytes: $got"; rc=1
			fi
		fi
	fi
	if out=$(vhdiinfo "$img" 2>&1); then
		if ! grep -q "Media size.*($size bytes)" <<<"$out"; then
			echo "  vhdiinfo: media size is not $size: $(grep 'Media size' <<<"$out")"; rc=1
		fi
	else
		echo "  vhdiinfo: $(tail -2 <<<"$out")"; rc=1
	fi
	if "$VHDX" check "$img" >"$T/check.out" 2>&1; then :; else
		if grep -q "not implemented" "$T/check.out"; then
			echo "  note: vhdx check not available yet"
		else
			echo "  vhdx check: $(head -5 "$T/check.out")"; rc=1
		fi
	fi
	return $rc
}
