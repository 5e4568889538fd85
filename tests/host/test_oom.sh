#!/usr/bin/env bash
# test_oom.sh - out of memory, one exit status: every command whose buffers
# cannot be allocated says "vhdx: out of memory" on one line and exits 2
# (could not run: every allocation comes before the first write), leaving
# no file behind and the source as it was.  The fault shim
# (tests/host/faultshim.c, FAULT_ALLOC_OVER) fails each malloc and
# aligned_alloc of 1 MiB or more: the tool's buffers, not libc's.
source "$(dirname "$0")/lib.sh"
SHIM=$(realpath -m "$BUILD")/tests/faultshim.so
mkdir -p "$BUILD/tests"
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" tests/host/faultshim.c -ldl ||
	{ bad "cannot build the fault shim"; finish; exit 1; }
mkdir -p "$T/w" && cd "$T/w" || exit 2

"$VHDX" create -q -s 64M p.vhdx
"$VHDX" create -q -s 64M -t fixed f.vhdx
head -c $((4 * 1024 * 1024)) /dev/urandom >raw.img
sum=$(sha256sum p.vhdx f.vhdx raw.img)

# oom NAME ARGS...: the command must exit 2 with exactly "vhdx: out of memory"
# on stderr and create nothing in the folder
oom() {
	local name=$1 rc before after
	shift
	before=$(ls)
	LD_PRELOAD=$SHIM FAULT_ALLOC_OVER=1048576 "$VHDX" "$@" >../out.txt 2>../err.txt
	rc=$?
	after=$(ls)
	if [ $rc -ne 2 ]; then
		bad "$name: exit $rc, expected 2 (out of memory: could not run); stderr: $(cat ../err.txt)"
	elif [ "$(cat ../err.txt)" != "vhdx: out of memory" ]; then
		bad "$name: stderr is not the one line 'vhdx: out of memory': $(cat ../err.txt)"
	elif [ "$before" != "$after" ]; then
		bad "$name: files changed in the folder: before '$before', after '$after'"
	else
		ok "$name: exit 2, 'vhdx: out of memory', no file left"
	fi
	rm -f ../out.txt ../err.txt
}

oom "create a dynamic file" create -q -s 64M new.vhdx
oom "create a fixed file" create -q -s 64M -t fixed new.vhdx
oom "create a differencing child" create -q -t differencing --parent p.vhdx child.vhdx
oom info info p.vhdx
oom check check f.vhdx
oom compare compare p.vhdx f.vhdx
oom repair repair p.vhdx
oom bmap bmap p.vhdx new.bmap
oom "convert to VHDX" convert -q p.vhdx new.vhdx

if [ "$(sha256sum p.vhdx f.vhdx raw.img)" = "$sum" ]; then
	ok "the sources are unchanged"
else
	bad "a source changed"
fi
finish
