#!/usr/bin/env bash
# test_repair.sh - dirty logs: `vhdx convert` reads them through the log
# overlay, `vhdx repair` replays them in place.
#  - the two dirty samples and images made dirty here by killing qemu-io
#    (kill -9) in the middle of a run of allocating writes: our convert of
#    the untouched file equals qemu-img's reading after `qemu-img check -r
#    all` on a copy; our repair (on another copy) gives a file that vhdx
#    check, qemu-img check and 7zz t accept, with the same content (vhdx
#    compare; qemu-img compare and convert); repair -n writes nothing; a
#    second repair has nothing to do and changes nothing;
#  - the replay cut at each of its writes (the fault shim kills the
#    process there), then run again: always the same bytes as an uncut
#    replay (the headers' FileWriteGuid aside: a new one per run);
#  - a deterministic corpus of dirty logs written by vhdx_poke.py dirtylog
#    (several descriptors, none, zero descriptors only, a wrapped ring, 40
#    entries, padded entries, a LogGuid no entry carries, LastFileOffset 4
#    TiB) judged by qemu-img's reading of the model vhdx_poke.py writes
#    (and by qemu-img's own replay where it agrees with the specification);
#  - refusals, exit 2, one line, nothing written: a read-only file, a
#    replay that would be unsafe; what replay does not fix (a broken
#    region table) is reported after it, exit 1.
source "$(dirname "$0")/lib.sh"
need_samples
M=$((1024 * 1024))
POKE="python3 -S $PWD/tests/host/vhdx_poke.py"
SHIM_SRC=$PWD/tests/host/faultshim.c
SAMPLES=$(realpath "$SAMPLES")
KILL_TRIES=${KILL_TRIES:-16}   # qemu-io runs killed at most
KILL_WANT=${KILL_WANT:-2}      # dirty images (with a log to replay) wanted
cd "$T" || exit 2
immutable=()
cleanup() { local f; for f in "${immutable[@]}"; do chattr -i "$f" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
t_start=$(date +%s)

if command -v openssl >/dev/null; then sum256() { openssl dgst -sha256 -r "$1" | cut -c1-64; }
else sum256() { sha256sum <"$1" | cut -c1-64; }; fi
json() { "$VHDX" info --json "$1" 2>/dev/null | python3 -S -c "import json,sys; print(json.load(sys.stdin)$2)"; }
# same_raw A B: equal sizes and bytes (qemu-img compare skips holes in both)
same_raw() {
	[ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] || { echo "sizes $(stat -c %s "$1") and $(stat -c %s "$2")"; return 1; }
	qemu-img compare -q -f raw -F raw "$1" "$2" 2>&1 || { qemu-img compare -f raw -F raw "$1" "$2" 2>&1; return 1; }
}
one_line() { # WHAT RC WANT: exit status and one line on stderr (err.txt)
	if [ "$2" -ne "$3" ]; then bad "$1: exit $2, expected $3: $(head -3 err.txt)"; return 1; fi
	if [ "$(wc -l <err.txt)" -ne 1 ]; then bad "$1: stderr is not one line: $(cat err.txt)"; return 1; fi
	return 0
}
seven_ok() { # IMG: 7zz t without warning or error
	local out
	out=$(7zz t -tvhdx "$1" 2>&1)
	[ $? -eq 0 ] && ! grep -qE 'WARNING|ERROR' <<<"$out" || { grep -E 'WARN|ERR|Error' <<<"$out" | head -2; return 1; }
}

# dirty NAME FILE EXPECT: the whole treatment of one dirty image.
#   EXPECT: replay (repair must replay it), remain:RULE (repair must
#   replay it, then report the checker's RULE, which replay does not fix,
#   and exit 1), or refuse:RULE (repair must refuse it with RULE: the
#   replay would be unsafe)
dirty() {
	local name=$1 img=$2 expect=$3 sum0 rc out
	sum0=$(sum256 "$img")
	[ "$(json "$img" '["log_replay_needed"]')" = True ] && ok "$name: info --json: log_replay_needed" ||
		bad "$name: info --json does not say log_replay_needed"
	# qemu-img's reading: it refuses the dirty file read-only, replays a copy
	cp --sparse=always "$img" q.vhdx
	if qemu-img convert -f vhdx -O raw "$img" q.raw >/dev/null 2>&1; then
		bad "$name: qemu-img reads the dirty file read-only (not dirty?)"
	fi
	if ! out=$(qemu-img check -r all -f vhdx q.vhdx 2>&1) || ! qemu-img convert -f vhdx -O raw q.vhdx q.raw; then
		bad "$name: qemu-img could not replay a copy: $out"; return
	fi
	# our convert of the untouched dirty file
	rm -f our.raw
	"$VHDX" convert -q -O raw "$img" our.raw 2>err.txt
	rc=$?
	if [ $rc -eq 0 ] && why=$(same_raw our.raw q.raw); then
		ok "$name: our convert of the dirty file equals qemu-img's reading after check -r all"
	else
		bad "$name: convert of the dirty file: exit $rc $(cat err.txt) ${why:-}"
	fi
	"$VHDX" compare "$img" q.vhdx >cmp.txt 2>&1 && ok "$name: vhdx compare dirty file vs qemu's replayed copy: 0" ||
		bad "$name: compare with qemu's replay: $(cat cmp.txt)"
	[ "$(sum256 "$img")" = "$sum0" ] && ok "$name: convert, compare and info wrote nothing" || bad "$name: the dirty file changed"
	# repair -n: a plan, nothing written
	cp --sparse=always "$img" r.vhdx
	"$VHDX" repair -n r.vhdx >out.txt 2>err.txt
	rc=$?
	if [ "${expect%%:*}" = refuse ]; then
		local rule=${expect#refuse:}
		one_line "$name: repair -n" $rc 2 && grep -qF "($rule)" err.txt && ok "$name: repair -n refuses with ($rule)" ||
			bad "$name: repair -n: expected exit 2 naming ($rule): $(cat err.txt)"
		"$VHDX" repair r.vhdx >out.txt 2>err.txt
		rc=$?
		one_line "$name: repair" $rc 2 && grep -qF "($rule)" err.txt && ok "$name: repair refuses with the checker's ($rule)" ||
			bad "$name: repair: expected exit 2 naming ($rule), the image being wrong otherwise: $(cat err.txt)"
		[ "$(sum256 r.vhdx)" = "$sum0" ] && ok "$name: the refused repair wrote nothing" || bad "$name: the refused repair wrote"
		echo "  note: $name: repair refuses it by design: besides the log it breaks $rule (the checker's error)"
		return
	fi
	local want_rc=0 rule=
	if [ "${expect%%:*}" = remain ]; then
		want_rc=1 rule=${expect#remain:}
	fi
	if [ $rc -eq $want_rc ] && grep -q "would replay the log" out.txt && [ "$(sum256 r.vhdx)" = "$sum0" ] &&
		{ [ -z "$rule" ] || grep -qF "($rule)" err.txt; }; then
		ok "$name: repair -n says what it would do${rule:+ and that ($rule) would remain}, writes nothing"
	else
		bad "$name: repair -n: exit $rc (expected $want_rc): $(cat out.txt err.txt)"
	fi
	"$VHDX" repair r.vhdx >out.txt 2>err.txt
	rc=$?
	if [ $rc -ne $want_rc ]; then
		bad "$name: repair: exit $rc (expected $want_rc): $(cat out.txt err.txt)"
		return
	fi
	grep -q "replayed the log" out.txt && ok "$name: repair replayed the log" || bad "$name: repair said: $(cat out.txt)"
	if [ -n "$rule" ]; then
		one_line "$name: repair (what remains)" $rc 1 && grep -qF "($rule)" err.txt && grep -qE "remains? that repair does not fix" err.txt &&
			ok "$name: after the replay, repair reports ($rule) as remaining, exit 1" || bad "$name: repair's report: $(cat err.txt)"
		"$VHDX" check r.vhdx >chk.txt 2>&1
		[ $? -eq 1 ] && ! grep '^error' chk.txt | grep -vqF "($rule)" && ! grep -q "(log.replay)" chk.txt &&
			ok "$name: vhdx check after repair: only ($rule) errors, no log.replay" ||
			bad "$name: vhdx check after repair: $(grep -E '^error' chk.txt | head -3)"
	else
		"$VHDX" check r.vhdx >chk.txt 2>&1 && grep -q ": 0 errors" chk.txt && ok "$name: vhdx check after repair: 0 errors" ||
			bad "$name: vhdx check after repair: $(grep -E 'error|warn' chk.txt | head -3)"
	fi
	[ "$($POKE logscan r.vhdx)" = clean ] && [ "$(json r.vhdx '["log_replay_needed"]')" = False ] &&
		ok "$name: LogGuid zero after repair" || bad "$name: LogGuid after repair: $($POKE logscan r.vhdx)"
	out=$(qemu-img check -f vhdx r.vhdx 2>&1) && ok "$name: qemu-img check accepts the repaired file" || bad "$name: qemu-img check: $out"
	out=$(seven_ok r.vhdx) && ok "$name: 7zz t accepts the repaired file" || bad "$name: 7zz t: $out"
	"$VHDX" compare "$img" r.vhdx >cmp.txt 2>&1 && ok "$name: vhdx compare dirty vs repaired: same content" ||
		bad "$name: repaired content differs: $(cat cmp.txt)"
	out=$(qemu-img compare -f vhdx -F vhdx r.vhdx q.vhdx 2>&1) && ok "$name: qemu-img compare: our repair vs qemu's replay" ||
		bad "$name: qemu-img compare of the two replays: $out"
	rm -f r.raw
	qemu-img convert -f vhdx -O raw r.vhdx r.raw && why=$(same_raw r.raw our.raw) &&
		ok "$name: qemu-img convert of the repaired file equals our convert of the dirty one" || bad "$name: $why"
	local sum1
	sum1=$(sum256 r.vhdx)
	"$VHDX" repair r.vhdx >out.txt 2>err.txt
	rc=$?
	[ $rc -eq $want_rc ] && grep -q "nothing to repair" out.txt && [ "$(sum256 r.vhdx)" = "$sum1" ] &&
		ok "$name: a second repair has nothing to do, changes nothing" || bad "$name: second repair: exit $rc $(cat out.txt err.txt)"
	[ "$(sum256 "$img")" = "$sum0" ] && ok "$name: the original untouched" || bad "$name: the original changed"
	rm -f q.vhdx q.raw our.raw r.raw r.vhdx
}

###########################################################################
# the two dirty samples
gzip -dc "$SAMPLES/discutils-vhdx-log-replay.vhdx.gz" >logreplay.vhdx || bad "decompress the DiscUtils log-replay sample"
bzip2 -dc "$SAMPLES/qemu1.6-dirtylog-10G.vhdx.bz2" >qemu16.vhdx || bad "decompress the qemu 1.6 sample"
# read through the overlay, info and check describe it as after replay:
# block 0 FULLY_PRESENT (on disk the BAT is all NOT_PRESENT)
[ "$(json logreplay.vhdx '["block_states"]["fully_present"]')" = 1 ] && ok "info of the dirty DiscUtils image: the BAT after replay (1 block present)" ||
	bad "info block states: $(json logreplay.vhdx '["block_states"]')"
dirty "discutils-vhdx-log-replay" logreplay.vhdx replay
# qemu 1.6 marked its BAT and metadata regions not Required: wrong besides
# the log, but no reason to leave the log unreplayed: replayed, then reported
dirty "qemu1.6-dirtylog-10G" qemu16.vhdx remain:rgn.not_required
echo "  (samples: $(( $(date +%s) - t_start )) s)"

###########################################################################
# dirty images made here: qemu-io killed in the middle of allocating writes
# (each allocation updates the BAT through the log: header LogGuid set, log
# entry written and flushed, BAT written, LogGuid cleared)
t2=$(date +%s)
for i in $(seq 0 1023); do echo "write -P $((i % 250 + 1)) $((i * M + 4096 * (i % 7))) 4k"; done >cmds.txt
tries=0 active=0 clean=0 noseq=0 torn=0
while [ $tries -lt "$KILL_TRIES" ] && [ $active -lt "$KILL_WANT" ]; do
	tries=$((tries + 1))
	k=k$tries.vhdx
	"$VHDX" create -q -b 1M -s 1G "$k"
	qemu-io -f vhdx "$k" <cmds.txt >/dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 5 + 1))$((RANDOM % 10))"   # 0.10 .. 0.59 s: 6 to 40 allocations
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	state=$($POKE logscan "$k")
	case $state in
	clean) clean=$((clean + 1)); rm -f "$k" ;;
	none)
		# LogGuid set, no entry carries it (killed after qemu set the header,
		# before its log entry reached the file): nothing was logged, so
		# nothing applied; read as it stands (as qemu-img does) with a warning
		noseq=$((noseq + 1))
		[ "$(json "$k" '["log_replay_needed"]')" = False ] || bad "kill $tries: info says replay is needed"
		s=$(sum256 "$k")
		"$VHDX" check "$k" >chk.txt 2>&1 && grep -q "(log.guid_unused)" chk.txt &&
			ok "kill $tries: LogGuid without a log entry: check exits 0 with (log.guid_unused)" || bad "kill $tries: check: $(cat chk.txt)"
		"$VHDX" convert -q -O raw "$k" x.raw 2>err.txt && qemu-img convert -f vhdx -O raw "$k" xq.raw 2>&1 &&
			why=$(same_raw x.raw xq.raw) && [ "$(sum256 "$k")" = "$s" ] &&
			ok "kill $tries: LogGuid without a log entry: our convert equals qemu-img's, nothing written" ||
			bad "kill $tries: LogGuid without a log entry: $(cat err.txt) ${why:-}"
		"$VHDX" repair "$k" >out.txt 2>err.txt && grep -q "cleared the LogGuid" out.txt && [ "$($POKE logscan "$k")" = clean ] &&
			qemu-img convert -f vhdx -O raw "$k" xr.raw && why=$(same_raw xr.raw xq.raw) &&
			ok "kill $tries: repair clears the LogGuid, the content unchanged" || bad "kill $tries: repair: $(cat out.txt err.txt) ${why:-}"
		rm -f "$k" x.raw xq.raw xr.raw ;;
	torn)
		# entries carry the LogGuid, none valid (killed while qemu wrote
		# the entry): corrupt by our rule (../shared/docs/VHDX-FORMAT.md,
		# "Entries that carry the LogGuid but fail their checksum or
		# sequence rules: corrupt"; qemu reads it as it stands): refused in
		# one line naming it, exit 2, nothing written, repair too
		torn=$((torn + 1))
		s=$(sum256 "$k")
		"$VHDX" convert -q -O raw "$k" x.raw 2>err.txt; rc=$?
		if one_line "kill $tries: torn entry: convert" $rc 2; then
			grep -q "no valid sequence for its LogGuid" err.txt && [ ! -e x.raw ] &&
				ok "kill $tries: a torn log entry: convert refuses it in one line, exit 2, nothing written" ||
				bad "kill $tries: torn entry: convert: $(cat err.txt)"
		fi
		"$VHDX" repair "$k" >out.txt 2>err.txt; rc=$?
		if one_line "kill $tries: torn entry: repair" $rc 2; then
			grep -q "no valid sequence for its LogGuid" err.txt && [ "$(sum256 "$k")" = "$s" ] &&
				ok "kill $tries: a torn log entry: repair refuses it, the file unchanged" ||
				bad "kill $tries: torn entry: repair: $(cat err.txt)"
		fi
		rm -f "$k" x.raw ;;
	active*)
		active=$((active + 1))
		dirty "qemu-io kill $tries ($state entries)" "$k" replay
		rm -f "$k" ;;
	*) bad "kill $tries: logscan: $state" ;;
	esac
