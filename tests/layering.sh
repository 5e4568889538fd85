#!/usr/bin/env bash
# tests/layering.sh - no call circle between the files of one folder, read
# from the objects' symbol tables.  For each folder (core/, app/ where it
# exists, platform/, efi/), file A uses file B when A's object leaves a
# symbol undefined (nm -u) that B's object defines (nm --defined-only -g):
# calls and data alike.  The uses of one folder must form no cycle (A uses
# B and B uses A, or longer): tsort(1) says where one is.  A folder's
# objects are taken from the host build (build/host/FOLDER) or, for efi/,
# from the x86_64 build; every FOLDER/*.c must have its object.
#
# The check is first shown to fail: two files that call each other, and
# three that call round, built here, must be reported as loops.
set -u
export LC_ALL=C
cd "$(dirname "$0")/.."
B=${BUILD:-build}
out=$B/tests/layering
rm -rf "$out"
mkdir -p "$out"
pass=0 fail=0

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# uses OBJECT...: one line "A B" for each file A that uses a symbol of B
uses() {
	local o s
	for o in "$@"; do
		nm --defined-only -g "$o" | awk -v f="$(basename "$o" .o)" 'NF == 3 { print $3, f }'
	done | sort -u >"$out/defs"
	for o in "$@"; do
		nm -u "$o" | awk '{ print $NF }' | sort -u | join - "$out/defs" |
			awk -v f="$(basename "$o" .o)" '$2 != f { print f, $2 }'
	done | sort -u
}

# circles NAME OBJECT...: 0 when the files' uses form no cycle; otherwise 1
# and, in $out/NAME.loops, tsort's account of each loop
circles() {
	local name=$1
	shift
	uses "$@" >"$out/$name.uses"
	tsort "$out/$name.uses" >/dev/null 2>"$out/$name.loops" && return 0
	return 1
}

# loop_members FILE: the files tsort names in its loops, one line, sorted
loop_members() {
	sed -n 's/^tsort: \([A-Za-z0-9_]*\)$/\1/p' "$1" | sort -u | tr '\n' ' '
}

# --- the check fails where it must: circles built on purpose
mkdir -p "$out/bad"
cat >"$out/bad/a.c" <<'EOF'
int b(int);
int a(int n) { return n ? b(n - 1) : 0; }
EOF
cat >"$out/bad/b.c" <<'EOF'
int a(int);
int b(int n) { return n ? a(n - 1) : 1; }
int c(int n);
int b2(int n) { return c(n); }
EOF
cat >"$out/bad/c.c" <<'EOF'
int d(int);
int c(int n) { return d(n); }
EOF
cat >"$out/bad/d.c" <<'EOF'
int b2(int);
int d(int n) { return n > 1 ? b2(n - 2) : n; }
EOF
cat >"$out/bad/e.c" <<'EOF'
int a(int);
int e(int n) { return a(n); }
EOF
for f in a b c d e; do
	cc -c "$out/bad/$f.c" -o "$out/bad/$f.o" || { bad "cannot build the broken example $f.c"; exit 1; }
done
if circles two "$out/bad/a.o" "$out/bad/b.o" "$out/bad/e.o"; then
	bad "a.c calls b.c and b.c calls a.c: not reported"
elif [ "$(loop_members "$out/two.loops")" != "a b " ]; then
	bad "a.c <-> b.c: reported as: $(loop_members "$out/two.loops")"
else
	ok "a.c <-> b.c reported as a loop of a b (e.c, which only calls a.c, is in none)"
fi
if circles three "$out/bad/b.o" "$out/bad/c.o" "$out/bad/d.o"; then
	bad "b.c -> c.c -> d.c -> b.c: not reported"
elif [ "$(loop_members "$out/three.loops")" != "b c d " ]; then
	bad "b.c -> c.c -> d.c -> b.c: reported as: $(loop_members "$out/three.loops")"
else
	ok "b.c -> c.c -> d.c -> b.c reported as a loop of b c d"
fi
if circles line "$out/bad/a.o" "$out/bad/e.o" "$out/bad/c.o"; then
	ok "e.c -> a.c, c.c alone: no loop"
else
	bad "e.c -> a.c, c.c alone: a loop reported: $(loop_members "$out/line.loops")"
fi

# --- the real folders
for folder in core app platform efi; do
	[ -d "$folder" ] || continue
	objdir=$B/host/$folder
	[ "$folder" = efi ] && objdir=$B/efi/x86_64/efi
	objs=()
	missing=
	for src in "$folder"/*.c; do
		o=$objdir/$(basename "$src" .c).o
		if [ -f "$o" ]; then objs+=("$o"); else missing="$missing $o"; fi
	done
	if [ -n "$missing" ]; then
		bad "$folder/: not built:$missing (run make host efi first)"
		continue
	fi
	if circles "$folder" "${objs[@]}"; then
		ok "$folder/: ${#objs[@]} files, $(wc -l <"$out/$folder.uses") uses between them, no circle"
	else
		bad "$folder/: files that use each other in a circle: $(loop_members "$out/$folder.loops")"
		sed 's/^/    /' "$out/$folder.loops"
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
