#!/bin/bash
# tests/efi/bmapcut.sh - issue 21: power cuts of vhdx.efi's `bmap IMAGE
# OUT.bmap` (efi/efi_bmap.c: OUT.bmap.tmp written whole and flushed, the
# old OUT.bmap deleted, the temporary renamed) made by QEMU itself, at
# every write request the run makes to the volume, under OVMF (x86_64,
# TCG) and its FAT driver.
#
# The volumes: FAT12 (1 MiB) and FAT32 (33 MiB), 512-byte clusters (the
# manifests span 6 and 7 clusters), and FAT16 (20 MiB), 4 KiB clusters
# (one each), each holding an old \o\g.bmap (the host's bmap
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
#   fflush boot  not a cut: on fat32 the write request that completes the
#              whole .tmp in the final Flush (the one before the first cut
#              that leaves it whole) fails once with EIO, reported to the
#              firmware (no werror=stop): bmap says "write failed", 0x7;
#              then no g.bmap.tmp is left (verify --bmap of it: 0x2; mtools)
#              and g.bmap is still the old manifest (verify of o.vhdx: 0x0);
#              the next bmap, in a boot of its own (after a disk error EDK
#              II's FAT driver allocates nothing on that volume until it is
#              mounted again: "Volume Full"), 0x0 with no note of a whole
#              .tmp renamed first.  (The same without efi_bmap_discard:
#              the Delete after a failed Flush deletes; only a cut in it
#              could leave a whole .tmp: fcut.)
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
VOLS="fat12 fat32 fat16"
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
	rm -f fat12.img fat32.img fat16.img
	mkfs.vfat -s 1 -C fat12.img 1024 >/dev/null && mkfs.vfat -F 32 -s 1 -C fat32.img 33792 >/dev/null &&
		mkfs.vfat -F 16 -s 8 -C fat16.img 20480 >/dev/null || return 1
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
# DIR/VOL.img, virtio at 0x5, 0x6, 0x7), the QMP socket and the pid file
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

# nsh_on_o NSH TAG:ARGS...: a startup.nsh that runs `vhdx.efi ARGS` for
# each TAG on the volume holding \o (fs%i: in ARGS; %esp%: the ESP)
nsh_on_o() {
	local f=$1 r
	shift
	{
		printf '%s\n' '@echo -off' 'connect -r' 'map -r' 'for %i run (0 63)' '  if exist fs%i:\vhdx.efi then' \
			'    fs%i:' '    set esp fs%i' '  endif' 'endfor' 'for %i run (0 63)' '  if exist fs%i:\o then'
		for r in "$@"; do
			printf '    echo "=== %s begin"\n    vhdx.efi %s\n    echo "=== %s rc %%lasterror%%"\n' \
				"${r%%:*}" "${r#*:}" "${r%%:*}"
		done
		printf '%s\n' '  endif' 'endfor' 'reset -s'
	} | sed 's/$/\r/' >"$f"
}

echo "booting OVMF (x86_64) under TCG: bmap onto three volumes, stopped at each write..."
mkdir -p cut && cp esp.img cut/ && for v in $VOLS; do cp $v.start.img cut/$v.img; done
boot_cut "$W/cut" snap
cp cut/serial.txt serial.txt
runs=$(grep -c '^=== fs[0-9]* rc 0x0$' serial.txt)
nvols=$(wc -w <<<"$VOLS")
if [ $CUT_RC = 0 ] && [ "$runs" = $nvols ]; then
	pass "cut boot: bmap onto the $nvols volumes, 0x0 each, the VM stopped at every write (${BOOT_SECONDS} s)"
else
	fail "cut boot: cutqmp exit $CUT_RC, $runs runs 0x0 (of $nvols): $(tail -3 cut/cut.out | tr '\n' ' '); see $W/cut"
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

# -- a failed Flush, not a cut (see the head): fat32's write request W, the
# last before the first cut that found a whole g.bmap.tmp, fails once
# (blkdebug in state W; each write request moves the state on by one)
if [ -n "${FIRST_WHOLE[fat32]-}" ] && [ "${FIRST_WHOLE[fat32]}" -gt 1 ]; then
	fw=$((FIRST_WHOLE[fat32] - 1))
	python3 -S -c 'import sys
