# tests/host/lib.sh - shared by the host integration tests (sourced).
# Counters, and the independent validators: each validator function prints
# why it failed and returns non-zero; a missing validator is a failure.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) VHDX=$BUILD/host/vhdx ;; *) VHDX=$PWD/$BUILD/host/vhdx ;; esac
pass=0
fail=0
skip=0
ok() { pass=$((pass + 1)); [ -z "${VERBOSE:-}" ] || echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# skipped WHAT: a test that could not run here, said and counted (never a pass)
skipped() { skip=$((skip + 1)); echo "skipped: $*"; }
# the closing line run.sh (and CI) reads: "N passed, M failed, K skipped"
finish() { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; }
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

# validate IMG VIRTUAL_SIZE LSS [NAME]: every independent reader, and our
# own check.  The virtual disk must be exactly VIRTUAL_SIZE zero bytes.
#   qemu-img (512-byte logical sectors only: it opens no other): check, and
#     compare -s with a VHDX of VIRTUAL_SIZE zeros that qemu-img makes.  -s
#     fails on a different virtual size; the reference is a VHDX, not a raw
#     file, because strict mode also compares block status, which qemu's
#     VHDX driver reports alike for every image and a raw file does not.
#   7zz t, and for 4096-byte sectors (which qemu-img cannot read) 7zz e
#     compared with exactly VIRTUAL_SIZE zero bytes;
#   vhdiinfo, its media size VIRTUAL_SIZE;
#   vhdx check, exit status 0.
validate() {
	local img=$1 size=$2 lss=$3 name=${4:-$(basename "$1")} rc=0 out st
	if [ "$lss" = 512 ]; then
		if out=$(qemu-img check -f vhdx "$img" 2>&1); then :; else
			echo "  qemu-img check: $out"; rc=1
		fi
		rm -f "$T/zeros.vhdx"
		if ! out=$(qemu-img create -q -f vhdx "$T/zeros.vhdx" "$size" 2>&1); then
			echo "  qemu-img create of $size zero bytes: $out"; rc=1
		elif out=$(qemu-img compare -s -f vhdx -F vhdx "$img" "$T/zeros.vhdx" 2>&1); then :; else
			echo "  qemu-img compare -s with $size zero bytes: $out"; rc=1
		fi
		rm -f "$T/zeros.vhdx"
	else
		echo "  note: qemu-img not run on $name: it does not open $lss-byte logical sectors"
	fi
	if odd_sectors "$size" "$lss"; then
		echo "  note: 7zz not run on $name: its virtual size is an odd number of sectors, which 7-Zip 26.02 refuses (its bug)"
	else
		out=$(7zz t -tvhdx "$img" 2>&1)
		if [ $? -ne 0 ] || grep -qE 'WARNING|ERROR' <<<"$out"; then
			echo "  7zz t: $(grep -E 'WARNING|ERROR|Error' <<<"$out" | head -3)"; rc=1
		fi
		if [ "$lss" != 512 ]; then
			# exactly $size zero bytes, and 7zz's own status (not lost in the pipe)
			7zz e -tvhdx -so "$img" 2>/dev/null | cmp -s - <(head -c "$size" /dev/zero)
			st=("${PIPESTATUS[@]}")
			if [ "${st[0]}" -ne 0 ] || [ "${st[1]}" -ne 0 ]; then
				echo "  7zz e: virtual disk is not $size zero bytes (7zz exit ${st[0]}, cmp exit ${st[1]})"; rc=1
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
	if ! "$VHDX" check "$img" >"$T/check.out" 2>&1; then
		echo "  vhdx check: $(head -5 "$T/check.out")"; rc=1
	fi
	return $rc
}

# unpack_samples DIR: every shared sample ($SAMPLES) decompressed into
# DIR, side by side (two cores), written sparse; DIR/NAME.sha256 holds the
# sha256 of each, taken from the decompressed stream as it passes.
# Exit status: non-zero when any decompression failed.
unpack_samples() {
	local dir=$1 f b z pid rc=0 pids=()
	mkdir -p "$dir"
	for f in "$SAMPLES"/*.gz "$SAMPLES"/*.bz2; do
		b=$(basename "$f"); b=${b%.*}
		case $f in *.gz) z=gzip ;; *) z=bzip2 ;; esac
		(set -o pipefail; $z -dc "$f" | python3 -S -c 'import hashlib, sys
h, out, z = hashlib.sha256(), open(sys.argv[1], "wb"), bytes(1 << 20)
while True:
    b = sys.stdin.buffer.read(1 << 20)
    if not b:
        break
    h.update(b)
    if b == z[:len(b)]:
        out.seek(len(b), 1)
    else:
        out.write(b)
out.truncate()
print(h.hexdigest())' "$dir/$b" >"$dir/$b.sha256") &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || rc=1
	done
	return $rc
}

# data_write_guid IMG: the current header's DataWriteGuid, lower case
data_write_guid() {
	"$VHDX" info --json "$1" | python3 -c 'import json,sys
i = json.load(sys.stdin)
print(i["headers"][i["current_header"] - 1]["data_write_guid"].lower())'
}

# relink CHILD OLD NEW: CHILD's parent locator names OLD (a file beside it);
# make it name NEW instead (a name of the same length) with NEW's
# DataWriteGuid as parent_linkage.  Metadata items carry no checksum: the
# bytes are patched in place.
relink() {
	python3 - "$1" "$(data_write_guid "$2")" "$(data_write_guid "$3")" \
		".\\$(basename "$2")" ".\\$(basename "$3")" <<'PY'
import sys
img = sys.argv[1]
data = bytearray(open(img, 'rb').read())
for a, b in ((sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5])):
    a, b = a.encode('utf-16-le'), b.encode('utf-16-le')
    i = data.find(a)
    assert i > 0 and len(a) == len(b), (a, i)
    data[i:i + len(a)] = b
open(img, 'wb').write(data)
PY
}