done
echo "  note: qemu-io killed $tries times: $active left a log to replay, $noseq a LogGuid with no log entry yet (read as they stand, as qemu-img does; repair clears the LogGuid), $torn a torn entry (refused), $clean a clean header"
[ $active -gt 0 ] || skipped "no qemu-io kill out of $tries left a log to replay: the dirty-image tests on made images did not run"
echo "  (qemu-io kills: $(( $(date +%s) - t2 )) s)"

###########################################################################
# the replay cut at each write, then run again: the same bytes every time
t3=$(date +%s)
SHIM=$T/faultshim.so
if ! cc -shared -fPIC -O2 -o "$SHIM" "$SHIM_SRC" -ldl 2>err.txt; then
	bad "cannot build the fault shim: $(cat err.txt)"
else
	cp logreplay.vhdx ref.vhdx
	FAULT_REPORT=$T/report.txt FAULT_NOSYNC=1 LD_PRELOAD=$SHIM "$VHDX" repair -q ref.vhdx >/dev/null 2>err.txt
	rc=$?
	calls=$(sed -n 's/writes=\([0-9]*\) flushes=\([0-9]*\) zeros=\([0-9]*\)/\1 \2 \3/p' report.txt 2>/dev/null)
	if [ $rc -ne 0 ] || [ -z "$calls" ]; then
		bad "power-cut simulation could not run: the uncut repair fails (exit $rc): $(cat err.txt)"
	else
		read -r nw nf nz <<<"$calls"
		n=$((nw + nf + nz))
		cuts=0 converged=0 readable=0
		# the bytes outside the two headers' first 4 KiB (FileWriteGuid and the
		# checksum differ per run), and the content
		outside() { { head -c $((64 * 1024)) "$1"; tail -c +$((68 * 1024 + 1)) "$1" | head -c $((60 * 1024)); tail -c +$((132 * 1024 + 1)) "$1"; } | sha256sum | cut -c1-64; }
		want=$(outside ref.vhdx)
		for at in $(seq 1 "$n"); do
			cp logreplay.vhdx cut.vhdx
			# (the shell's "Killed" report goes to /dev/null with the rest)
			rc=$( { FAULT_OP=any FAULT_AT=$at FAULT_MODE=kill FAULT_NOSYNC=1 LD_PRELOAD=$SHIM "$VHDX" repair -q cut.vhdx >/dev/null 2>&1
				echo $?; } 2>/dev/null)
			cuts=$((cuts + 1))
			[ $rc -eq 137 ] || { bad "cut at call $at of $n: the shim did not kill (exit $rc)"; continue; }
			# cut, the image still reads as the replayed disk (log or no log)
			"$VHDX" compare -q cut.vhdx ref.vhdx >cmp.txt 2>&1 && readable=$((readable + 1)) ||
				bad "cut at call $at of $n: before the rerun the disk reads otherwise: $(cat cmp.txt)"
			"$VHDX" repair -q cut.vhdx >out.txt 2>err.txt
			rc=$?
			if [ $rc -eq 0 ] && [ "$(outside cut.vhdx)" = "$want" ] && "$VHDX" check cut.vhdx >/dev/null 2>&1 &&
				[ "$($POKE logscan cut.vhdx)" = clean ] && "$VHDX" compare -q cut.vhdx ref.vhdx >/dev/null; then
				converged=$((converged + 1))
			else
				bad "cut at call $at of $n, run again: exit $rc $(cat err.txt); not the bytes of an uncut replay"
			fi
		done
		[ $readable -eq $cuts ] && [ $cuts -gt 0 ] && ok "replay cut at each of its $n calls: the image reads the same disk before the rerun"
		[ $converged -eq $cuts ] && [ $cuts -gt 0 ] &&
			ok "replay cut at each of its $n calls ($nw writes, $nf flushes, $nz zeroings), run again: the same bytes every time" ||
			bad "power cuts: $converged of $cuts converged"
	fi
