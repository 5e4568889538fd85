#!/usr/bin/env bash
# test_golden.sh - the images whose CRC-32C the unit test test_image pins
# (deterministic GUIDs) are dumped and run through every validator, so the
# golden values stand for images independent readers accept.  What each
# image must be (type, virtual size, logical sector size) comes from the
# case table below, a copy of test_image.c's cases[], never from a reader.
# The differencing image is checked with a parent beside it: a dynamic
# image of its size whose DataWriteGuid is the child's parent_linkage.
source "$(dirname "$0")/lib.sh"
MiB=$((1024 * 1024))
# index (golden-INDEX-lssLSS.vhdx)  type (vhdiinfo's word)  virtual size  lss
CASES=(
"0 Dynamic      $((1024 * MiB))      512"
"1 Dynamic      $((4097 * MiB))      512"
"2 Fixed        $((8 * MiB))         4096"
"3 Fixed        $((10 * MiB - 512))  512"
"4 Differential $((64 * MiB))        512"
)
# the differencing case's locator (test_image.c, locator[])
LINKAGE=20212223-2425-2627-2829-2a2b2c2d2e2f
PARENT_NAME=parent.vhdx

make -s "$BUILD/tests/unit/test_image" >/dev/null || { bad "cannot build test_image"; finish; exit 1; }
mkdir -p "$T/golden"
VHDX_TEST_DUMP_DIR=$T/golden "$BUILD/tests/unit/test_image" >"$T/unit.out" 2>&1 ||
	{ bad "test_image failed: $(tail -5 "$T/unit.out")"; finish; exit 1; }

# set_data_write_guid FILE GUID: both headers' DataWriteGuid, each header's
# CRC-32C computed again
set_data_write_guid() {
	python3 - "$1" "$2" <<'PY'
import sys, uuid
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
path, guid = sys.argv[1], uuid.UUID(sys.argv[2]).bytes_le
with open(path, "r+b") as f:
    for off in (64 << 10, 128 << 10):
        f.seek(off)
        h = bytearray(f.read(4096))
        if h[:4] != b"head":
            sys.exit("no header at %d" % off)
        h[32:48] = guid
        h[4:8] = bytes(4)
        h[4:8] = crc32c(h).to_bytes(4, "little")
        f.seek(off)
        f.write(h)
PY
}

# differencing NAME IMG SIZE: the child beside a parent of its own, read by
# our check and info, vhdiinfo and 7zz
differencing() {
	local name=$1 img=$2 size=$3 dir=$T/pair out
	mkdir -p "$dir"
	cp "$img" "$dir/child.vhdx"
	if ! "$VHDX" create -q -s "$size" "$dir/$PARENT_NAME"; then
		bad "$name: cannot create its parent"
		return
	fi
	# before the parent takes the child's parent_linkage: refused
	out=$("$VHDX" check "$dir/child.vhdx" 2>&1)
	if [ $? -eq 1 ] && grep -q '(parent\.mismatch)$' <<<"$out"; then
		ok "$name: a parent of another DataWriteGuid is refused (parent.mismatch)"
	else
		bad "$name: check with a parent of another DataWriteGuid: $out"
	fi
	if ! out=$(set_data_write_guid "$dir/$PARENT_NAME" "$LINKAGE" 2>&1) ||
	   ! "$VHDX" check "$dir/$PARENT_NAME" >/dev/null 2>&1 ||
	   ! "$VHDX" info "$dir/$PARENT_NAME" | grep -q "data write guid: $LINKAGE\$"; then
		bad "$name: cannot give the parent DataWriteGuid $LINKAGE: $out"
		return
	fi
	out=$("$VHDX" check "$dir/child.vhdx" 2>&1)
	if [ $? -eq 0 ] && grep -q ': 0 errors, 0 warnings$' <<<"$out"; then
		ok "$name: vhdx check with its parent beside it: 0 errors, 0 warnings"
	else
		bad "$name: vhdx check with its parent beside it: $out"
	fi
	out=$("$VHDX" info "$dir/child.vhdx" 2>&1)
	if [ $? -eq 0 ] && grep -q "^  1: .*$PARENT_NAME (relative_path): VHDX (dynamic, $((size / MiB)) MiB), DataWriteGuid matches" <<<"$out"; then
		ok "$name: vhdx info finds the parent by relative_path"
	else
		bad "$name: vhdx info chain: $(grep -A3 'parent chain' <<<"$out")"
	fi
	out=$(vhdiinfo "$dir/child.vhdx" 2>&1)
	if [ $? -eq 0 ] && grep -q "Disk type.*Differential" <<<"$out" &&
	   grep -q "Media size.*($size bytes)" <<<"$out" &&
	   grep -qi "Parent identifier.*: $LINKAGE\$" <<<"$out"; then
		ok "$name: vhdiinfo: differential, $size bytes, parent identifier $LINKAGE"
	else
		bad "$name: vhdiinfo: $(grep -i -e 'disk type' -e 'media size' -e parent -e error <<<"$out")"
	fi
	out=$(7zz t -tvhdx "$dir/child.vhdx" 2>&1)
	if [ $? -eq 0 ] && ! grep -qiE 'WARNING|ERROR' <<<"$out"; then
		ok "$name: 7zz t (parent found)"
	else
		bad "$name: 7zz t: $(grep -iE 'WARNING|ERROR' <<<"$out" | head -n 3)"
	fi
	7zz e -tvhdx -so "$dir/child.vhdx" 2>/dev/null | cmp -s - <(head -c "$size" /dev/zero)
	local st=("${PIPESTATUS[@]}")
	if [ "${st[0]}" -eq 0 ] && [ "${st[1]}" -eq 0 ]; then
		ok "$name: 7zz e reads $size zero bytes through the child"
	else
		bad "$name: 7zz e through the child is not $size zero bytes (7zz exit ${st[0]}, cmp exit ${st[1]})"
	fi
}

n=0
for c in "${CASES[@]}"; do
	read -r i type vsize lss <<<"$c"
	img=$T/golden/golden-$i-lss$lss.vhdx
	name="golden case $i ($type, $vsize bytes, $lss-byte sectors)"
	if [ ! -f "$img" ]; then
		bad "$name: test_image did not dump ${img##*/}"
		continue
	fi
	n=$((n + 1))
	if out=$(vhdiinfo "$img" 2>&1) && grep -q "Disk type.*: $type\$" <<<"$out"; then
		ok "$name: vhdiinfo says $type"
	else
		bad "$name: vhdiinfo's disk type: $(grep -i -e 'disk type' -e error <<<"$out")"
	fi
	if [ "$type" = Differential ]; then
		differencing "$name" "$img" "$vsize"
		continue
	fi
	validate "$img" "$vsize" "$lss" "${img##*/}" && ok "$name" || bad "$name"
done
dumped=$(find "$T/golden" -name '*.vhdx' | wc -l)
[ "$n" -eq ${#CASES[@]} ] && [ "$dumped" -eq ${#CASES[@]} ] &&
	ok "$n golden images dumped, one per case" ||
	bad "$dumped golden images dumped, $n of them in the ${#CASES[@]} cases of the table"
finish
