#!/usr/bin/env bash
# test_bmap_deploy.sh - convert --bmap (issue 21): a verified deploy.  Our
# bmap and bmaptool create's bmap of qemu-img's raw each deploy the image
# to exactly the raw qemu-img makes (and bmaptool copy of the same bmap
# gives the same bytes); tampering with the image, the bmap, its checksums
# or the pin is refused with the right exit status and one line, the target
# untouched when refused before writing, its first MiB zero when a range
# stops the deploy; --resume after a deploy cut at several points (the
# fault shim failing the Nth write, or killing the tool there) gives the
# identical disk with fewer bytes written (counted by --json).
source "$(dirname "$0")/lib.sh"
source tests/bmap_lib.sh # (lib.sh has cd to the repository)
need bmaptool sha256sum
M=$((1024 * 1024))
SHIM=$(realpath -m "$BUILD")/tests/faultshim.so
mkdir -p "$BUILD/tests"
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" tests/host/faultshim.c -ldl ||
	{ bad "cannot build the fault shim"; finish; exit 1; }
need_samples
SAMPLES=$(cd "$SAMPLES" && pwd)
cd "$T" || exit 2
export FAULT_NOSYNC=1 # flushes counted, not done: the tests read through the same page cache

sum() { sha256_of "$1"; }
# json FILE KEY: a number or string of the --json object
json() { json_key "$2" <"$1"; }
# expect WHAT RC FRAGMENT -- ARGS: vhdx ARGS exits RC with one line (stdout
# and stderr) holding FRAGMENT
expect() {
	local what=$1 rc=$2 frag=$3 st
	shift 4
	"$VHDX" "$@" >out.txt 2>&1
	st=$?
	[ $st -eq "$rc" ] && ok "$what: exit $rc" || bad "$what: exit $st, expected $rc: $(head -3 out.txt)"
	[ "$(wc -l <out.txt)" -eq 1 ] && ok "$what: one line" || bad "$what: not one line: $(head -3 out.txt)"
	grep -qF -- "$frag" out.txt && ok "$what: says '$frag'" || bad "$what: no '$frag' in: $(cat out.txt)"
}
# old_target: a file of 12 MiB of old data (random), replaced by each deploy
old_target() { head -c $((12 * M)) /dev/urandom >tgt.raw; }
untouched() {
	[ "$(sum tgt.raw)" = "$1" ] && ok "$2: the target untouched" || bad "$2: the target changed"
}
head_zero() {
	cmp -s -n $M tgt.raw /dev/zero && ok "$1: the target's first MiB is zero" ||
		bad "$1: the target's first MiB is not zero"
}

# -- the image: win10-fixed-10M (payload contiguous from file offset 4 MiB)
gzip -dc "$SAMPLES/win10-fixed-10M.vhdx.gz" >img.vhdx || bad "unpacking the sample"
img=img.vhdx
img_sum=$(sum $img)
qemu-img convert -f vhdx -O raw $img q.raw || bad "qemu-img convert"
"$VHDX" bmap $img ours.bmap >/dev/null || bad "vhdx bmap"
ranges=$(grep -c "</Range>" ours.bmap)

# -- good deploys: a new file, an old file (-f), --json
"$VHDX" convert --bmap ours.bmap $img new.raw >out.txt 2>&1 && ok "our bmap: deploy to a new file" ||
	bad "our bmap: deploy to a new file: $(tail -2 out.txt)"
cmp -s new.raw q.raw && ok "our bmap: the new file equals qemu-img's raw" || bad "our bmap: the new file differs"
grep -q "^  checks         every range read, hashed and compared before it is written" out.txt &&
	ok "our bmap: the plan says every range is checked before it is written" ||
	bad "our bmap: the plan's checks line: $(grep checks out.txt)"
