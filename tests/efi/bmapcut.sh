#!/bin/bash
# tests/efi/bmapcut.sh - issue 21: power cuts of vhdx.efi's `bmap IMAGE
# OUT.bmap` (efi/efi_bmap.c: OUT.bmap.tmp written whole and flushed, the
# old OUT.bmap deleted, the temporary renamed) made by QEMU itself, at
# every write request the run makes to the volume, under OVMF (x86_64,
# TCG) and its FAT driver.
#
# The volumes: FAT12 (1 MiB) and FAT32 (33 MiB), 512-byte clusters (the
# manifests span 6 and 7 clusters), each holding an old \o\g.bmap (the host's bmap
# of another image).  Each is attached through a blkdebug layer that fails
# every write request once, with werror=stop on its virtio disk: each
# write stops the VM before it lands (tests/efi/cutqmp.py).
#   cut boot   `bmap fs0:\g.vhdx fsN:\o\g.bmap` onto each volume; at every
#              stop the volume's image is copied (what a cut there leaves:
#              the writes before it landed, none after), then the VM goes
#              on.  Checked: every write stopped once (query-blockstats);
#              both runs 0x0, each volume ending with the host's bytes.
#   states     in each copy, read with mtools: a whole manifest is there:
#              g.bmap the old bytes, or g.bmap the host's new bytes, or
#              g.bmap.tmp the host's new bytes (a cut in the delete of the
#              old g.bmap leaves its entry over freed clusters).  Never
#              only a part.
#   kill boots two real cuts, in parallel: QEMU SIGKILLed at a chosen stop
#              (fat12: the first with the old g.bmap's clusters freed and
#              its entry still there; fat32: the first after the flush of
#              the whole .tmp); the image it leaves holds the same FAT and
#              the same files as the copy made at that stop.
#   repair boot every distinct state (copies, killed images, the ends)
#              as a volume of one boot (virtio-scsi), `bmap` onto each:
#              0x0, g.bmap the host's bytes, no .tmp, fsck.vfat -n finds no
#              damaged chain (allowed: unused clusters a cut leaked, a
#              wrong FAT32 free count);
#              the states that held a whole g.bmap.tmp say the note.
# The model: a disk that completes write requests in order, whole (QEMU's
# own; a drive that reorders what its cache holds is not modelled).
# Without efi_bmap_settle the repair leaves g.bmap over free clusters in
# 5 of the 27 states (the app says 0x0); without the Flush before the
# delete, 8 cuts leave no whole manifest.
# Prints PASS/FAIL lines and "N passed, M failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
W=$BUILD/tests/efi/bmapcut-$$
. "$HERE/lib.sh"
APP=$BUILD/efi/x86_64/vhdx.efi
V=$BUILD/host/vhdx
CUTS=400            # write requests blkdebug can stop (more: a FAIL)
VOLS="fat12 fat32"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}