fi
echo "  (power cuts: $(( $(date +%s) - t3 )) s)"

###########################################################################
# refusals: exit 2, one line, nothing written
s=$(sum256 logreplay.vhdx)
# a read-only file: root writes through chmod 444, so the file is made
# immutable (chattr +i) where the filesystem allows, and the command is also
# run as nobody (setpriv) on a chmod 444 copy
cp logreplay.vhdx ro.vhdx
chmod 444 ro.vhdx
if [ "$(id -u)" != 0 ]; then
	"$VHDX" repair ro.vhdx >out.txt 2>err.txt
	one_line "repair of a chmod 444 file" $? 2 && grep -q "cannot open for writing" err.txt && [ "$(sum256 ro.vhdx)" = "$s" ] &&
		ok "repair of a chmod 444 file: refused, nothing written" || bad "repair of a read-only file: $(cat err.txt)"
else
	if chattr +i ro.vhdx 2>/dev/null; then
		immutable+=("$T/ro.vhdx")
		"$VHDX" repair ro.vhdx >out.txt 2>err.txt
		one_line "repair of an immutable file (chattr +i)" $? 2 && grep -q "ro.vhdx: cannot open for writing" err.txt && [ "$(sum256 ro.vhdx)" = "$s" ] &&
			ok "repair of an immutable file (chattr +i): refused, one line, nothing written" || bad "repair of an immutable file: $(cat err.txt)"
		"$VHDX" repair -n ro.vhdx >out.txt 2>err.txt
		rc=$?
		[ $rc -eq 0 ] && grep -q "would replay" out.txt && ok "repair -n of an immutable file: it only reads" ||
			bad "repair -n of an immutable file: exit $rc: $(cat out.txt err.txt)"
		chattr -i ro.vhdx
	else
		skipped "repair of an immutable file: chattr +i is refused here"
	fi
	if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
		chmod 755 "$T"
		setpriv --reuid=65534 --regid=65534 --clear-groups "$VHDX" repair ro.vhdx >out.txt 2>err.txt
		one_line "repair of a chmod 444 file as nobody (setpriv)" $? 2 && grep -q "cannot open for writing: Permission denied" err.txt &&
			[ "$(sum256 ro.vhdx)" = "$s" ] && ok "repair of a chmod 444 file as nobody: refused, one line, nothing written" ||
			bad "repair as nobody: $(cat err.txt)"
		chmod 700 "$T"
	else
		skipped "repair as nobody: setpriv cannot change the user here"
	fi
