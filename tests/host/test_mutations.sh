#!/bin/bash
# test_mutations.sh - break exactly one rule of a valid image (tests/host/mutate.c fixes
# the checksums the rule is not about) and expect `vhdx check` to name that rule, with
# exit status 1 for an error and 0 for a warning.  Then truncated, zero-length and
# random files: errors, never a crash.  Also records which of qemu-img check, 7zz t and
# vhdiinfo notice each mutation (a table in $BUILD/tests/mutations-peers.md).
#
# Bases (from ../shared/samples, decompressed to a temp dir):
#   dyn   hyperv2012-dynamic-1G (blocks 0-2 present, the rest ZERO)
#   fixed win10-fixed-10M
#   diff  win10-differencing-8G-child (parent locator, PARTIALLY_PRESENT blocks), with a
#         parent beside it (made here; DataWriteGuid = its parent_linkage)
#   lone  the same child alone (a mutation that changes its size would mismatch the parent)
#   dyn1m dyn with 1 MiB blocks and 8 GiB (P > chunk ratio: has sector-bitmap entries)
source "$(dirname "$0")/lib.sh"
need_samples
MUTATE=$T/mutate
${CC:-cc} -std=gnu11 -O1 -Icore -o "$MUTATE" tests/host/mutate.c "$BUILD/host/libvhdx.a" ||
	{ echo "FAIL: cannot build mutate"; echo "0 passed, 1 failed"; exit 1; }

bzip2 -dc "$SAMPLES/hyperv2012-dynamic-1G.vhdx.bz2" >"$T/dyn.vhdx" &&
	gzip -dc "$SAMPLES/win10-fixed-10M.vhdx.gz" >"$T/fixed.vhdx" &&
	gzip -dc "$SAMPLES/win10-differencing-8G-child.avhdx.gz" >"$T/diff.avhdx" ||
	{ echo "FAIL: cannot decompress samples"; echo "0 passed, 1 failed"; exit 1; }
# the differencing sample's parent, beside it (7zz reads a child only with its parent)
parent="$T/Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx"
if "$VHDX" create -q -s 8G -b 2M "$parent" >/dev/null 2>&1; then
	"$MUTATE" "$parent" base.parent_of_sample || bad "mutate base.parent_of_sample"
else
	bad "cannot create the differencing sample's parent"
fi
mkdir -p "$T/lone"
cp "$T/diff.avhdx" "$T/lone/diff.avhdx" # the child without its parent
cp "$T/dyn.vhdx" "$T/dyn1m.vhdx"
"$MUTATE" "$T/dyn1m.vhdx" base.small_blocks || bad "mutate base.small_blocks"
# blocks 0-2 now end at 69 MiB: cut the rest, or 7zz warns about the trailing bytes
truncate -s 69M "$T/dyn1m.vhdx"

base_file() {
	case $1 in
	diff) echo "$T/diff.avhdx" ;;
	lone) echo "$T/lone/diff.avhdx" ;;
	*) echo "$T/$1.vhdx" ;;
	esac
}

# The bases must check clean.
for b in dyn fixed diff dyn1m lone; do
	if "$VHDX" check "$(base_file $b)" >"$T/out" 2>&1 && ! grep -q '^error' "$T/out"; then ok; else
		bad "base $b does not check clean"; cat "$T/out"; fi
done

# peer NAME FILE -> "yes" when the peer reports a problem, "no" otherwise
peer() {
	local out rc
	case $1 in
	qemu)
		out=$(timeout 60 qemu-img check -f vhdx "$2" 2>&1); rc=$?
		[ $rc -ne 0 ] && echo yes || echo no ;;
	7zz)
		out=$(timeout 60 7zz t -tvhdx "$2" 2>&1); rc=$?
		if [ $rc -ne 0 ] || grep -qiE 'warning|error' <<<"$out"; then echo yes; else echo no; fi ;;
	vhdi)
		out=$(timeout 60 vhdiinfo "$2" 2>&1); rc=$?
		[ $rc -ne 0 ] && echo yes || echo no ;;
	esac
}
have_peers=1
for p in qemu-img 7zz vhdiinfo; do command -v $p >/dev/null || have_peers=0; done
[ "${VHDX_SKIP_PEERS:-0}" = 1 ] && have_peers=0
declare -A base_peer
if [ $have_peers = 1 ]; then
	for b in dyn fixed diff dyn1m lone; do
		for p in qemu 7zz vhdi; do base_peer[$b.$p]=$(peer $p "$(base_file $b)"); done
	done
fi
PEERS=$BUILD/tests/mutations-peers.md
mkdir -p "$(dirname "$PEERS")"
{
	echo "| mutation (base) | vhdx check | qemu-img check | 7zz t | vhdiinfo |"
	echo "|---|---|---|---|---|"
} >"$PEERS"

