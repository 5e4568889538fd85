#!/usr/bin/env bash
# test_differencing.sh - children of dynamic and fixed parents, 512 and
# 4096 logical sectors, chains of three, a child in another folder: each
# read through 7zz (the parent beside it; its virtual disk must equal the
# parent's non-zero content byte for byte), vhdiinfo (parent identifier =
# the parent's DataWriteGuid) and our own check.  Refusals: a parent that
# is not a VHDX, one whose log needs replay, one that does not check clean.
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))

data_write_guid() { # the current header's DataWriteGuid, lower case
	"$VHDX" info --json "$1" | python3 -c 'import json,sys
i = json.load(sys.stdin)
print(i["headers"][i["current_header"] - 1]["data_write_guid"].lower())'
}
# fill_fixed IMG SIZE LSS: a fixed image's payload is contiguous from its
# data offset: write a pattern there directly (works for 4096-byte sectors,
# which qemu-io cannot open)
fill_fixed() {
	python3 - "$1" "$2" <<'PY'
import sys
img, size = sys.argv[1], int(sys.argv[2])
with open(img, 'r+b') as f:
    f.seek(4 << 20)  # data offset of a small fixed image: 1 MiB BAT at 3 MiB
    for i in range(size >> 20):
        f.write(bytes([(i * 7 + 1) % 251]) * (1 << 20))
PY
}
# fill_dynamic IMG: a dynamic image with 1 MiB blocks and 4096-byte
# sectors, which qemu-io cannot open: blocks 0 and 20 allocated at the
# file's end (MiB-aligned), FULLY_PRESENT [2.5.1.1], each a pattern; both
# below the chunk ratio, so their BAT index is the block number
fill_dynamic() {
	python3 - "$1" "$("$VHDX" info --json "$1")" <<'PY'
import json, struct, sys
img, info = sys.argv[1], json.loads(sys.argv[2])
bat = next(r['offset'] for r in info['regions'] if r['name'] == 'BAT')
assert info['block_size'] == 1 << 20
with open(img, 'r+b') as f:
    end = (f.seek(0, 2) + (1 << 20) - 1) & ~((1 << 20) - 1)
    for n, block in enumerate((0, 20)):
        offset = end + (n << 20)
        f.seek(offset)
        f.write(bytes([0x3c + n]) * (1 << 20))
        f.seek(bat + 8 * block)
        f.write(struct.pack('<Q', offset | 6))
PY
}
content() { 7zz e -tvhdx -so "$1" 2>/dev/null | sha256sum | cut -d' ' -f1; }

check_child() { # CHILD PARENT SIZE LSS what
	local child=$1 parent=$2 size=$3 lss=$4 what=$5 out want
	want=$(data_write_guid "$parent")
	[ -n "$want" ] || { bad "$what: no DataWriteGuid read from $parent"; return; }
	"$VHDX" check "$child" >"$T/chk" 2>&1 && ! grep -q "parent.absent\|parent.mismatch" "$T/chk" &&
		ok "$what: vhdx check (parent found and matching)" || bad "$what: vhdx check: $(head -3 "$T/chk")"
	if [ "${6:-}" = no7zz ]; then
		echo "  note: 7zz not run on $what: 7-Zip 26.02 does not follow a relative_path that starts with ..\\ (seen here)"
	else
		check_child_7zz "$child" "$parent" "$size" "$what"
	fi
	vhdiinfo "$child" | grep -qi "Parent identifier.*: $want" && ok "$what: vhdiinfo parent identifier" ||
		bad "$what: vhdiinfo parent identifier is not $want: $(vhdiinfo "$child" | grep -i 'parent identifier')"
	"$VHDX" info "$child" | grep -q "parent_linkage = {$want}" && ok "$what: parent_linkage" || bad "$what: parent_linkage"
}

check_child_7zz() { # CHILD PARENT SIZE what
	local child=$1 parent=$2 size=$3 what=$4 out
	out=$(7zz t -tvhdx "$child" 2>&1)
	if [ $? -eq 0 ] && ! grep -qE 'WARNING|ERROR' <<<"$out"; then ok "$what: 7zz t"; else bad "$what: 7zz t: $(grep -E 'WARN|ERR' <<<"$out" | head -2)"; fi
	[ "$(content "$child")" = "$(content "$parent")" ] && [ "$(7zz e -tvhdx -so "$child" 2>/dev/null | wc -c)" -eq "$size" ] &&
		ok "$what: 7zz reads the parent's data through the child" || bad "$what: child content differs from parent"
}

for lss in 512 4096; do
	for ptype in dynamic fixed; do
		d=$T/$ptype$lss
		mkdir -p "$d"
		size=$((40 * M))
		"$VHDX" create -q -t $ptype -b 1M --logical-sector-size $lss -s $size "$d/base.vhdx" || { bad "parent $ptype $lss"; continue; }
		if [ $ptype = fixed ]; then
			fill_fixed "$d/base.vhdx" $size
		elif [ $lss = 512 ]; then
			qemu-io -f vhdx -c "write -P 0x5a 0 7M" -c "write -P 0xc3 $((20 * M)) 3M" "$d/base.vhdx" >/dev/null
		else
			fill_dynamic "$d/base.vhdx"
		fi
		[ "$(content "$d/base.vhdx")" != "$(head -c $size /dev/zero | sha256sum | cut -d' ' -f1)" ] ||
			bad "$ptype $lss parent holds no data"
		"$VHDX" create -q -t differencing --parent "$d/base.vhdx" "$d/c1.vhdx" || { bad "child of $ptype $lss"; continue; }
		check_child "$d/c1.vhdx" "$d/base.vhdx" $size $lss "child of $ptype/$lss"
		# a chain of three
		"$VHDX" create -q -t differencing -b 8M --parent "$d/c1.vhdx" "$d/c2.vhdx" || { bad "grandchild $ptype $lss"; continue; }
		check_child "$d/c2.vhdx" "$d/c1.vhdx" $size $lss "grandchild of $ptype/$lss"
		"$VHDX" info "$d/c2.vhdx" | grep -q "block size: 8 MiB" && ok "child's own block size" || bad "child block size"
	done