w = int(sys.argv[1])
f = open(sys.argv[2], "w")
for k in range(1, w + 1):
    if k == w:
        f.write("[inject-error]\nevent = \"pwritev\"\nstate = \"%d\"\niotype = \"write\"\nerrno = \"5\"\nonce = \"on\"\nimmediately = \"on\"\n\n" % k)
    f.write("[set-state]\nevent = \"pwritev\"\nstate = \"%d\"\nnew_state = \"%d\"\n\n" % (k, k + 1))' $fw "$W/fflush.conf"
	mkdir -p fflush && cp fat32.start.img fflush/fat32.img
	nsh_on_o fflush/startup.nsh 'fbmap:bmap %esp%:\g.vhdx fs%i:\o\g.bmap' \
		'ftmp:verify --bmap fs%i:\o\g.bmap.tmp %esp%:\g.vhdx' 'fold:verify --bmap fs%i:\o\g.bmap %esp%:\o.vhdx'
	echo "booting OVMF (x86_64) under TCG: bmap onto fat32 with its write $fw failing once (the final Flush)..."
	{ make_esp fflush/esp.img "$APP" fflush/startup.nsh && mcopy -i fflush/esp.img g.vhdx o.vhdx ::; } ||
		{ fail "fflush: cannot build the ESP"; finish; }
	boot_x86_start "$W/fflush" "$W/fflush/esp.img" \
		-blockdev "driver=blkdebug,node-name=ff-dbg,config=$W/fflush.conf,image.driver=file,image.filename=$W/fflush/fat32.img" \
		-blockdev "driver=raw,node-name=ff,file=ff-dbg" -device "virtio-blk-pci,drive=ff,addr=0x5"
	wait_for "$W/fflush" "any other key to continue" 60 && send_keys ' '
	boot_x86_wait "$W/fflush"
	FL=fflush/serial.txt
	[ "$BOOT_RC" = 0 ] && grep -q '^=== fold rc' $FL && pass "fflush boot: ran to the end (${BOOT_SECONDS} s)" ||
		fail "fflush boot: qemu exit $BOOT_RC; see $W/fflush"
	expect fbmap 0x7 "fflush: bmap whose final Flush fails (fat32 write $fw, EIO once)" "g.bmap.tmp: write failed" $FL
	expect ftmp 0x2 "fflush: no whole g.bmap.tmp left after the failed Flush (verify --bmap of it refused)" "" $FL
	expect fold 0x0 "fflush: g.bmap is still the old manifest (verify of o.vhdx against it)" "matches" $FL
	[ "$(state fflush/fat32.img)" = "old none" ] && pass "fflush: the volume holds the old g.bmap and no g.bmap.tmp" ||
		fail "fflush: the volume holds $(state fflush/fat32.img) (g.bmap, g.bmap.tmp), not 'old none'"
	# the next run, in a boot of its own: after a disk error EDK II's FAT
	# driver allocates no cluster on that volume until it is mounted again
	# (Volume->DiskError: "Volume Full")
	mkdir -p fnext && cp fflush/fat32.img fnext/fat32.img
	nsh_on_o fnext/startup.nsh 'fnext:bmap %esp%:\g.vhdx fs%i:\o\g.bmap'
	{ make_esp fnext/esp.img "$APP" fnext/startup.nsh && mcopy -i fnext/esp.img g.vhdx ::; } ||
		{ fail "fnext: cannot build the ESP"; finish; }
	boot_x86_start "$W/fnext" "$W/fnext/esp.img" \
		-drive "if=none,id=fn,format=raw,file=$W/fnext/fat32.img" -device "virtio-blk-pci,drive=fn,addr=0x5"
	wait_for "$W/fnext" "any other key to continue" 60 && send_keys ' '
	boot_x86_wait "$W/fnext"
	expect fnext 0x0 "fflush: the next bmap, a boot later" "g.bmap: " fnext/serial.txt
	out_of fnext/serial.txt fnext | grep -qF "a cut left it whole" &&
		fail "fflush: the next bmap renamed a whole .tmp the failed Flush left: $(out_of fnext/serial.txt fnext | grep -F note)" ||
		pass "fflush: the next bmap found no whole .tmp to rename first"
	[ "$(state fnext/fat32.img)" = "new none" ] && pass "fflush: the end: g.bmap the host's bytes, no .tmp" ||
		fail "fflush: the end holds $(state fnext/fat32.img)"