fi
# a broken region table 1 (table 2 intact): the checker's rule, on a clean
# image and on a dirty one (the log does not excuse it; it does not make
# the replay unsafe either: reported as remaining, exit 1)
"$VHDX" create -q -s 64M -b 1M clean.vhdx
for what in clean logreplay; do
	cp $what.vhdx br.vhdx
	printf 'XXXX' | dd of=br.vhdx bs=1 seek=$((192 * 1024)) conv=notrunc status=none
	s=$(sum256 br.vhdx)
	"$VHDX" repair br.vhdx >out.txt 2>err.txt
	rc=$?
	if [ $what = clean ]; then
		one_line "repair of a $what image with a broken region table" $rc 1 && grep -q "(rgn.signature)" err.txt &&
			grep -q "nothing to repair: the log is empty$" out.txt && [ "$(sum256 br.vhdx)" = "$s" ] &&
			ok "repair of a $what image with a broken region table: nothing to replay, (rgn.signature) remains, exit 1, nothing written" ||
			bad "repair of a $what image with a broken region table: exit $rc: $(cat out.txt err.txt)"
	else
		one_line "repair of a $what image with a broken region table" $rc 1 && grep -q "(rgn.signature)" err.txt &&
			grep -q "replayed the log" out.txt && [ "$($POKE logscan br.vhdx 2>/dev/null)" != active ] &&
			ok "repair of a $what image with a broken region table: replayed, (rgn.signature) remains, exit 1" ||
			bad "repair of a $what image with a broken region table: exit $rc: $(cat out.txt err.txt)"
	fi
