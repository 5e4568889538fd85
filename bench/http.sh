#!/usr/bin/env bash
# bench/http.sh - `make bench-http` (not make check): a deploy straight from
# a URL (vhdx convert URL out.raw) against the download-then-convert way
# (curl -o the same file, then vhdx convert of the local copy) and against
# qemu-img convert -O raw of the same URL (qemu-block-extra's curl driver),
# over HTTP and HTTPS from Debian's nginx on 127.0.0.1
# (tests/host/http_rig.sh), for a fully allocated image and a sparse one;
# with the bytes and requests nginx logged (and the bytes it sent more
# than once: overlapping ranges) and the peak RSS of each way
# (/usr/bin/time %M; for curl -o + convert, the larger of the two).  RUNS
# rounds (default 3), medians (min-max), in seconds; each output checked
# once with cmp against the image's raw disk.
#   bench/http.sh [RUNS]
source "$(dirname "$0")/../tests/host/lib.sh"
source "$(dirname "$0")/../tests/host/http_rig.sh"
RUNS=${1:-3}
M=$((1024 * 1024))
W=$T/www
mkdir -p "$W"

# full: 512 MiB of random data in 2 MiB blocks; sparse: 1 GiB, one tenth
# allocated (52 of 512 blocks of 2 MiB random, the rest never stored)
head -c $((512 * M)) /dev/urandom >"$T/full.raw"
"$VHDX" convert -q -b 2M "$T/full.raw" "$W/full.vhdx" || exit 1
truncate -s 1G "$T/sparse.raw"
for i in $(seq 0 51); do
	dd if=/dev/urandom of="$T/sparse.raw" bs=2M seek=$((i * 10)) count=1 conv=notrunc status=none
done
"$VHDX" convert -q -b 2M "$T/sparse.raw" "$W/sparse.vhdx" || exit 1
http_rig_start "$W" || { echo "nginx did not start"; exit 1; }
CA=$RIG/ca.pem

# median_of "t1 t2 ...": "median (min-max)"
median_of() {
	python3 -c 'import statistics, sys
v = sorted(float(x) for x in sys.argv[1:])
print("%.3f (%.3f-%.3f)" % (statistics.median(v), v[0], v[-1]))' "$@"
}
now() { date +%s.%N; }

# qemu-img's column: its curl driver (qemu-block-extra) reads http(s) URLs;
# it has no option for a CA file, so over HTTPS it runs with sslverify off
# (the bench's own CA is not in the system store), which saves it nothing
# of the TLS work
qemu_json() { # BASE IMG
	local drv=${1%%:*} extra=""
	[ "$drv" = https ] && extra=',"sslverify":false'
	printf 'json:{"driver":"vhdx","file":{"driver":"%s","url":"%s/%s.vhdx"%s}}' "$drv" "$1" "$2" "$extra"
}
QEMU=1
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60} # [s] a run of qemu-img that takes longer is killed and said
if ! qemu-img info "$(qemu_json "http://127.0.0.1:$HTTP_PORT" sparse)" >/dev/null 2>"$T/qerr"; then
	QEMU=0
	echo "qemu-img: no column: it cannot read an http:// URL here ($(head -1 "$T/qerr"));" \
		"its curl driver is in qemu-block-extra"
fi
# rss_of FILE: the peak RSS /usr/bin/time wrote, in MiB
rss_of() { awk '{printf "%.0f", $1 / 1024}' "$1"; }

echo "| image | file | virtual | scheme | vhdx convert URL s | curl -o + vhdx convert s | ratio | qemu-img convert URL s | URL: bytes, requests, sent twice | curl: bytes | qemu-img: bytes, requests, sent twice | peak RSS MiB: URL, curl+convert, qemu-img |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for img in full sparse; do
	file=$(stat -c %s "$W/$img.vhdx")
	virt=$(stat -c %s "$T/$img.raw")
	for scheme in http https; do
		[ $scheme = http ] && base=http://127.0.0.1:$HTTP_PORT || base=https://127.0.0.1:$HTTPS_PORT
		direct=() staged=() qemu=() qfail=0
		for r in $(seq "$RUNS"); do
			rm -f "$T/out.raw" "$T/dl.vhdx"
			sync
			n0=$(log_count)
			t0=$(now)
			/usr/bin/time -f %M -o "$T/rss.d" "$VHDX" convert -q --cacert "$CA" "$base/$img.vhdx" "$T/out.raw" || exit 1
			t1=$(now)
			direct+=("$(echo "$t1 - $t0" | bc)")
			dbytes=$(log_bytes "$n0") dreqs=$(log_requests "$n0") dtwice=$(log_twice "$n0")
			[ "$r" = 1 ] && { cmp -s "$T/out.raw" "$T/$img.raw" || echo "MISMATCH: $img $scheme direct"; }
			rm -f "$T/out.raw"
			sync
			n0=$(log_count)
			t0=$(now)
			/usr/bin/time -f %M -o "$T/rss.c" curl -sf --cacert "$CA" -o "$T/dl.vhdx" "$base/$img.vhdx" &&
				/usr/bin/time -f %M -o "$T/rss.s" "$VHDX" convert -q "$T/dl.vhdx" "$T/out.raw" || exit 1
			t1=$(now)
			staged+=("$(echo "$t1 - $t0" | bc)")
			sbytes=$(log_bytes "$n0")
			[ "$r" = 1 ] && { cmp -s "$T/out.raw" "$T/$img.raw" || echo "MISMATCH: $img $scheme staged"; }
			if [ $QEMU = 1 ]; then
				rm -f "$T/out.raw"
				sync
				n0=$(log_count)
				t0=$(now)
				if timeout "$QEMU_TIMEOUT" /usr/bin/time -f %M -o "$T/rss.q" \
					qemu-img convert -O raw "$(qemu_json "$base" "$img")" "$T/out.raw"; then
					t1=$(now)
					qemu+=("$(echo "$t1 - $t0" | bc)")
					qbytes=$(log_bytes "$n0") qreqs=$(log_requests "$n0") qtwice=$(log_twice "$n0")
					cmp -s "$T/out.raw" "$T/$img.raw" || echo "MISMATCH: $img $scheme qemu-img"
				else
					qfail=$((qfail + 1))
				fi
			fi
		done
		dm=$(median_of "${direct[@]}") sm=$(median_of "${staged[@]}")
		ratio=$(python3 -c "print('%.2f' % (float('${dm%% *}') / float('${sm%% *}')))")
		rc=$(rss_of "$T/rss.c") rs=$(rss_of "$T/rss.s")
		[ "$rc" -gt "$rs" ] && rs=$rc
		if [ $QEMU = 1 ] && [ ${#qemu[@]} -gt 0 ]; then
			qm=$(median_of "${qemu[@]}") qcol="$qbytes, $qreqs, $qtwice" qrss=$(rss_of "$T/rss.q")
			[ $qfail = 0 ] || qm="$qm; $qfail of $RUNS runs hung, killed after $QEMU_TIMEOUT s"
		elif [ $QEMU = 1 ]; then
			qm="hung in all $RUNS runs (killed after $QEMU_TIMEOUT s)" qcol="-" qrss="-"
		else
			qm="-" qcol="-" qrss="-"
		fi
		echo "| $img | $file | $virt | $scheme | $dm | $sm | $ratio | $qm | $dbytes, $dreqs, $dtwice | $sbytes | $qcol | $(rss_of "$T/rss.d"), $rs, $qrss |"
	done
done