old_target
"$VHDX" convert -f --json --bmap ours.bmap $img tgt.raw >full.json 2>err.txt && ok "our bmap: deploy onto old data" ||
	bad "our bmap: deploy onto old data: $(cat err.txt)"
cmp -s tgt.raw q.raw && ok "our bmap: the old file equals qemu-img's raw" ||
	bad "our bmap: the old file differs: $(cmp tgt.raw q.raw 2>&1 | head -1)"
[ "$(wc -l <full.json)" -eq 1 ] && [ "$(json full.json result)" = ok ] &&
	[ "$(json full.json bmap.ranges)" = "$ranges" ] && [ "$(json full.json bmap.checked_before_write)" = "$ranges" ] &&
	[ "$(json full.json bmap.sha256)" = "$(sum ours.bmap)" ] && [ "$(json full.json bmap.failed_range)" = None ] &&
	ok "--json: one object, result ok, $ranges ranges checked before writing, the manifest's sha256" ||
	bad "--json: $(cat full.json)"
full_written=$(json full.json bytes_written)
"$VHDX" convert --json $img plain.raw >plain.json 2>&1 && [ "$(json plain.json bmap)" = None ] &&
	ok "--json without --bmap: \"bmap\": null" || bad "--json without --bmap: $(cat plain.json)"
"$VHDX" convert -q --bmap ours.bmap --bmap-sha256 "$(sum ours.bmap | tr a-f A-F)" $img pinned.raw >out.txt 2>&1 &&
	cmp -s pinned.raw q.raw && ok "the right --bmap-sha256 (upper case): deployed" || bad "the right pin: $(cat out.txt)"
"$VHDX" verify --bmap ours.bmap --bmap-sha256 "$(sum ours.bmap)" new.raw >out.txt 2>&1 &&
	ok "verify --bmap-sha256, the right one" || bad "verify --bmap-sha256: $(cat out.txt)"
expect "verify --bmap-sha256, a wrong one" 2 "not the --bmap-sha256 given" -- verify --bmap ours.bmap --bmap-sha256 "$(printf '%064d' 7)" new.raw
# the core's own SHA-256 in place of libcrypto's: the same deploy
VHDX_SHA256=core "$VHDX" convert -q --bmap ours.bmap $img core.raw >out.txt 2>&1 && cmp -s core.raw q.raw &&
	ok "the core's own SHA-256 (VHDX_SHA256=core): the same deploy" || bad "VHDX_SHA256=core: $(cat out.txt)"
cp $img flipped.vhdx
flip_byte flipped.vhdx $((4 * M + 65536 + 100))
VHDX_SHA256=core "$VHDX" convert -q --bmap ours.bmap flipped.vhdx core2.raw >out.txt 2>&1
[ $? = 1 ] && grep -q "does not match ours.bmap" out.txt && ok "the core's own SHA-256: a flipped byte found" ||
	bad "VHDX_SHA256=core, a flipped byte: $(cat out.txt)"

# -- every other range hashed on a second CPU (libcrypto's, on a thread):
# a flipped byte in a range hashed there (256-511, the first of the body)
# and in one hashed in place while the one before is hashed beside
# (512-616): refused, the bad range's bytes on the old target unchanged, the
# first MiB zero (writes queued but not begun are dropped after a failure:
# the range before may or may not be written); VHDX_SHA256=serial (one
# CPU): the same
for blk in 300 550; do
	cp $img flip2.vhdx
	flip_byte flip2.vhdx $((4 * M + blk * 4096 + 100))
	for how in beside serial; do
		old_target
		cp tgt.raw old.raw
		env $([ $how = serial ] && echo VHDX_SHA256=serial) "$VHDX" convert -q -f --bmap ours.bmap flip2.vhdx tgt.raw >out.txt 2>&1
		st=$?
		bad_first=$([ $blk = 300 ] && echo 256 || echo 512)
		[ $st = 1 ] && grep -q "range $bad_first-[0-9]* (bytes .*) does not match ours.bmap: .*(checked before it was written: not written)" out.txt &&
			ok "$how, byte flipped in block $blk: range $bad_first refused before it was written" ||
			bad "$how, byte flipped in block $blk: exit $st: $(cat out.txt)"
		head_zero "$how, block $blk"
		cmp -s <(tail -c +$((bad_first * 4096 + 1)) tgt.raw | head -c $((256 * 4096))) \
			<(tail -c +$((bad_first * 4096 + 1)) old.raw | head -c $((256 * 4096))) &&
			ok "$how, block $blk: the bad range's bytes on the target as they were" ||
			bad "$how, block $blk: the bad range's bytes changed"
	done