done

###########################################################################
# a deterministic corpus of dirty logs (vhdx_poke.py dirtylog writes the log
# and, independently of vhdx, the file as replay must leave it: MODEL).
# The oracle is qemu-img's reading of MODEL; where qemu-img's own replay
# (check -r all on a copy) gives the same disk it is checked too.  qemu
# disagrees with the specification on two cases, so there MODEL alone
# judges: zerodesc (qemu extends the file to the last sector written, not
# to LastFileOffset: its replayed copy has a block past the file's end),
# wrap (qemu's replay leaves out the entry before the wrapping one),
# padded2 (qemu's replay of two padded entries in a row fails).
t4=$(date +%s)
same_but_headers() { # A B: the same size and bytes outside the two header sectors
	python3 -S - "$1" "$2" <<'PY'
import sys
a, b = (open(p, 'rb').read() for p in sys.argv[1:3])
hdr = lambda o: 64 << 10 <= o < (64 << 10) + 4096 or 128 << 10 <= o < (128 << 10) + 4096
bad = [o for o in range(0, max(len(a), len(b)), 4096) if not hdr(o) and a[o:o + 4096] != b[o:o + 4096]]
print('sizes %d and %d' % (len(a), len(b)) if len(a) != len(b) else 'sector at %#x differs' % bad[0] if bad else '')
sys.exit(1 if len(a) != len(b) or bad else 0)
PY
}
for c in multi zerodesc wrap long padded padded2 orphan; do
	rm -f d.vhdx m.vhdx m.raw q.raw o.raw r.raw
	"$VHDX" create -q -b 1M -s 64M d.vhdx
	$POKE dirtylog d.vhdx m.vhdx $c >/dev/null || { bad "corpus $c: dirtylog failed"; continue; }
	qemu-img convert -f vhdx -O raw m.vhdx m.raw || { bad "corpus $c: qemu-img cannot read the model"; continue; }
	case $c in
	multi|long|padded|orphan)
		cp d.vhdx q.vhdx
		out=$(qemu-img check -r all -f vhdx q.vhdx 2>&1) && qemu-img convert -f vhdx -O raw q.vhdx q.raw && why=$(same_raw q.raw m.raw) &&
			ok "corpus $c: qemu-img's replay of a copy reads as the model" || bad "corpus $c: qemu-img's replay vs the model: $out ${why:-}" ;;
	esac
	s=$(sum256 d.vhdx)
	"$VHDX" check d.vhdx >chk.txt 2>&1
	rc=$?
	if [ $c = orphan ]; then
		[ $rc -eq 0 ] && grep -q "(log.guid_unused)" chk.txt && ok "corpus $c: check exits 0, warns (log.guid_unused)" ||
			bad "corpus $c: check exit $rc: $(grep -E '^(error|warn)' chk.txt | head -2)"
	else
		[ $rc -eq 1 ] && grep -q "(log.replay)" chk.txt && ! grep -q "(log.corrupt)" chk.txt &&
			ok "corpus $c: check: replay pending (log.replay), the log sound" || bad "corpus $c: check exit $rc: $(grep -E '^error' chk.txt | head -2)"
	fi
	"$VHDX" convert -q -O raw d.vhdx o.raw 2>err.txt && why=$(same_raw o.raw m.raw) && [ "$(sum256 d.vhdx)" = "$s" ] &&
		ok "corpus $c: our convert of the dirty file equals qemu-img's reading of the model" || bad "corpus $c: convert: $(cat err.txt) ${why:-}"
	cp --sparse=always d.vhdx r.vhdx
	"$VHDX" repair r.vhdx >out.txt 2>err.txt
	rc=$?
	if [ $rc -eq 0 ] && [ "$($POKE logscan r.vhdx)" = clean ] && why=$(same_but_headers r.vhdx m.vhdx); then
		ok "corpus $c: repair: LogGuid zero, every other byte as the model: $(head -c 90 out.txt)"
	else
		bad "corpus $c: repair: exit $rc $(cat out.txt err.txt) ${why:-}"
	fi
	qemu-img convert -f vhdx -O raw r.vhdx r.raw && why=$(same_raw r.raw m.raw) && out=$(qemu-img check -f vhdx r.vhdx 2>&1) &&
		ok "corpus $c: qemu-img checks the repaired file and reads it as the model" || bad "corpus $c: the repaired file: $out ${why:-}"
	"$VHDX" check r.vhdx >chk.txt 2>&1 && grep -q ": 0 errors, 0 warnings" chk.txt && ok "corpus $c: check after repair: clean" ||
		bad "corpus $c: check after repair: $(tail -1 chk.txt)"
	s=$(sum256 r.vhdx)
	"$VHDX" repair r.vhdx >out.txt 2>err.txt && grep -q "nothing to repair" out.txt && [ "$(sum256 r.vhdx)" = "$s" ] &&
		ok "corpus $c: a second repair has nothing to do" || bad "corpus $c: second repair: $(cat out.txt err.txt)"
