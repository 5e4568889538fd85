#!/usr/bin/env bash
# test_differencing.sh - children of dynamic and fixed parents, 512 and
# 4096 logical sectors, chains of three, a child in another folder: each
# read through 7zz (the parent beside it; its virtual disk must equal the
# parent's non-zero content byte for byte), vhdiinfo (parent identifier =
# the parent's DataWriteGuid) and our own check.  Refusals: a parent that
# is not a VHDX, one whose log needs replay, one that does not check clean.
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))

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
	# the Virtual Disk ID (Page 83) is the parent's, as Hyper-V's children have it
	out=$("$VHDX" info "$parent" | sed -n 's/^virtual disk id: //p')
	[ -n "$out" ] && [ "$("$VHDX" info "$child" | sed -n 's/^virtual disk id: //p')" = "$out" ] &&
		ok "$what: the child has the parent's virtual disk id" ||
		bad "$what: the child's virtual disk id is not the parent's ($out)"
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
[ $rc -eq 1 ] && grep -q "base.vhdx: its DataWriteGuid is not the child's parent_linkage \[2.6.2.6.3\] (parent.mismatch)" <<<"$out" &&
	ok "a replaced grandparent: parent.mismatch error, exit 1" || bad "replaced grandparent: rc $rc $out"
rm -f "$d/base.vhdx"
mv "$d/base.moved" "$d/base.vhdx"

# a wrong parent at relative_path and a stale absolute_win32_path: the
# finding and info's chain line name the parent rejected, not the last
# path tried
d=$T/fixed512/sub
mv "$T/fixed512/base.vhdx" "$T/fixed512/base.keep"
"$VHDX" create -q -t fixed -b 1M -s 40M "$T/fixed512/base.vhdx"
out=$("$VHDX" check "$d/child.vhdx" 2>&1); rc=$?
line=$(grep "(parent.mismatch)" <<<"$out")
[ $rc -eq 1 ] && grep -q "parent locator.*found $T/fixed512/base.vhdx: its DataWriteGuid is not the child's parent_linkage" <<<"$line" &&
	grep -q 'also tried absolute_win32_path D:\\vms\\base.vhdx: a Windows drive path' <<<"$line" &&
	ok "wrong parent, stale win32 path: the finding names the parent rejected" || bad "wrong parent: rc $rc $out"
"$VHDX" info "$d/child.vhdx" >"$T/info"
grep -q "^  1: refused ($T/fixed512/base.vhdx: its DataWriteGuid is not" "$T/info" &&
	ok "info's chain line names the parent rejected" || bad "info chain line: $(sed -n '/parent chain/,$p' "$T/info")"
"$VHDX" info --json "$d/child.vhdx" >"$T/info.json"
python3 - "$T/info.json" <<'PY' && ok "info --json of a broken chain: its verdict" || bad "info --json verdict: $(cat "$T/info.json")"
import json, sys
c = json.load(open(sys.argv[1]))['parent_chain']
assert c['verdict'] == 'parent mismatch', c
assert 'its DataWriteGuid is not' in c['why'], c
assert c['parents'] == [], c
PY
rm -f "$T/fixed512/base.vhdx"
mv "$T/fixed512/base.keep" "$T/fixed512/base.vhdx"
"$VHDX" info --json "$T/fixed512/c2.vhdx" >"$T/info.json"
python3 - "$T/info.json" <<'PY' && ok "info --json of a chain of three: verdict and levels" || bad "info --json chain: $(cat "$T/info.json")"
import json, sys
c = json.load(open(sys.argv[1]))['parent_chain']
assert c['verdict'] == 'complete' and c['why'] == '', c
assert [p['level'] for p in c['parents']] == [1, 2], c
assert c['parents'][0]['path'].endswith('c1.vhdx') and c['parents'][0]['type'] == 'differencing', c
assert c['parents'][1]['path'].endswith('base.vhdx') and c['parents'][1]['type'] == 'fixed', c
assert all(p['key'] == 'relative_path' for p in c['parents']), c
PY

