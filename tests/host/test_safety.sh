#!/usr/bin/env bash
# test_safety.sh - the host tool does not destroy what it was not told to.
# Targets holding a GPT (sgdisk), an MBR (sfdisk), FAT (mkfs.vfat), ext4
# (mkfs.ext4), swap (mkswap), a VHDX, or unknown data, as files and on
# loop devices: refused without --force (exit 2, one line naming what was
# found, byte-for-byte unchanged); with --force the plan says what it
# overwrites and the image checks clean.  A mounted device, and a disk
# whose partition is mounted, are refused even with --force (O_EXCL).
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))
for tool in sgdisk sfdisk mkfs.vfat mkfs.ext4 mkswap; do
	command -v $tool >/dev/null || { bad "$tool is not installed (make deps)"; finish; exit 1; }
done
# for the mounted cases, where the filesystem itself writes to the device
# (superblock, lazy init): the shim counts the tool's writes instead
SHIM=$(realpath -m "$BUILD")/tests/faultshim.so
mkdir -p "$BUILD/tests"
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" tests/host/faultshim.c -ldl ||
	{ bad "cannot build the fault shim"; finish; exit 1; }
cd "$T" || exit 2
# create_counted ARGS...: runs the tool, sets $out, $rc and $calls (its
# writes, flushes and zero calls)
create_counted() {
	rm -f report
	out=$(FAULT_REPORT=$T/report LD_PRELOAD="$SHIM" "$VHDX" create "$@" 2>&1)
	rc=$?
	local w f z
	calls=unknown
	read -r w f z < <(sed 's/[a-z]*=//g' report 2>/dev/null) && calls=$((w + f + z))
}
devs=() mnts=()
cleanup() {
	for m in "${mnts[@]}"; do umount "$m" 2>/dev/null; done
	for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# make KIND FILE: write that content onto FILE (a file or a device)
make_content() {
	case $1 in
	gpt) sgdisk -o -n 1:2048:+4M "$2" >/dev/null ;;
	gpt-backup) sgdisk -o -n 1:2048:+4M "$2" >/dev/null && dd if=/dev/zero of="$2" bs=1M count=1 conv=notrunc,fsync status=none ;;
	mbr) printf 'label: dos\n,8M,83\n' | sfdisk -q "$2" >/dev/null ;;
	fat) mkfs.vfat "$2" >/dev/null ;;
	ext4) mkfs.ext4 -q -F "$2" >/dev/null 2>&1 ;;
	swap) mkswap "$2" >/dev/null 2>&1 ;;
	vhdx) "$VHDX" create -q -f -s 8M "$2" ;;
	random) head -c $((16 * M)) /dev/urandom | dd of="$2" bs=1M conv=notrunc,fsync status=none ;;
	esac
}
declare -A expect=(
	# only the backup GPT header (in the last logical block) left
	[gpt]="a GPT partition table" [gpt-backup]="a GPT partition table (backup header)" [mbr]="an MBR partition table"
	[fat]="a FAT filesystem" [ext4]="an ext2/3/4 filesystem" [swap]="Linux swap"
	[vhdx]="a VHDX image" [random]="unknown data"
)
kinds=(gpt gpt-backup mbr fat ext4 swap vhdx random)