finish() {
	if [ "$FAIL" -eq 0 ]; then
		rm -rf "$W/snap" "$W/rep"
		find "$W" \( -name '*.img' -o -name '*.vhdx' -o -name '*.fd' \) -delete 2>/dev/null
	fi
	echo "logs: $W"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

ok=1
need qemu-system-x86_64 qemu-io mkfs.vfat fsck.vfat mcopy mdir mmd python3 sha256sum timeout cmp || ok=0
need_file "$OVMF_CODE" "Debian package ovmf" || ok=0
need_file "$APP" "make efi" || ok=0
need_file "$V" "make host" || ok=0
[ $ok = 1 ] || finish
for old in "$BUILD"/tests/efi/bmapcut-*; do
	[ -d "$old" ] || continue
	kill -0 "${old##*/bmapcut-}" 2>/dev/null || rm -rf "$old"
done
rm -rf "$W"
mkdir -p "$W/snap" "$W/rep"
cd "$W" || finish
. "$ROOT/tests/bmap_lib.sh"

# -- the host side: the image and its manifest (the oracle), an old
# manifest of another image, the volumes, blkdebug's rules
setup() {
	"$V" create -q -s 8M -b 1M g.vhdx &&
		qemu-io -f vhdx -c "write -P 0x5a 512 1M" -c "write -P 0x77 2M 2M" -c "write -P 0xc3 5M 4096" g.vhdx \
			>/dev/null && "$V" bmap g.vhdx new.bmap >/dev/null || return 1
	"$V" create -q -s 10M -b 1M o.vhdx && qemu-io -f vhdx -c "write -P 1 0 4096" -c "write -P 2 1M 4096" \
		-c "write -P 3 3M 8192" -c "write -P 4 6M 4096" -c "write -P 5 9M 4096" o.vhdx >/dev/null &&
		"$V" bmap o.vhdx old.bmap >/dev/null || return 1
	cmp -s old.bmap new.bmap && return 1
	rm -f fat12.img fat32.img
	mkfs.vfat -s 1 -C fat12.img 1024 >/dev/null && mkfs.vfat -F 32 -s 1 -C fat32.img 33792 >/dev/null || return 1
	for v in $VOLS; do
		mmd -i $v.img ::o && mcopy -i $v.img old.bmap ::o/g.bmap || return 1
	done
	# write request k (1..CUTS): in state 2k-1 it fails once (EIO) and
	# moves to 2k, where its retry lands and moves to 2k+1 (QEMU's
	# docs/devel/blkdebug: rules per event and state)
	python3 -S -c 'import sys
f = open("cut.conf", "w")
for k in range(1, int(sys.argv[1]) + 1):
    a, b = 2 * k - 1, 2 * k
    f.write("[inject-error]\nevent = \"pwritev\"\nstate = \"%d\"\niotype = \"write\"\nerrno = \"5\"\nonce = \"on\"\nimmediately = \"on\"\n\n" % a)
    f.write("[set-state]\nevent = \"pwritev\"\nstate = \"%d\"\nnew_state = \"%d\"\n\n" % (a, b))
    f.write("[set-state]\nevent = \"pwritev\"\nstate = \"%d\"\nnew_state = \"%d\"\n\n" % (b, b + 1))' $CUTS
}
setup || { fail "host setup: the image, the manifests, the volumes (vhdx, qemu-io, mkfs.vfat, mtools)"; finish; }
for v in $VOLS; do cp $v.img $v.start.img; done

# startup.nsh: every SCSI target connected and mapped (the firmware
# connects only the first it boots from); the ESP is the volume that holds
# vhdx.efi (the shell maps the volumes in no fixed order); bmap onto every
# volume holding \o
N=startup.nsh
printf '@echo -off\r\nconnect -r\r\nmap -r\r\nfor %%i run (0 63)\r\n  if exist fs%%i:\\vhdx.efi then\r\n    fs%%i:\r\n    set esp fs%%i\r\n  endif\r\nendfor\r\nmap\r\nfor %%i run (0 63)\r\n  if exist fs%%i:\\o then\r\n    echo "=== fs%%i begin"\r\n    vhdx.efi bmap %%esp%%:\\g.vhdx fs%%i:\\o\\g.bmap\r\n    echo "=== fs%%i rc %%lasterror%%"\r\n  endif\r\nendfor\r\nreset -s\r\n' >$N
make_esp esp.img "$APP" $N && mcopy -i esp.img g.vhdx :: || { fail "cannot build the ESP"; finish; }

# cut_args DIR: QEMU's arguments for the volumes under blkdebug (images
# DIR/VOL.img, virtio at 0x5, 0x6), the QMP socket and the pid file
cut_args() {
	local v i=5
	CARGS=(-no-shutdown -qmp "unix:$1/qmp.sock,server=on,wait=on" -pidfile "$1/qemu.pid")
	for v in $VOLS; do
		CARGS+=(-blockdev "driver=blkdebug,node-name=$v-dbg,config=$W/cut.conf,image.driver=file,image.filename=$1/$v.img"
			-blockdev "driver=raw,node-name=$v,file=$v-dbg"
			-device "virtio-blk-pci,drive=$v,addr=$(printf 0x%x $i),werror=stop")
		i=$((i + 1))
	done
}

# boot_cut DIR MODE [VOL]: one boot of the ESP and DIR's volumes,
# cutqmp.py MODE (VOL first: the volume whose stops a kill counts)
boot_cut() {
	local dir=$1 v imgs=()
	[ -n "${3:-}" ] && imgs+=("$3=$dir/$3.img")
	for v in $VOLS; do [ "$v" = "${3:-}" ] || imgs+=("$v=$dir/$v.img"); done
	rm -f "$dir/qmp.sock"
	python3 "$HERE/cutqmp.py" "$dir/qmp.sock" "$W/snap" "$2" "${imgs[@]}" >"$dir/cut.out" 2>&1 &
	local qmp=$!
	cut_args "$dir"
	boot_x86_start "$dir" "$dir/esp.img" "${CARGS[@]}"
	wait_for "$dir" "any other key to continue" 60 && send_keys ' '
	wait $qmp
	CUT_RC=$?
	boot_x86_wait "$dir"
}

# state IMG: what a volume holds, read with mtools: "G T" where G is
# g.bmap's (old, new, other, none) and T g.bmap.tmp's (new, part, none)
state() {
	local g=none t=none
	rm -f "$W/st.g" "$W/st.t"
	mcopy -n -i "$1" ::o/g.bmap "$W/st.g" 2>/dev/null
	mcopy -n -i "$1" ::o/g.bmap.tmp "$W/st.t" 2>/dev/null
	if [ -f "$W/st.g" ]; then
		g=other
		cmp -s "$W/st.g" old.bmap && g=old
		cmp -s "$W/st.g" new.bmap && g=new
	fi
	if [ -f "$W/st.t" ]; then
		t=part
		cmp -s "$W/st.t" new.bmap && t=new
	fi
	echo "$g $t"
}

# fat_of IMG: the SHA-256 of the volume's first FAT (its BPB's fields)
fat_of() {
	python3 -S -c 'import hashlib, struct, sys
b = open(sys.argv[1], "rb").read()
bps, _, res, nfats = struct.unpack_from("<HBHB", b, 11)
size = struct.unpack_from("<H", b, 22)[0] or struct.unpack_from("<I", b, 36)[0]
print(hashlib.sha256(b[res * bps:(res + size) * bps]).hexdigest())' "$1"
}

echo "booting OVMF (x86_64) under TCG: bmap onto two volumes, stopped at each write..."
mkdir -p cut && cp esp.img cut/ && for v in $VOLS; do cp $v.start.img cut/$v.img; done
boot_cut "$W/cut" snap
cp cut/serial.txt serial.txt
runs=$(grep -c '^=== fs[0-9]* rc 0x0$' serial.txt)
if [ $CUT_RC = 0 ] && [ "$runs" = 2 ]; then
	pass "cut boot: bmap onto both volumes, 0x0 each, the VM stopped at every write (${BOOT_SECONDS} s)"
else
	fail "cut boot: cutqmp exit $CUT_RC, $runs runs 0x0 (of 2): $(tail -3 cut/cut.out | tr '\n' ' '); see $W/cut"
fi
declare -A NW
for v in $VOLS; do
	read -r w s < <(sed -n "s/^$v writes \([0-9]*\) stops \([0-9]*\)$/\1 \2/p" cut/cut.out)
	NW[$v]=${w:-0}
	if [ -n "$w" ] && [ "$w" = "$s" ] && [ "$w" -gt 5 ] && [ "$w" -lt $CUTS ]; then
		pass "$v: $w write requests to the volume, each stopped once before it landed (query-blockstats)"
	else
		fail "$v: writes '$w', stops '$s' (each write must stop once, fewer than $CUTS)"
	fi
	[ "$(state cut/$v.img)" = "new none" ] && pass "$v: the uncut end: g.bmap the host's bytes, no .tmp" ||
		fail "$v: the uncut end holds $(state cut/$v.img)"
done

# -- the states the cuts left: a whole manifest at every one
declare -A FIRST_DEL=() FIRST_WHOLE=() SEQ=()
for v in $VOLS; do
	bad=0 olds=0 news=0 tmps=0
	for ((k = 1; k <= NW[$v]; k++)); do
		f=snap/$v-$(printf %03d $k).img
		read -r g t < <(state "$f")
		SEQ[$v]="${SEQ[$v]-} $k:$g/$t"
		if [ "$g" = old ]; then
			olds=$((olds + 1))
			[ "$t" = new ] && [ -z "${FIRST_WHOLE[$v]-}" ] && FIRST_WHOLE[$v]=$k
		elif [ "$g" = new ]; then
			news=$((news + 1))
		elif [ "$t" = new ]; then
			tmps=$((tmps + 1))
			[ "$g" != none ] && [ -z "${FIRST_DEL[$v]-}" ] && FIRST_DEL[$v]=$k
		else
			bad=$((bad + 1))
			fail "$v: cut at write $k (after $((k - 1)) landed): no whole manifest: g.bmap $g, g.bmap.tmp $t"
		fi
	done
	[ $bad = 0 ] && pass "$v: a whole manifest at each of the ${NW[$v]} cuts: the old g.bmap ($olds), the host's g.bmap.tmp ($tmps; ${FIRST_DEL[$v]:+from cut ${FIRST_DEL[$v]} the entry of g.bmap over freed clusters}), the host's g.bmap ($news)"
done
for v in $VOLS; do echo "$v: cut:g.bmap/g.bmap.tmp:${SEQ[$v]-}"; done

# -- two real cuts: QEMU killed where the copies say: in fat12's delete of
# the old g.bmap (its clusters freed, its entry not yet removed), and on
# fat32 between the flush of the whole .tmp and that delete
KILLS=()
[ -n "${FIRST_DEL[fat12]-}" ] && KILLS+=("fat12:${FIRST_DEL[fat12]}")
[ -n "${FIRST_WHOLE[fat32]-}" ] && KILLS+=("fat32:${FIRST_WHOLE[fat32]}")
[ ${#KILLS[@]} = 2 ] || fail "no cut found in the delete of fat12's old g.bmap or after fat32's flush: nothing to kill at"
kpids=()
for kv in "${KILLS[@]}"; do
	v=${kv%%:*} k=${kv##*:}
	d=kill-$v
	mkdir -p $d && cp esp.img $d/ && for u in $VOLS; do cp $u.start.img $d/$u.img; done
	(
		boot_cut "$W/$d" "kill:$k:$W/$d/qemu.pid" $v
		echo "$CUT_RC" >"$W/$d/rc"
	) 2>>"$W/$d.err" &
	kpids+=($!)
done
for p in "${kpids[@]}"; do wait "$p"; done
for kv in "${KILLS[@]}"; do
	v=${kv%%:*} k=${kv##*:}
	d=kill-$v
	f=snap/$v-$(printf %03d $k).img
	if [ "$(cat $d/rc 2>/dev/null)" = 0 ] && grep -q "killed at its stop $k\$" $d/cut.out; then
		a="$(state $d/$v.img)" b="$(state "$f")"
		if [ "$a" = "$b" ] && [ "$(fat_of $d/$v.img)" = "$(fat_of "$f")" ] &&
			[ "$(mdir -b -i $d/$v.img ::o 2>&1)" = "$(mdir -b -i "$f" ::o 2>&1)" ]; then
			pass "$v: QEMU killed at write $k: the volume holds the copy's FAT and files ($a)"
		else
			fail "$v: QEMU killed at write $k: '$a' against the copy's '$b' (or another FAT or listing)"
		fi
		cp $d/$v.img snap/kill-$v.img
	else
		fail "$v: the kill boot at write $k: $(tail -2 $d/cut.out | tr '\n' ' ')"
	fi
done

# -- the repair boot: every distinct state a volume of its own
declare -A SEEN=()
REP=()
for f in snap/*.img cut/fat12.img cut/fat32.img; do
	s=$(sha256_of "$f")
	[ -n "${SEEN[$s]-}" ] && continue
	SEEN[$s]=$f
	REP+=("$f")
done
# eight LUNs a virtio-scsi controller at 0x5, 0x6, ... (OVMF scans LUNs
# 0..7 of target 0 only)
RARGS=()
declare -A WHOLE_TMP=()
i=0
for f in "${REP[@]}"; do
	read -r g t < <(state "$f")
	[ "$t" = new ] && WHOLE_TMP[$i]=1
	cp "$f" rep/$i.img
	[ $((i % 8)) = 0 ] && RARGS+=(-device "virtio-scsi-pci,id=scsi$((i / 8)),addr=$(printf 0x%x $((5 + i / 8)))")
	RARGS+=(-drive "if=none,id=r$i,format=raw,file=$W/rep/$i.img"
		-device "scsi-hd,bus=scsi$((i / 8)).0,scsi-id=0,lun=$((i % 8)),drive=r$i")
	i=$((i + 1))
done
echo "booting OVMF (x86_64) under TCG: bmap onto the ${#REP[@]} distinct states..."
mkdir -p repair
boot_x86_start "$W/repair" "$W/esp.img" "${RARGS[@]}"
wait_for "$W/repair" "any other key to continue" 60 && send_keys ' '
boot_x86_wait "$W/repair"
RL=repair/serial.txt
runs=$(grep -c '^=== fs[0-9]* rc 0x0$' $RL)
[ "$BOOT_RC" = 0 ] && [ "$runs" = ${#REP[@]} ] &&
	pass "repair boot: bmap onto each of the ${#REP[@]} states: 0x0 each (${BOOT_SECONDS} s)" ||
	fail "repair boot: qemu exit $BOOT_RC, $runs of ${#REP[@]} runs 0x0; see $W/repair"
# fsN -> the volume (its controller's slot and LUN), from the shell's map
declare -A FS_OF=()
while read -r fs n; do
	FS_OF[$n]=$fs
done < <(python3 -S -c 'import re, sys
for fs, p, l in re.findall(r"\b(FS\d+): .*\n\s*\S*Pci\((0x[0-9A-Fa-f]+),0x0\)/Scsi\(0x0,(0x[0-9A-Fa-f]+)\)", open(sys.argv[1]).read()):
    print(fs.lower(), (int(p, 16) - 5) * 8 + int(l, 16))' $RL)
bad=0 notes=0 leaked=0
for ((i = 0; i < ${#REP[@]}; i++)); do
	f=rep/$i.img
	st=$(state $f)
	fsck=$(fsck.vfat -n $f 2>&1 | grep -v -e '^fsck.fat' -e 'files, .* clusters$' -e '^Leaving filesystem unchanged' -e '^$')
	# allowed: clusters a cut leaked (allocated, in no file), and FAT32's
	# free count, a hint that may be wrong (FAT spec, FSInfo FSI_Free_Count)
	other=$(grep -v -e '^Reclaimed [0-9]* unused clusters' -e '^Free cluster summary wrong' -e '^ *Auto-correcting' <<<"$fsck")
	[ -n "$fsck" ] && [ -z "$other" ] && leaked=$((leaked + 1))
	fs=${FS_OF[$i]-}
	out=$(out_of $RL "$fs")
	if [ "$st" != "new none" ] || [ -n "$other" ] || [ -z "$fs" ] || [ "$(rc_of $RL "$fs")" != 0x0 ]; then
		bad=$((bad + 1))
		fail "repair of ${REP[$i]} (${fs:-not mapped}): rc $(rc_of $RL "${fs:-none}"), left $st; fsck: $(tr '\n' ' ' <<<"$other" | cut -c1-300)"
	fi
	if [ -n "${WHOLE_TMP[$i]-}" ]; then
		grep -qF "a cut left it whole as" <<<"$out" && notes=$((notes + 1)) ||
			fail "repair of ${REP[$i]} ($fs): a whole g.bmap.tmp, but no note: $out"
	fi
done
[ $bad = 0 ] && pass "repair: each of the ${#REP[@]} volumes ends with g.bmap the host's bytes, no .tmp, no damaged chain (fsck.vfat -n; $leaked with clusters a cut leaked)"
if [ ${#WHOLE_TMP[@]} -gt 0 ] && [ $notes = ${#WHOLE_TMP[@]} ]; then
	pass "repair: the $notes states with a whole g.bmap.tmp say it was renamed first"
elif [ ${#WHOLE_TMP[@]} = 0 ]; then
	fail "repair: no state held a whole g.bmap.tmp (the cuts never reached the delete)"
fi
finish