# a Windows absolute_win32_path is never looked up from the current folder:
# a folder literally named "C:" there holds the right parent, and must not
# be found
w=$T/win
mkdir -p "$w/C:/x" "$w/kid" "$w/other/deeper"
"$VHDX" create -q -t dynamic -b 1M -s 8M "$w/C:/x/base.vhdx"
"$VHDX" create -q -t differencing --parent "$w/C:/x/base.vhdx" --parent-win32-path 'C:\x\base.vhdx' "$w/kid/child.vhdx"
mv "$w/kid/child.vhdx" "$w/other/deeper/child.vhdx"   # relative_path ..\C:\x\base.vhdx now leads nowhere
out=$(cd "$w" && "$VHDX" check other/deeper/child.vhdx 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "(parent.absent)" <<<"$out" && grep -q 'absolute_win32_path C:\\x\\base.vhdx: a Windows drive path, not followed here' <<<"$out" &&
	ok "a Windows drive path is not looked up relative to the current folder" || bad "win32 path from cwd: rc $rc $out"

# a cycle: c1's locator patched to name c2 (same name length, c2's DataWriteGuid)
y=$T/cycle
mkdir -p "$y"
"$VHDX" create -q -t dynamic -b 1M -s 8M "$y/b0.vhdx"
"$VHDX" create -q -t differencing --parent "$y/b0.vhdx" "$y/c1.vhdx"
"$VHDX" create -q -t differencing --parent "$y/c1.vhdx" "$y/c2.vhdx"
python3 - "$y/c1.vhdx" "$(data_write_guid "$y/b0.vhdx")" "$(data_write_guid "$y/c2.vhdx")" <<'PY'
import sys
img, old, new = sys.argv[1], sys.argv[2], sys.argv[3]
data = bytearray(open(img, 'rb').read())
for a, b in ((old, new), ('.\\b0.vhdx', '.\\c2.vhdx')):
    a, b = a.encode('utf-16-le'), b.encode('utf-16-le')
    i = data.find(a)
    assert i > 0 and len(a) == len(b), (a, i)
    data[i:i + len(a)] = b
open(img, 'wb').write(data)
PY
out=$("$VHDX" check "$y/c2.vhdx" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "c2.vhdx: already in the chain as level 0 (a cycle) (parent.mismatch)" <<<"$out" &&
	ok "a cycle in a chain: parent.mismatch, exit 1" || bad "cycle: rc $rc $out"

# a chain deeper than the reader follows (16 levels, 15 parents): refused,
# not looped.  create makes no 17th level (test_paths.sh), so l16 is a
# child of l14 whose locator is patched to name l15 (same name length, l15's
# DataWriteGuid)
z=$T/deep
mkdir -p "$z"
"$VHDX" create -q -t dynamic -b 1M -s 8M "$z/l0.vhdx"
for i in $(seq 1 15); do
	"$VHDX" create -q -t differencing --parent "$z/l$((i - 1)).vhdx" "$z/l$i.vhdx" || bad "level $i"
done
"$VHDX" create -q -t differencing --parent "$z/l14.vhdx" "$z/l16.vhdx" || bad "l16 below l14"
relink "$z/l16.vhdx" "$z/l14.vhdx" "$z/l15.vhdx"
out=$("$VHDX" check "$z/l15.vhdx" 2>&1); rc=$?
[ $rc -eq 0 ] && ! grep -q "parent\." <<<"$out" && ok "a chain of 16 levels is followed" || bad "16 levels: rc $rc $out"
out=$("$VHDX" check "$z/l16.vhdx" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "more than 15 parents: a chain this deep is refused (parent.mismatch)" <<<"$out" &&
	ok "a chain of 17 levels: refused" || bad "17 levels: rc $rc $out"

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