else
	fail "fflush: no cut of fat32 found a whole g.bmap.tmp: no write to fail"
fi

# -- a failed Flush with the whole .tmp on the disk, then a cut: on fat16
# (4 KiB clusters: the .tmp is one cluster, so its entry over a freed
# cluster still reads whole in EDK II, which follows no chain for it) the
# disk's flush after write W (the last before the first cut that found a
# whole g.bmap.tmp: the final Flush's pages landed) fails once (EIO,
# reported), then write j after it and every one after fail (EIO,
# reported: nothing more lands, what a cut there leaves), j = 1, 2, ...
# until the run's end lands whole (no .tmp: it was deleted), at most
# FCUTS; each state is a volume of the repair boot
FCUTS=10
if [ -n "${FIRST_WHOLE[fat16]-}" ] && [ "${FIRST_WHOLE[fat16]}" -gt 1 ]; then
	fw=$((FIRST_WHOLE[fat16] - 1))
	mkdir -p fcut
	nsh_on_o fcut/startup.nsh 'fc:bmap %esp%:\g.vhdx fs%i:\o\g.bmap'
	{ make_esp fcut/esp.img "$APP" fcut/startup.nsh && mcopy -i fcut/esp.img g.vhdx ::; } ||
		{ fail "fcut: cannot build the ESP"; finish; }
	echo "booting OVMF (x86_64) under TCG $FCUTS times: bmap onto fat16, its flush after write $fw failing, cut at each write after..."
	hit=0
	for ((j = 1; j <= FCUTS; j++)); do
		d=fcut/$j
		mkdir -p $d && cp fcut/esp.img $d/ && cp fat16.start.img $d/fat16.img
		python3 -S -c 'import sys
w, j = int(sys.argv[1]), int(sys.argv[2])
f = open(sys.argv[3], "w")
def rule(kind, event, state, extra):
    f.write("[%s]\nevent = \"%s\"\nstate = \"%d\"\n%s\n" % (kind, event, state, extra))
for k in range(1, w + 1):
    rule("set-state", "pwritev", k, "new_state = \"%d\"\n" % (k + 1))
err = "iotype = \"%s\"\nerrno = \"5\"\nonce = \"%s\"\nimmediately = \"on\"\n"
rule("inject-error", "flush_to_disk", w + 1, err % ("flush", "on"))
rule("set-state", "flush_to_disk", w + 1, "new_state = \"1001\"\n")
for m in range(1, j):
    rule("set-state", "pwritev", 1000 + m, "new_state = \"%d\"\n" % (1001 + m))
rule("inject-error", "pwritev", 1000 + j, err % ("write", "off"))' $fw $j "$W/$d/cut.conf"
		boot_x86_start "$W/$d" "$W/$d/esp.img" \
			-blockdev "driver=blkdebug,node-name=fc-dbg,config=$W/$d/cut.conf,image.driver=file,image.filename=$W/$d/fat16.img" \
			-blockdev "driver=raw,node-name=fc,file=fc-dbg" -device "virtio-blk-pci,drive=fc,addr=0x5"
		wait_for "$W/$d" "any other key to continue" 60 && send_keys ' '
		boot_x86_wait "$W/$d"
		out_of $d/serial.txt fc | grep -qF 'g.bmap.tmp: write failed: Device Error' && [ "$(rc_of $d/serial.txt fc)" = 0x7 ] &&
			hit=$((hit + 1))
		cp $d/fat16.img snap/fcut-$(printf %02d $j).img
		read -r g t < <(state $d/fat16.img)
		[ "$t" = none ] && break
	done
	[ $j -le $FCUTS ] && [ $hit = $j ] &&
		pass "fcut: in each of the $j boots the flush after fat16's write $fw failed (0x7, 'write failed: Device Error'); $((j - 1)) writes after it land the run's delete of the .tmp" ||
		fail "fcut: the failed flush hit in $hit of $j boots, the run's end reached: $([ $j -le $FCUTS ] && echo yes || echo no); see $W/fcut"