done

# -- the writer thread's writes: with O_DIRECT through a second descriptor
# (counted by the shim), else buffered: where the target takes no O_DIRECT
# open, or refuses a direct write (EINVAL, its alignment); the same bytes
for nd in none open write; do
	rm -f nd.raw report
	env FAULT_NODIRECT=$nd FAULT_REPORT="$T/report" LD_PRELOAD="$SHIM" "$VHDX" convert -q --bmap ours.bmap $img nd.raw \
		>out.txt 2>&1
	st=$?
	direct=$(sed -n 's/^direct=//p' report)
	[ $st = 0 ] && cmp -s nd.raw q.raw && ok "O_DIRECT refused at $nd: the deploy equals qemu-img's raw" ||
		bad "O_DIRECT refused at $nd: exit $st: $(cat out.txt)"
	if [ $nd = none ]; then
		[ "${direct:-0}" -gt 0 ] && ok "O_DIRECT: $direct of the writes made direct" ||
			bad "O_DIRECT: no write made direct (report: $(tr '\n' ' ' <report))"
	else
		[ "$direct" = 0 ] && ok "O_DIRECT refused at $nd: every write buffered" ||
			bad "O_DIRECT refused at $nd: $direct direct writes"
	fi
done

# -- bmaptool create's bmap of the raw: long ranges, checked after writing
bmaptool create q.raw -o theirs.bmap 2>/dev/null || bad "bmaptool create"
"$VHDX" convert --json --bmap theirs.bmap $img theirs.raw >theirs.json 2>err.txt &&
	ok "bmaptool's bmap: deployed" || bad "bmaptool's bmap: $(cat err.txt)"
cmp -s theirs.raw q.raw && ok "bmaptool's bmap: the file equals qemu-img's raw" || bad "bmaptool's bmap: differs"
rm -f copy.raw
bmaptool copy --bmap theirs.bmap q.raw copy.raw >/dev/null 2>&1 && cmp -s copy.raw theirs.raw &&
	ok "bmaptool copy of the same bmap: the same bytes" || bad "bmaptool copy differs from ours"
after=$(json theirs.json bmap.checked_after_write)
[ "$after" -gt 0 ] && [ $((after + $(json theirs.json bmap.checked_before_write))) = "$(grep -c "</Range>" theirs.bmap)" ] &&
	ok "bmaptool's bmap: $after long ranges checked after writing, the rest before" ||
	bad "bmaptool's bmap: counts $(cat theirs.json)"
"$VHDX" convert -n --bmap theirs.bmap $img x.raw >out.txt 2>&1
grep -q "longer than 1 MiB hashed while written and compared at their end, as bmaptool does" out.txt &&
	ok "bmaptool's bmap: the plan says which are checked after writing" || bad "the plan: $(grep checks out.txt)"