done

# a child in another folder: relative_path ..\base.vhdx
mkdir -p "$T/fixed512/sub"
"$VHDX" create -q -t differencing --parent "$T/fixed512/base.vhdx" --parent-win32-path 'D:\vms\base.vhdx' "$T/fixed512/sub/child.vhdx"
"$VHDX" info "$T/fixed512/sub/child.vhdx" >"$T/info"
grep -q 'relative_path = \.\.\\base.vhdx' "$T/info" && ok "relative_path from a sub-folder" || bad "relative_path: $(grep relative_path "$T/info")"
grep -q 'absolute_win32_path = D:\\vms\\base.vhdx' "$T/info" && ok "absolute_win32_path recorded" || bad "absolute_win32_path"
check_child "$T/fixed512/sub/child.vhdx" "$T/fixed512/base.vhdx" $((40 * M)) 512 "child in a sub-folder" no7zz

# info follows the chain, level by level; check checks every link
d=$T/fixed512
"$VHDX" info "$d/c2.vhdx" >"$T/info"
grep -q "^  1: .*c1.vhdx (relative_path): VHDX (differencing, 40 MiB), DataWriteGuid matches parent_linkage" "$T/info" &&
	grep -q "^  2: .*base.vhdx (relative_path): VHDX (fixed, 40 MiB), DataWriteGuid matches parent_linkage" "$T/info" &&
	ok "info prints each level of a chain of three" || bad "info chain: $(sed -n '/parent chain/,$p' "$T/info")"
mv "$d/c1.vhdx" "$d/c1.moved"
out=$("$VHDX" check "$d/c2.vhdx" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "(parent.absent)" <<<"$out" && ok "missing middle of a chain: parent.absent warning" ||
	bad "missing parent: rc $rc $out"
mv "$d/c1.moved" "$d/c1.vhdx"
mv "$d/base.vhdx" "$d/base.moved"
"$VHDX" create -q -t fixed -b 1M -s 40M "$d/base.vhdx"   # same name and size, another DataWriteGuid
out=$("$VHDX" check "$d/c2.vhdx" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "base.vhdx: its DataWriteGuid is not parent_linkage (parent.mismatch)" <<<"$out" &&
	ok "a replaced grandparent: parent.mismatch error, exit 1" || bad "replaced grandparent: rc $rc $out"
rm -f "$d/base.vhdx"
mv "$d/base.moved" "$d/base.vhdx"

# refusals: exit 2, one line, nothing created
head -c $((4 * M)) /dev/urandom >"$T/junk.bin"
out=$("$VHDX" create -q -t differencing --parent "$T/junk.bin" "$T/x.vhdx" 2>&1)
[ $? -eq 2 ] && grep -q "not a VHDX" <<<"$out" && [ ! -e "$T/x.vhdx" ] && ok "parent not a VHDX refused" || bad "parent junk: $out"
if [ -d "$SAMPLES" ]; then
	bzip2 -dc "$SAMPLES/qemu1.6-dirtylog-10G.vhdx.bz2" >"$T/dirty.vhdx"
	out=$("$VHDX" create -q -t differencing --parent "$T/dirty.vhdx" "$T/x.vhdx" 2>&1)
	[ $? -eq 2 ] && grep -q "log must be replayed" <<<"$out" && [ ! -e "$T/x.vhdx" ] && ok "parent with a dirty log refused" || bad "dirty parent: $out"
	gzip -dc "$SAMPLES/win10-differencing-8G-child.avhdx.gz" >"$T/hv.avhdx"
	keys=$("$VHDX" info "$T/hv.avhdx" | grep -cE '^  (parent_linkage|absolute_win32_path|relative_path|volume_path|parent_linkage2) = ')
	[ "$keys" -eq 5 ] && ok "Hyper-V child: five locator keys read" || bad "Hyper-V child: $keys keys"
else
	bad "$SAMPLES is absent: the sample-based refusals did not run"
fi
cp "$T/fixed512/base.vhdx" "$T/broken.vhdx"
printf 'XXXX' | dd of="$T/broken.vhdx" bs=1 seek=$((192 * 1024)) conv=notrunc status=none  # region table 1 signature
printf 'XXXX' | dd of="$T/broken.vhdx" bs=1 seek=$((256 * 1024)) conv=notrunc status=none  # and 2
out=$("$VHDX" create -q -t differencing --parent "$T/broken.vhdx" "$T/x.vhdx" 2>&1)
[ $? -eq 2 ] && grep -q "does not check clean" <<<"$out" && [ ! -e "$T/x.vhdx" ] && ok "parent that does not check clean refused" || bad "broken parent: $out"
out=$("$VHDX" create -q -t differencing --parent "$T/fixed512/base.vhdx" "$T/fixed512/base.vhdx" 2>&1)
[ $? -eq 2 ] && grep -q "own parent" <<<"$out" && ok "child as its own parent refused" || bad "own parent: $out"
finish