else
	fail "fcut: no cut of fat16 found a whole g.bmap.tmp: no flush to fail"
fi
# dangerous STATE: its g.bmap.tmp's entry is over a free cluster (what the
# delete of a whole .tmp cut between its FAT and its entry leaves)
dangerous() {
	fsck.vfat -n "$1" 2>/dev/null | grep -A1 -F 'g.bmap.tmp' | grep -qF 'Contains a free cluster'
}

# -- the repair boot: every distinct state a volume of its own
declare -A SEEN=()
REP=()
for f in snap/*.img cut/fat12.img cut/fat32.img cut/fat16.img; do
	s=$(sha256_of "$f")
	[ -n "${SEEN[$s]-}" ] && continue
	SEEN[$s]=$f
	REP+=("$f")
done
# eight LUNs a virtio-scsi controller at 0x5, 0x6, ... (OVMF scans LUNs
# 0..7 of target 0 only)
RARGS=()
declare -A WHOLE_TMP=() DANGER=()
i=0
for f in "${REP[@]}"; do
	read -r g t < <(state "$f")
	[ "$t" = new ] && WHOLE_TMP[$i]=1
	dangerous "$f" && DANGER[$i]=1
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
bad=0 notes=0 leaked=0 drenamed=0
for ((i = 0; i < ${#REP[@]}; i++)); do
	f=rep/$i.img
	st=$(state $f)
	fsck=$(fsck.vfat -n $f 2>&1 | grep -v -e '^fsck.fat' -e 'files, .* clusters$' -e '^Leaving filesystem unchanged' -e '^$')
	# allowed: clusters a cut leaked (allocated, in no file), and FAT32's
	# free count, a hint that may be wrong (FAT spec, FSInfo FSI_Free_Count)
	other=$(grep -v -e '^Reclaimed [0-9]* unused clusters\?' -e '^Free cluster summary wrong' -e '^ *Auto-correcting' <<<"$fsck")
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
	# a .tmp over a freed cluster is never renamed over g.bmap (its
	# clusters would be the next .tmp's)
	if [ -n "${DANGER[$i]-}" ] && grep -qF "a cut left it whole as" <<<"$out"; then
		drenamed=$((drenamed + 1))
		fail "repair of ${REP[$i]} ($fs): renamed a g.bmap.tmp whose entry lies over a freed cluster: $out"
	fi
done
n=0
for i in "${!DANGER[@]}"; do case ${REP[$i]} in snap/fcut-*) n=$((n + 1)) ;; esac; done
[ $n -gt 0 ] && [ $drenamed = 0 ] && pass "fcut: $n states with g.bmap.tmp's entry over a freed cluster (a cut in its delete after the failed flush), none renamed over g.bmap (of ${#DANGER[@]} such states in all)" ||
	[ $n -gt 0 ] || fail "fcut: no state with g.bmap.tmp's entry over a freed cluster: the cuts never fell in the delete"
[ $bad = 0 ] && pass "repair: each of the ${#REP[@]} volumes ends with g.bmap the host's bytes, no .tmp, no damaged chain (fsck.vfat -n; $leaked with clusters a cut leaked)"
if [ ${#WHOLE_TMP[@]} -gt 0 ] && [ $notes = ${#WHOLE_TMP[@]} ]; then
	pass "repair: the $notes states with a whole g.bmap.tmp say it was renamed first"
elif [ ${#WHOLE_TMP[@]} = 0 ]; then
	fail "repair: no state held a whole g.bmap.tmp (the cuts never reached the delete)"
fi
finish