# -- tampering: refused before writing (exit 2, the target untouched)
read -r first last < <(python3 -S -c 'import re
a, b = re.search(r"> (\d+)-(\d+) </Range>", open("ours.bmap").read()).groups()
print(a, b)')
old_target
old=$(sum tgt.raw)
expect "a wrong --bmap-sha256" 2 "not the --bmap-sha256 given" -- convert -f -q --bmap ours.bmap --bmap-sha256 "$(printf '%064d' 7)" $img tgt.raw
untouched "$old" "a wrong --bmap-sha256"
bad_file_checksum ours.bmap sum.bmap
expect "a wrong BmapFileChecksum" 2 "BmapFileChecksum does not match" -- convert -f -q --bmap sum.bmap $img tgt.raw
untouched "$old" "a wrong BmapFileChecksum"
edit_chksum ours.bmap chk.bmap first >/dev/null
expect "a range chksum digit changed (not resealed)" 2 "BmapFileChecksum does not match" -- convert -f -q --bmap chk.bmap $img tgt.raw
untouched "$old" "a chksum digit changed"
truncate_bmap ours.bmap trunc.bmap
expect "a truncated bmap" 2 "truncated" -- convert -f -q --bmap trunc.bmap $img tgt.raw
untouched "$old" "a truncated bmap"
bzip2 -dc "$SAMPLES/win81-dynamic-100M.vhdx.bz2" >other100.vhdx && "$VHDX" bmap other100.vhdx other100.bmap >/dev/null
expect "the bmap of an image of another size" 2 "a bmap of another image" -- convert -f -q --bmap other100.bmap $img tgt.raw
untouched "$old" "another size"
expect "--bmap with a VHDX output" 2 "--bmap deploys a raw disk" -- convert -q --bmap ours.bmap $img out.vhdx
[ ! -e out.vhdx ] && ok "--bmap with a VHDX output: nothing created" || bad "out.vhdx created"
expect "no bmap file" 2 "cannot open" -- convert -f -q --bmap missing.bmap $img tgt.raw
untouched "$old" "no bmap file"

# -- tampering found while deploying (exit 1, the first MiB zero)
cp $img flipped.vhdx
flip_byte flipped.vhdx $((4 * M + first * 4096 + 100))
old_target
expect "a flipped byte in a data block of the VHDX" 1 "range $first-$last (bytes" -- convert -f -q --bmap ours.bmap flipped.vhdx tgt.raw
grep -qE "expected sha256 [0-9a-f]{64}, found [0-9a-f]{64}" out.txt && ok "the mismatch names both hashes" ||
	bad "the mismatch does not name both hashes: $(cat out.txt)"
head_zero "a flipped byte"
old_target
"$VHDX" convert -f --json --bmap ours.bmap flipped.vhdx tgt.raw >bad.json 2>/dev/null
[ $? = 1 ] && [ "$(json bad.json result)" = mismatch ] && [ "$(json bad.json bmap.failed_range.first_block)" = "$first" ] &&
	ok "--json on a mismatch: result mismatch, the failed range" || bad "--json on a mismatch: $(cat bad.json)"
# a range edited (one block later) and the file resealed
python3 -S -c 'import re
t = open("ours.bmap").read()
t = t.replace("> %s-%s </" % ("'$first'", "'$last'"), "> %d-%s </" % ('$first' + 1, "'$last'"), 1)
n = sum(int(b or a) - int(a) + 1 for a, b in re.findall(r"> (\d+)(?:-(\d+))? </Range>", t))
open("range.bmap", "w").write(re.sub(r"<MappedBlocksCount> \d+ ", "<MappedBlocksCount> %d " % n, t))'
reseal range.bmap
old_target
# (its first block now unmapped, and not zero)
expect "a range edited (resealed)" 1 "block $first (byte $((first * 4096))) is not in the ranges of range.bmap" -- convert -f -q --bmap range.bmap $img tgt.raw
head_zero "a range edited"
reseal chk.bmap
old_target
expect "a range chksum digit changed (resealed)" 1 "does not match chk.bmap: expected sha256" -- convert -f -q --bmap chk.bmap $img tgt.raw
head_zero "a chksum digit changed"
gzip -dc "$SAMPLES/win10-dynamic-10M.vhdx.gz" >other.vhdx && "$VHDX" bmap other.vhdx other.bmap >/dev/null
old_target
expect "the bmap of another image of the same size" 1 "does not match other.bmap" -- convert -f -q --bmap other.bmap $img tgt.raw
head_zero "another image's bmap"
# a non-zero byte where the bmap maps nothing: a raw source with a stray byte
hole=$(python3 -S -c 'import re
t = open("ours.bmap").read(); n = int(re.search(r"<BlocksCount> (\d+) ", t).group(1))
m = set()
for a, b in re.findall(r"> (\d+)(?:-(\d+))? </Range>", t): m.update(range(int(a), int(b or a) + 1))
print(max(set(range(n)) - m))')
cp q.raw stray.raw
printf 'x' | dd of=stray.raw bs=1 seek=$((hole * 4096 + 7)) conv=notrunc status=none
old_target
expect "a non-zero byte in an unmapped block of the source" 1 "block $hole (byte $((hole * 4096 + 7))) is not in the ranges of ours.bmap" -- convert -f -q --bmap ours.bmap stray.raw tgt.raw
head_zero "a stray byte"
[ "$(sum $img)" = "$img_sum" ] && ok "the source is unchanged" || bad "the source changed"

# -- --resume after a cut: a 24 MiB disk of 96 ranges (a 64 KiB piece of
# data every 256 KiB), cut at several writes (an error, or killed)
python3 -S -c 'import os
with open("many.raw", "wb") as f:
    f.truncate(24 << 20)
    for i in range(96):
        f.seek(i << 18); f.write(os.urandom(1 << 16))'
"$VHDX" convert -q many.raw many.vhdx && "$VHDX" bmap many.vhdx many.bmap >/dev/null || bad "resume: the image"
head -c $((24 * M)) /dev/urandom >tgt.raw
"$VHDX" convert -q -f --json --bmap many.bmap many.vhdx tgt.raw >full.json 2>&1 || bad "resume: a whole deploy"
full_written=$(json full.json bytes_written)
for cut in "eio 5" "eio 40" "kill 70" "kill 90"; do
	set -- $cut
	head -c $((24 * M)) /dev/urandom >tgt.raw
	rc=$( { env FAULT_OP=write FAULT_AT=$2 FAULT_MODE=$1 LD_PRELOAD="$SHIM" "$VHDX" convert -q -f --bmap many.bmap \
		many.vhdx tgt.raw >/dev/null 2>&1; echo $?; } 2>/dev/null)
	[ $rc -ne 0 ] && ok "resume: cut by $1 at write $2 (exit $rc)" || bad "resume: the cut at write $2 did not stop it"
	head_zero "resume: cut at write $2"
	"$VHDX" convert -q -f --resume --json --bmap many.bmap many.vhdx tgt.raw >res.json 2>err.txt &&
		ok "resume after write $2: done" || bad "resume after write $2: $(cat err.txt)"
	cmp -s tgt.raw many.raw && ok "resume after write $2: the disk is identical" ||
		bad "resume after write $2: the disk differs: $(cmp tgt.raw many.raw 2>&1 | head -1)"
	written=$(json res.json bytes_written)
	kept=$(json res.json bmap.kept_by_resume)
	[ "$written" -lt "$full_written" ] && [ "$kept" -ge $(($2 - 2)) ] &&
		ok "resume after write $2: $written bytes written (a whole deploy $full_written), $kept ranges kept" ||
		bad "resume after write $2: $written bytes written (a whole deploy $full_written), $kept ranges kept"
done
"$VHDX" convert -q -f --resume --json --bmap many.bmap many.vhdx tgt.raw >res.json 2>&1
[ "$(json res.json bytes_written)" = $M ] && [ "$(json res.json bmap.kept_by_resume)" = 92 ] &&
	ok "resume of a complete deploy: only the first MiB written" || bad "resume of a complete deploy: $(cat res.json)"
finish
