#!/bin/bash
# test_samples.sh - `vhdx check` and `vhdx info` on every real-world image in
# ../shared/samples (decompressed to a temp dir, never touched in place), with the
# outcome each one must have, and `vhdx info` compared with what qemu-img info and
# 7zz l say about the same file.  Also: images our own `vhdx create` makes check clean.
source "$(dirname "$0")/lib.sh"
need_samples

# sample  exit status of check  findings that must appear (rule ids, comma-separated; - none)
#         and whether any other finding is allowed (strict: none besides those)
while read -r name rc want; do
	[ -z "$name" ] && continue
	src=$(ls "$SAMPLES/$name".* 2>/dev/null | head -1)
	if [ -z "$src" ]; then bad "$name: sample missing"; continue; fi
	img=$T/$name
	case $src in
	*.bz2) bzip2 -dc "$src" >"$img" ;;
	*.gz) gzip -dc "$src" >"$img" ;;
	esac || { bad "$name: cannot decompress"; continue; }
	sum_before=$(sha256sum <"$img")
	"$VHDX" check "$img" >"$T/out" 2>&1
	got=$?
	if [ $got -eq "$rc" ]; then ok; else bad "$name: check exit $got, expected $rc"; cat "$T/out"; fi
	# the same through a read-only loop device, where the machine allows one;
	# where it does not, a skip, counted and said
	if [ "$(id -u)" != 0 ]; then
		skipped "$name: check through a read-only loop device: not root"
	elif ! command -v losetup >/dev/null; then
		skipped "$name: check through a read-only loop device: losetup is not installed"
	elif ! dev=$(losetup -r -f --show "$img" 2>"$T/losetup.err"); then
		skipped "$name: check through a read-only loop device: losetup failed ($(head -n 1 "$T/losetup.err"))"
	else
		"$VHDX" check "$dev" >"$T/outdev" 2>&1
		gotdev=$?
		losetup -d "$dev"
		# on a device what follows the image is the device's: no file.trailing there
		if [ $gotdev -eq "$rc" ] && diff <(grep -oE '\([a-z0-9_.]+\)$' "$T/out" | grep -v '^(file.trailing)$') \
			<(grep -oE '\([a-z0-9_.]+\)$' "$T/outdev") >/dev/null && ! grep -q '(file.trailing)$' "$T/outdev"; then
			ok
		else
			bad "$name: check through block device $dev differs (exit $gotdev)"; cat "$T/outdev"
		fi
	fi
	# exactly the expected findings, no others
	found=$(grep -oE '\([a-z0-9_]+\.[a-z0-9_]+\)$' "$T/out" | tr -d '()' | sort -u | paste -sd, -)
	[ -z "$found" ] && found=-
	if [ "$found" = "$want" ]; then ok; else bad "$name: findings '$found', expected '$want'"; cat "$T/out"; fi
	"$VHDX" info "$img" >"$T/info" 2>&1 || { [ "$rc" = 1 ] || bad "$name: info failed"; }
	"$VHDX" info --json "$img" >"$T/json" 2>&1
	j() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$T/json" | head -1; }
	if command -v python3 >/dev/null; then
		python3 -m json.tool "$T/json" >/dev/null && ok || bad "$name: info --json is not valid JSON"
	else
		skipped "$name: info --json not parsed: python3 is not installed"
	fi
	vs=$(j virtual_size)
	bs=$(j block_size)
	lss=$(j logical_sector_size)
	type=$(j type)
	# qemu-img info (it refuses the dirty log and the differencing child)
	if q=$(qemu-img info --output=json -f vhdx "$img" 2>&1); then
		qvs=$(sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' <<<"$q")
		qbs=$(sed -n 's/.*"cluster-size": \([0-9]*\).*/\1/p' <<<"$q")
		if [ "$qvs" = "$vs" ] && [ "$qbs" = "$bs" ]; then ok; else
			bad "$name: qemu-img says size $qvs block $qbs, we say $vs $bs"; fi
	else
		case $name in
		qemu1.6-dirtylog-10G | win10-differencing-8G-child)
			echo "  note: qemu-img info refuses $name (a dirty log / a differencing image): not compared" ;;
		*) bad "$name: qemu-img info refused it: $(tail -1 <<<"$q")" ;;
		esac
	fi
	if command -v 7zz >/dev/null; then
		z=$(7zz l -slt -tvhdx "$img" 2>/dev/null)
		zvs=$(sed -n 's/^Size = //p' <<<"$z" | head -1)
		zbs=$(sed -n 's/^Cluster Size = //p' <<<"$z" | head -1)
		zss=$(sed -n 's/^Sector Size = //p' <<<"$z" | head -1)
		zm=$(sed -n 's/^Method = //p' <<<"$z" | head -1)
		zc=$(sed -n 's/^Creator Application = //p' <<<"$z" | head -1)
		creator=$(sed -n 's/^creator: //p' "$T/info")
		if [ "$zvs" = "$vs" ] && [ "$zbs" = "$bs" ] && [ "$zss" = "$lss" ] && [ "$zc" = "$creator" ] &&
			{ [ -z "$zm" ] || grep -qi "$type" <<<"$zm" || [ "$type" = differencing ]; }; then ok; else
			bad "$name: 7zz says size $zvs block $zbs sector $zss method '$zm' creator '$zc'; we say $vs $bs $lss $type '$creator'"
		fi
	fi
	[ "$(sha256sum <"$img")" = "$sum_before" ] && ok || bad "$name: info/check changed the file"
	case $name in
	win10-differencing-8G-child)
		for k in parent_linkage absolute_win32_path relative_path volume_path parent_linkage2; do
			if grep -q "^  $k = " "$T/info"; then ok; else bad "$name: locator key $k not shown"; fi
		done
		grep -q '"key": "parent_linkage", "value": "{ff34003b-11ed-4cf8-a166-b2be05e20b80}"' "$T/json" &&
			ok || bad "$name: parent_linkage not in the JSON"
		grep -q '"partially_present": 32' "$T/json" && ok || bad "$name: 32 PARTIALLY_PRESENT expected"
		grep -q '"sector_bitmaps_present": 2' "$T/json" && ok || bad "$name: 2 sector bitmaps expected" ;;
	qemu1.6-dirtylog-10G)
		grep -q '"log_replay_needed": true' "$T/json" && ok || bad "$name: log replay not in info" ;;
	win10-fixed-10M)
		grep -q '"fully_present": 5' "$T/json" && ok || bad "$name: 5 FULLY_PRESENT expected" ;;
	esac