# refuse TARGET KIND WHERE: refused without --force, unchanged; then with
# --force the plan names what it overwrites and the image checks clean
refuse_then_force() {
	local tgt=$1 kind=$2 where=$3 sum out rc
	sum=$(sha256sum <"$tgt")
	out=$("$VHDX" create -q -s 10M "$tgt" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "holds ${expect[$kind]}.*refusing.*--force" <<<"$out" &&
		[ "$(sha256sum <"$tgt")" = "$sum" ]; then
		ok "$where with $kind: refused, unchanged: $out"
	else
		bad "$where with $kind: rc $rc, '$out'"
	fi
	# also refused in a dry run, which never writes
	out=$("$VHDX" create -n -s 10M "$tgt" 2>&1)
	[ $? -eq 2 ] && [ "$(sha256sum <"$tgt")" = "$sum" ] && ok "$where with $kind: dry run refused too" ||
		bad "$where with $kind: dry run: $out"
	out=$("$VHDX" create -f -s 10M "$tgt" 2>&1)
	if [ $? -eq 0 ] && grep -q "overwrites     ${expect[$kind]}.* (--force)" <<<"$out" && "$VHDX" check "$tgt" >/dev/null; then
		ok "$where with $kind: --force overwrites it, says so, checks clean"
	else
		bad "$where with $kind, --force: $out"
	fi
}

tried=0
for kind in "${kinds[@]}"; do
	truncate -s $((16 * M)) "f-$kind.img"
	make_content "$kind" "f-$kind.img"
	refuse_then_force "f-$kind.img" "$kind" "file"
	tried=$((tried + 1))
done

if ! command -v losetup >/dev/null || ! losetup -f >/dev/null 2>&1; then
	bad "no loop device here: the block-device refusals did not run"
	finish; exit 1
fi
# attach ARGS...: sets $dev; not in a $(subshell), which would lose devs+=
attach() { dev=$(losetup -f --show "$@") && devs+=("$dev"); }
for sector in 512 4096; do
	for kind in gpt fat ext4 vhdx; do
		truncate -s $((32 * M)) "d-$kind-$sector.img"
		attach --sector-size $sector "d-$kind-$sector.img" || { bad "losetup failed"; continue; }
		make_content "$kind" "$dev"
		refuse_then_force "$dev" "$kind" "$sector-byte device"
		tried=$((tried + 1))
	done
done

# a read-only device: refused before any write, with or without --force
truncate -s $((32 * M)) ro.img
if attach -r ro.img; then
	for force in "" -f; do
		create_counted -q $force -s 10M "$dev"
		[ $rc -eq 2 ] && grep -q "read-only device; refusing" <<<"$out" && [ "$calls" = 0 ] &&
			ok "read-only device refused ${force:+with --force }before writing: $out" ||
			bad "read-only device ${force}: rc $rc, $calls calls, $out"
	done
	tried=$((tried + 1))
else
	bad "losetup -r failed"
fi

# mounted: refused even with --force, and nothing written
truncate -s $((32 * M)) mnt.img
attach mnt.img && mkfs.ext4 -q -F "$dev" >/dev/null 2>&1 && mkdir -p m && mount "$dev" m && mnts+=("$T/m") && {
	create_counted -q -f -s 10M "$dev"
	[ $rc -eq 2 ] && grep -q "mounted or in use; refusing" <<<"$out" && [ "$calls" = 0 ] &&
		ok "mounted device refused with --force, nothing written: $out" || bad "mounted device: rc $rc, $calls calls, $out"
	tried=$((tried + 1))
} || bad "could not mount an ext4 loop device"

# a disk whose partition is mounted: the whole disk is refused too
truncate -s $((32 * M)) part.img
sgdisk -o -n 1:2048:+16M part.img >/dev/null
part=
if attach -P part.img; then
	# without udev (containers) the kernel may know the partition but no
	# node exists: ask for it (partx) and make the node here
	[ -e "/sys/class/block/${dev#/dev/}p1" ] || partx -a "$dev" 2>/dev/null
	if [ -b "${dev}p1" ]; then
		part=${dev}p1
	elif [ -r "/sys/class/block/${dev#/dev/}p1/dev" ]; then
		IFS=: read -r maj min <"/sys/class/block/${dev#/dev/}p1/dev"
		mknod "$T/part1" b "$maj" "$min" && part=$T/part1
	fi
fi
if [ -n "$part" ] && mkfs.ext4 -q -F "$part" >/dev/null 2>&1 && mkdir -p p && mount "$part" p; then
	mnts+=("$T/p")
	create_counted -q -f -s 10M "$dev"
	[ $rc -eq 2 ] && grep -q "mounted or in use; refusing" <<<"$out" && [ "$calls" = 0 ] &&
		ok "disk with a mounted partition refused with --force, nothing written: $out" ||
		bad "disk with mounted partition: rc $rc, $calls calls, $out"
	create_counted -q -f -s 10M "$part"
	[ $rc -eq 2 ] && grep -q "mounted or in use" <<<"$out" && [ "$calls" = 0 ] &&
		ok "the mounted partition itself refused, nothing written" || bad "mounted partition: rc $rc, $calls calls, $out"
	tried=$((tried + 2))
else
	bad "could not mount a partition of a loop device (losetup -P)"
fi
echo "non-blank and in-use targets tried: $tried"
finish
