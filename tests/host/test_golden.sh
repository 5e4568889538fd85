#!/usr/bin/env bash
# test_golden.sh - the images whose CRC-32C the unit test test_image pins
# (deterministic GUIDs) are dumped and run through every validator, so the
# golden values stand for images independent readers accept.
source "$(dirname "$0")/lib.sh"
make -s "$BUILD/tests/unit/test_image" >/dev/null || { bad "cannot build test_image"; finish; exit 1; }
mkdir -p "$T/golden"
VHDX_TEST_DUMP_DIR=$T/golden "$BUILD/tests/unit/test_image" >"$T/unit.out" 2>&1 ||
	{ bad "test_image failed: $(tail -5 "$T/unit.out")"; finish; exit 1; }
n=0
for img in "$T"/golden/*.vhdx; do
	n=$((n + 1))
	lss=${img##*-lss}; lss=${lss%.vhdx}
	vsize=$(qemu-img info --output=json "$img" 2>/dev/null | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
	if [ -z "$vsize" ]; then
		# qemu-img opens neither 4096-byte sectors nor differencing images: take vhdiinfo's size
		vsize=$(vhdiinfo "$img" | sed -n 's/.*Media size.*(\([0-9]*\) bytes).*/\1/p')
	fi
	if vhdiinfo "$img" | grep -q "Disk type.*Differ"; then
		# no parent exists for the golden child: vhdiinfo and our check only
		vhdiinfo "$img" | grep -q "Parent identifier.*: 20212223-2425-2627-2829-2a2b2c2d2e2f" && ok "$(basename "$img") (differencing: vhdiinfo)" || bad "$(basename "$img")"
		continue
	fi
	validate "$img" "$vsize" "$lss" && ok "$(basename "$img")" || bad "$(basename "$img")"
done
[ $n -ge 5 ] && ok "$n golden images dumped" || bad "only $n golden images dumped"
finish