done
# LastFileOffset 4 TiB: check names it (log.corrupt), repair and convert
# refuse, nothing written, the file not grown
rm -f d.vhdx m.vhdx
"$VHDX" create -q -b 1M -s 64M d.vhdx
$POKE dirtylog d.vhdx m.vhdx last4t >/dev/null
s=$(sum256 d.vhdx) size0=$(stat -c %s d.vhdx)
"$VHDX" check d.vhdx >chk.txt 2>&1
[ $? -eq 1 ] && grep -q "(log.corrupt)" chk.txt && grep -q "LastFileOffset" chk.txt &&
	ok "corpus last4t: check reports LastFileOffset 4 TiB as an error (log.corrupt)" || bad "corpus last4t: check: $(cat chk.txt)"
"$VHDX" repair d.vhdx >out.txt 2>err.txt
one_line "corpus last4t: repair" $? 2 && grep -q "LastFileOffset" err.txt && [ "$(sum256 d.vhdx)" = "$s" ] &&
	[ "$(stat -c %s d.vhdx)" = "$size0" ] && ok "corpus last4t: repair refuses, one line, nothing written, not grown" ||
	bad "corpus last4t: repair: $(cat out.txt err.txt) size $(stat -c %s d.vhdx)"
"$VHDX" convert -q -O raw d.vhdx o4.raw 2>err.txt
one_line "corpus last4t: convert" $? 2 && [ ! -e o4.raw ] && ok "corpus last4t: convert refuses" || bad "corpus last4t: convert: $(cat err.txt)"
rm -f d.vhdx m.vhdx m.raw q.raw q.vhdx o.raw r.raw r.vhdx
echo "  (corpus: $(( $(date +%s) - t4 )) s)"
s=$(sum256 clean.vhdx)
"$VHDX" repair clean.vhdx >out.txt 2>err.txt
[ $? -eq 0 ] && grep -q "nothing to repair" out.txt && [ "$(sum256 clean.vhdx)" = "$s" ] && ok "repair of a clean image: nothing to do, nothing written" ||
	bad "repair of a clean image: $(cat out.txt err.txt)"
