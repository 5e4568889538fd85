#!/usr/bin/env bash
# test_blockdev.sh - the host tool on real block devices (loop devices with
# 512- and 4096-byte sectors): a dynamic image on a blank device, a fixed
# image filling a device without --size, refusal of a device that holds
# data (without --force) or is held open exclusively (mounted or in use),
# refusal of a device too small; a differencing child on a device, whose
# relative_path starts at the parent's mount point; each checked by every
# validator.
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))
if ! command -v losetup >/dev/null || ! losetup -f >/dev/null 2>&1; then
	skipped "no loop device here (losetup -f failed): the block-device tests did not run"
	finish; exit $?
fi
devs=()
mnt=
cleanup() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
attach() { # FILE SECTOR: sets $dev (not in a subshell, so cleanup sees it)
	dev=$(losetup -f --show --sector-size "$2" "$1") || return 1
	devs+=("$dev")
}

for sector in 512 4096; do
	truncate -s $((200 * M)) "$T/disk$sector.img"
	attach "$T/disk$sector.img" $sector || { bad "losetup --sector-size $sector failed"; continue; }
	# dynamic on a blank device
	if "$VHDX" create -q -s 1G --logical-sector-size $sector "$dev"; then
		head -c $((4 * M)) "$dev" >"$T/dyn.vhdx"
		validate "$T/dyn.vhdx" $((1024 * M)) $sector && ok "dynamic on $sector-byte device" ||
			bad "dynamic on $sector-byte device"
	else
		bad "dynamic on blank $sector-byte device"
	fi
	# now it holds a VHDX: refused without --force, untouched
	sum=$(sha256sum <"$dev")
	out=$("$VHDX" create -q -t fixed --logical-sector-size $sector "$dev" 2>&1)
	[ $? -eq 2 ] && grep -q "holds a VHDX image" <<<"$out" && [ "$(sha256sum <"$dev")" = "$sum" ] &&
		ok "non-blank $sector-byte device refused, untouched" || bad "non-blank device: $out"
	# fixed filling the device, over the old image (and random data in the payload area)
	dd if=/dev/urandom of="$dev" bs=1M seek=10 count=50 conv=notrunc status=none
	if out=$("$VHDX" create -t fixed -f -y -b 2M --logical-sector-size $sector "$dev" 2>&1); then
		vsize=$(sed -n 's/^  virtual size   .*(\([0-9]*\) bytes)$/\1/p' <<<"$out")
		fsize=$(sed -n 's/^  image size     .*(\([0-9]*\) bytes)$/\1/p' <<<"$out")
		[ "$vsize" -eq $((196 * M)) ] && [ "$fsize" -le $((200 * M)) ] &&
			ok "largest fixed image on a 200 MiB device: $vsize bytes" || bad "largest fixed: virtual $vsize, file $fsize"
		head -c "$fsize" "$dev" >"$T/fix.vhdx"
		validate "$T/fix.vhdx" "$vsize" $sector && ok "fixed over random data on $sector-byte device reads as zeros" ||
			bad "fixed on $sector-byte device"
	else
		bad "fixed on $sector-byte device: $out"
	fi
	# held open exclusively by another process: EBUSY, refused
	python3 -c 'import os,sys,time; fd=os.open(sys.argv[1], os.O_RDONLY|os.O_EXCL); print("held", flush=True); time.sleep(30)' "$dev" >"$T/held" &
	holder=$!
	for _ in $(seq 50); do [ -s "$T/held" ] && break; sleep 0.1; done
	out=$("$VHDX" create -q -f -s 10M "$dev" 2>&1)
	[ $? -eq 2 ] && grep -q "in use" <<<"$out" && ok "device in use refused" || bad "device in use: $out"
	kill $holder; wait $holder 2>/dev/null
done
# too small
truncate -s $((3 * M)) "$T/tiny.img"
if attach "$T/tiny.img" 512; then
	out=$("$VHDX" create -q -s 1G "$dev" 2>&1)
	[ $? -eq 2 ] && grep -q "too small" <<<"$out" && cmp -s "$dev" <(head -c $((3 * M)) /dev/zero) &&
		ok "device too small refused, untouched: $out" || bad "too small: $out"
else
	bad "losetup of the 3 MiB device failed: the too-small case did not run"
fi

# A differencing child on a block device has no folder: its relative_path
# is the parent's path from the parent's mount point (a tmpfs here), as
# vhdx.efi does for blkN: children. Copied into a copy of that filesystem,
# every reader finds the parent.
mkdir -p "$T/mnt"
if ! mount -t tmpfs -o size=64M vhdx-test "$T/mnt" 2>"$T/mount.err"; then
	skipped "cannot mount a tmpfs ($(head -n1 "$T/mount.err")): the differencing child on a device did not run"
else
	mnt=$T/mnt
	mkdir -p "$mnt/vm" "$T/copy/vm"
	truncate -s $((64 * M)) "$T/child.img"
	if "$VHDX" create -q -s 1G "$mnt/vm/base.vhdx" && attach "$T/child.img" 512 &&
	   out=$("$VHDX" create -t differencing --parent "$mnt/vm/base.vhdx" "$dev" 2>&1); then
		grep -qF 'relative_path = .\vm\base.vhdx' <<<"$out" &&
		grep -qF "note           relative_path starts at the parent volume's root" <<<"$out" &&
			ok "child on a device: relative_path .\\vm\\base.vhdx from the mount point, and the plan says so" ||
			bad "child on a device: plan: $out"
		fsize=$(sed -n 's/^  image size     .*(\([0-9]*\) bytes)$/\1/p' <<<"$out")
		cp "$mnt/vm/base.vhdx" "$T/copy/vm/base.vhdx"
		head -c "${fsize:-0}" "$dev" >"$T/copy/child.vhdx"
		out=$("$VHDX" check "$T/copy/child.vhdx" 2>&1)
		grep -q ': 0 errors, 0 warnings$' <<<"$out" &&
			ok "child on a device, copied beside vm/: vhdx check finds the parent (0 warnings)" ||
			bad "child on a device: check: $out"
		guid=$("$VHDX" info "$mnt/vm/base.vhdx" | awk '/data write guid:/ { print $4; exit }')
		out=$(vhdiinfo "$T/copy/child.vhdx" 2>&1)
		[ -n "$guid" ] && grep -qi "Parent identifier.*$guid" <<<"$out" &&
			ok "child on a device: vhdiinfo's parent identifier is the parent's DataWriteGuid" ||
			bad "child on a device: vhdiinfo: $out"
		# 7zz on Linux takes the '\' in relative_path as part of a file name
		echo "  note: 7zz not run on the child on a device: its relative_path has a folder, which 7-Zip on Linux cannot follow"
	else
		bad "child on a device: $out"
	fi
	umount "$mnt" && mnt=
fi
finish