# mutation  base  expected rule id  expected exit status
while read -r name base id rc; do
	[ -z "$name" ] && continue
	case $name in \#*) continue ;; esac
	src=$(base_file "$base")
	img=$(dirname "$src")/m.${src##*.}
	cp "$src" "$img"
	if ! "$MUTATE" "$img" "$name"; then
		bad "$name: mutate failed"
		continue
	fi
	"$VHDX" check "$img" >"$T/out" 2>&1
	got=$?
	if grep -q "($id)\$" "$T/out" && [ $got -eq "$rc" ]; then
		ok
		mine=yes
	else
		bad "$name on $base: expected ($id) and exit $rc, got exit $got:"
		sed 's/^/    /' "$T/out"
		mine=no
	fi
	if [ $have_peers = 1 ]; then
		row="| $name ($base) | $mine"
		for p in qemu 7zz vhdi; do
			if [ "${base_peer[$base.$p]}" = yes ]; then
				row="$row | n/a"
			else
				row="$row | $(peer $p "$img")"
			fi
		done
		echo "$row |" >>"$PEERS"
	fi
done <<'EOF'
file.signature      dyn   file.signature        1
file.truncated      dyn   file.truncated        1
file.trailing       dyn   file.trailing         0
hdr.signature       dyn   hdr.signature         1
hdr.checksum        dyn   hdr.checksum          1
hdr.version         dyn   hdr.version           1
hdr.log_version     dyn   hdr.log_version       1
hdr.reserved        dyn   hdr.reserved          1
hdr.log_align       dyn   hdr.log_align         1
hdr.log_place       dyn   hdr.log_place         1
hdr.log_outside     dyn   hdr.log_place         1
hdr.none_valid      dyn   hdr.none_valid        1
hdr.ambiguous       dyn   hdr.ambiguous         1
log.replay          dyn   log.replay            1
log.guid_unused     dyn   log.guid_unused       0
rgn.signature       dyn   rgn.signature         1
rgn.checksum        dyn   rgn.checksum          1
rgn.count           dyn   rgn.count             1
rgn.reserved        dyn   rgn.reserved          1
rgn.offset          dyn   rgn.offset            1
rgn.length          dyn   rgn.length            1
rgn.required_bits   dyn   rgn.required_bits     1
rgn.not_required    dyn   rgn.not_required      1
rgn.overlap         dyn   rgn.overlap           1
rgn.duplicate       dyn   rgn.duplicate         1
rgn.unknown_required dyn  rgn.unknown_required  1
rgn.missing         dyn   rgn.missing           1
rgn.outside         dyn   rgn.outside           1
rgn.tables_differ   dyn   rgn.tables_differ     1
rgn.none_valid      dyn   rgn.none_valid        1
meta.signature      dyn   meta.signature        1
meta.reserved       dyn   meta.reserved         1
meta.count          dyn   meta.count            1
meta.offset         dyn   meta.offset           1
meta.length         dyn   meta.length           1
meta.overlap        dyn   meta.overlap          1
meta.duplicate      dyn   meta.duplicate        1
meta.flags_reserved dyn   meta.flags_reserved   1
meta.entry_reserved dyn   meta.entry_reserved   1
meta.flags          dyn   meta.flags            1
meta.unknown_required dyn meta.unknown_required 1
meta.missing        dyn   meta.missing          1
meta.item_length    dyn   meta.item_length      1
fp.block_size       dyn   fp.block_size         1
fp.flags            dyn   fp.flags              1
vds.range           dyn   vds.range             1
vds.zero            dyn   vds.range             1
vds.multiple        dyn   vds.multiple          1
lss.value           dyn   lss.value             1
pss.value           dyn   pss.value             1
pl.type             diff  pl.type               1
pl.reserved         diff  pl.reserved           1
pl.length           diff  pl.length             1
pl.entry            diff  pl.entry              1
pl.duplicate_key    diff  pl.duplicate_key      1
pl.parent_linkage   diff  pl.parent_linkage     1
pl.path             diff  pl.path               1
pl.missing          diff  pl.missing            1
pl.unexpected       diff  pl.unexpected         1
bat.region_size     dyn   bat.region_size       1
bat.reserved        dyn   bat.reserved          1
bat.state           dyn   bat.state             1
bat.state_partial   dyn   bat.state             1
bat.state_fixed     fixed bat.state_fixed       0
bat.offset_reserved dyn   bat.offset_reserved   1
bat.sb_state        dyn1m bat.sb_state          1
bat.sb_missing      diff  bat.sb_missing        1
bat.outside         dyn   bat.outside           1
bat.overlap_struct  dyn   bat.overlap_struct    1
bat.overlap         dyn   bat.overlap           1
bat.overlap         fixed bat.overlap           1
bat.beyond_disk     lone  bat.beyond_disk       0
EOF

# Damaged files: errors, never a crash (exit 1, or 1 for "not a VHDX").
: >"$T/empty"
head -c 3 /dev/urandom >"$T/tiny"
head -c 2097152 /dev/urandom >"$T/random"
{ printf 'vhdxfile'; head -c 4194296 /dev/urandom; } >"$T/random-sig"
for f in empty tiny random random-sig; do
	"$VHDX" check "$T/$f" >"$T/out" 2>&1
	got=$?
	if [ $got -eq 1 ] && grep -q '^error' "$T/out"; then ok; else bad "$f: exit $got"; cat "$T/out"; fi
done
size=$(stat -c %s "$T/dyn.vhdx")
for cut in 0 1 8 4096 65536 69632 131072 196608 262144 327680 1048576 2097152 2162688 3145728 \
	4194304 $((size - 1048576)) $((size - 1)); do
	head -c "$cut" "$T/dyn.vhdx" >"$T/cut"
	"$VHDX" check "$T/cut" >"$T/out" 2>&1
	got=$?
	if [ $got -eq 1 ]; then ok; else bad "truncated to $cut: exit $got"; cat "$T/out"; fi
	"$VHDX" info --json "$T/cut" >"$T/out" 2>&1
	got=$?
	if [ $got -le 1 ]; then ok; else bad "info of truncated $cut: exit $got"; fi
done
# Not a file we can read: exit 2.
"$VHDX" check "$T/does-not-exist" >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "missing file: exit status not 2"

[ $have_peers = 1 ] && { echo "peer detection table: $PEERS"; cat "$PEERS"; }
finish