# a child whose parent was replaced by another image: check exits 1
# (parent.mismatch); repair has no log to replay and says only that, not
# that the image checks clean
"$VHDX" create -q -s 64M -b 1M base.vhdx && "$VHDX" create -q -t differencing --parent base.vhdx child.vhdx &&
	rm -f base.vhdx && "$VHDX" create -q -s 64M -b 1M base.vhdx
"$VHDX" check child.vhdx >chk.txt 2>&1
crc=$?
s=$(sum256 child.vhdx)
"$VHDX" repair child.vhdx >out.txt 2>err.txt
rc=$?
[ $crc -eq 1 ] && [ $rc -eq 0 ] && grep -q "nothing to repair: the log is empty (its parent chain is not repair's" out.txt &&
	! grep -q "checks clean" out.txt && [ "$(sum256 child.vhdx)" = "$s" ] &&
	grep -q "(parent.mismatch)" chk.txt &&
	ok "repair of a child with a broken chain: says the log is empty and that the chain is not its to check (check exits 1)" ||
	bad "repair of a child with a broken chain: check exit $crc, repair exit $rc: $(cat out.txt err.txt)"
head -c $((4 * M)) /dev/urandom >junk.bin
s=$(sum256 junk.bin)
"$VHDX" repair junk.bin >out.txt 2>err.txt
one_line "repair of a file that is not a VHDX" $? 2 && [ "$(sum256 junk.bin)" = "$s" ] && ok "repair of a non-VHDX: refused, nothing written" ||
	bad "repair of junk: $(cat err.txt)"
"$VHDX" repair missing.vhdx >out.txt 2>err.txt
one_line "repair of a missing file" $? 2 && grep -q missing.vhdx err.txt && [ ! -e missing.vhdx ] && ok "repair of a missing file: refused, not created" ||
	bad "repair of a missing file: $(cat err.txt)"
echo "  (total $(( $(date +%s) - t_start )) s)"
finish