done <<'EOF'
hyperv2012-dynamic-1G        0 -
win81-dynamic-100M           0 -
win10-dynamic-10M            0 -
win10-fixed-10M              0 -
win10-differencing-8G-child  0 parent.absent
disk2vhd-256M                0 file.trailing,hdr.same_sequence
qemu1.6-dirtylog-10G         1 log.replay,rgn.not_required
EOF

# The differencing sample with a parent beside it: found by relative_path and accepted
# only when its DataWriteGuid is parent_linkage and its size matches.
MUTATE=$T/mutate
if ${CC:-cc} -std=gnu11 -O1 -Icore -o "$MUTATE" tests/host/mutate.c "$BUILD/host/libvhdx.a"; then
	mkdir -p "$T/pair"
	gzip -dc "$SAMPLES/win10-differencing-8G-child.avhdx.gz" >"$T/pair/child.avhdx"
	parent="$T/pair/Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx"
	for variant in good other-guid other-size; do
		rm -f "$parent"
		size=8G
		[ $variant = other-size ] && size=4G
		"$VHDX" create -q -s $size -b 2M "$parent" >/dev/null 2>&1 || { bad "cannot create a parent"; break; }
		[ $variant = other-guid ] || "$MUTATE" "$parent" base.parent_of_sample
		"$VHDX" check "$T/pair/child.avhdx" >"$T/out" 2>&1
		got=$?
		case $variant in
		good) if [ $got -eq 0 ] && ! grep -q 'parent\.' "$T/out"; then ok; else bad "child with its parent: exit $got"; cat "$T/out"; fi ;;
		*) if [ $got -eq 1 ] && grep -q '(parent.mismatch)$' "$T/out"; then ok; else bad "child with a wrong parent ($variant): exit $got"; cat "$T/out"; fi ;;
		esac
	done
else
	bad "cannot build tests/host/mutate.c"
fi

# Images our writer makes check clean (a small matrix; the lead's integration matrix has more).
while read -r args; do
	rm -f "$T/own.vhdx"
	# shellcheck disable=SC2086
	if "$VHDX" create -q $args "$T/own.vhdx" >/dev/null 2>&1; then
		if "$VHDX" check "$T/own.vhdx" >"$T/out" 2>&1 && ! grep -q . <(grep -v ': VHDX (' "$T/out"); then ok; else
			bad "vhdx create $args: does not check clean"; cat "$T/out"; fi
	else
		bad "vhdx create $args failed"
	fi
done <<'EOF'
-s 1G
-s 5G -b 1M
-t fixed -s 64M -b 1M
-t fixed -s 10M -b 2M --logical-sector-size 4096
-s 64T -b 1M
-s 3G --zero-blocks
EOF

finish
