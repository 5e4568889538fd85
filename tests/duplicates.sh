#!/usr/bin/env bash
# tests/duplicates.sh - no block of six or more lines written twice in the
# C sources of core/, app/ (where it exists), efi/ and platform/: the same
# run of six significant lines (white space folded; blank lines, comments,
# lines of lone braces and punctuation, and #include lines passed over) at
# two places, in one file or two, of one folder or across them.  Alike code
# with other names is not counted: that is for a reviewer (the tool
# library's `duplicates` shows it), not a rule.
#
# The check is first shown to fail: a run of six lines written twice, built
# here, must be reported, and one of five must not.
set -u
export LC_ALL=C
cd "$(dirname "$0")/.."
B=${BUILD:-build}
out=$B/tests/duplicates
rm -rf "$out"
mkdir -p "$out"
pass=0 fail=0

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# runs FOLDER...: one line "FILE:LINE ~ FILE:LINE" for each place where a run
# of six significant lines stands again (the first place it stands)
runs() {
	python3 - "$@" <<'PY'
import os, re, sys
RUN = 6
def significant(path):
    text = open(path, encoding='utf-8', errors='replace').read()
    # comments out, line numbers kept
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    for n, line in enumerate(text.split('\n'), 1):
        s = ' '.join(line.split())
        if s and not re.fullmatch(r'[{}()\[\];,]+', s) and not s.startswith('#include'):
            yield n, s
first = {}
found = []
for folder in sys.argv[1:]:
    for name in sorted(os.listdir(folder)):
        if not name.endswith(('.c', '.h')):
            continue
        path = os.path.join(folder, name)
        lines = list(significant(path))
        last_hit = None
        for i in range(len(lines) - RUN + 1):
            key = '\n'.join(s for _, s in lines[i:i + RUN])
            here = (path, lines[i][0])
            if key in first and first[key][0] != here:
                there = first[key]
                # one report per run: the next window of the same run is left out
                if not (last_hit and last_hit[0] == there[0] and 0 < there[1] - last_hit[1] <= RUN * 4):
                    found.append('%s:%d ~ %s:%d' % (there[0], there[1], path, here[1]))
                last_hit = there
            else:
                first.setdefault(key, here)
print('\n'.join(found))
PY
}

# --- the check fails where it must
mkdir -p "$out/bad"
{
	echo 'int f(int a)'; echo '{'
	for i in 1 2 3 4 5 6; do echo "	a = a * $i + 1;"; done
	echo '	return a;'; echo '}'
} >"$out/bad/one.c"
{
	echo 'int g(int b)'; echo '{'; echo '	/* other names around it */'
	for i in 1 2 3 4 5 6; do echo "	a = a * $i + 1;"; done
	echo '	return b;'; echo '}'
	echo 'int h(int a)'; echo '{'
	for i in 1 2 3 4 5; do echo "	a = a * $i + 1;"; done
	echo '	return a;'; echo '}'
} >"$out/bad/two.c"
got=$(runs "$out/bad")
if [ "$(grep -c . <<<"$got")" = 1 ] && grep -q "one.c:3 ~ .*two.c:4" <<<"$got"; then
	ok "six lines written twice reported ($got); five not"
else
	bad "six lines written twice in one.c and two.c: reported as '$got'"
fi

# --- the real folders
folders=()
for f in core app efi platform; do [ -d "$f" ] && folders+=("$f"); done
got=$(runs "${folders[@]}")
if [ -z "$got" ]; then
	ok "${folders[*]}: no run of six lines written twice"
else
	bad "${folders[*]}: runs of six lines or more written twice:"
	sed 's/^/    /' <<<"$got"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
