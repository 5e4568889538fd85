#!/bin/bash
# mkcorpus.sh - rebuild tests/fuzz/corpus: seeds from ../shared/samples and from images our own
# `vhdx create` makes (see fuzz/mkseed.sh for the format).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p tests/fuzz/corpus
for s in ../shared/samples/*.bz2 ../shared/samples/*.gz; do
	[ -e "$s" ] || continue
	n=$(basename "$s"); n=${n%.*}; n=${n%.*}
	case $s in *.bz2) bzip2 -dc "$s" >"$T/img" ;; *.gz) gzip -dc "$s" >"$T/img" ;; esac
	bash fuzz/mkseed.sh "$T/img" "tests/fuzz/corpus/sample-$n"
done
i=0
while read -r args; do
	rm -f "$T/img"
	# shellcheck disable=SC2086
	"$BUILD/host/vhdx" create -q $args "$T/img" >/dev/null
	bash fuzz/mkseed.sh "$T/img" "tests/fuzz/corpus/own-$i"
	i=$((i + 1))
done <<'LIST'
-s 1G
-s 5G -b 1M
-t fixed -s 16M -b 1M
-s 10G --logical-sector-size 4096 -b 256M
-s 3G --zero-blocks
LIST
ls -la tests/fuzz/corpus
