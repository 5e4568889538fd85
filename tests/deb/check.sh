#!/usr/bin/env bash
# tests/deb/check.sh - make check-deb: the Debian package make deb built.
#   - lintian: no error, no warning (an override must carry its reason: a
#     comment line right above it);
#   - its control fields: the version debian/changelog gives (and vhdx
#     --version prints), this machine's architecture;
#   - unpacked with dpkg -x into a scratch root: /usr/bin/vhdx, vhdx.efi for
#     x86_64 and AArch64 under /usr/lib/vhdx (PE images of the right machine,
#     not executable), the manual page, the bash completion, README and
#     BENCHMARKS, the machine-readable copyright;
#   - the installed vhdx: --version, info and check of a sample image, a new
#     image created and checked;
#   - the installed manual page renders without a warning; the installed
#     completion passes tests/host/test_completion.sh;
#   - the installed x86_64 vhdx.efi booted once under OVMF (tests/efi/lib.sh):
#     --version, help VERB and VERB --help (the host's page, each ending with
#     a newline), the whole page, a bad help, and list.
# Needs DEB and CHANGES (paths), BUILD.  Prints PASS/FAIL lines and
# "N passed, M failed"; exits non-zero on any failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DEB=$(realpath "${DEB:?DEB: the .deb to check}")
CHANGES=$(realpath "${CHANGES:?CHANGES: its .changes}")
. "$ROOT/tests/efi/lib.sh"
W=$BUILD/tests/deb/run-$$
rm -rf "$W"
mkdir -p "$W"

finish() {
	[ "$FAIL" -eq 0 ] && rm -rf "$W/root" "$W"/*.img "$W"/*.fd "$W"/*.vhdx
	echo "logs: $W"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}
t0=$(date +%s)
need lintian dpkg-deb dpkg-parsechangelog man qemu-system-x86_64 mkfs.vfat mcopy gzip timeout || finish
need_file "$OVMF_CODE" "Debian package ovmf" || finish
need_file "$DEB" "make deb" || finish

# ---- lintian ----
lintian --fail-on error,warning --show-overrides "$CHANGES" >"$W/lintian.txt" 2>"$W/lintian.err"
rc=$?
grep -v 'running with root privileges' "$W/lintian.err" >>"$W/lintian.txt"
if [ $rc -eq 0 ]; then
	pass "lintian: no error or warning ($(grep -c '^[EWIPO]:' "$W/lintian.txt") tags, overrides shown as O:)"
else
	fail "lintian (exit $rc): $(grep -E '^[EW]:' "$W/lintian.txt" | head -n 5)"
fi
for f in debian/*lintian-overrides debian/source/lintian-overrides; do
	[ -f "$f" ] || continue
	bare=$(awk '/^#/ {c = 1; next} /^[[:space:]]*$/ {c = 0; next} {if (!c) print; c = 0}' "$f")
	[ -z "$bare" ] && pass "$f: every override has its reason" || fail "$f: overrides without a reason above them: $bare"
done

# ---- control fields ----
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
[ "$(dpkg-deb -f "$DEB" Package)" = vhdx ] && pass "package vhdx" || fail "package name: $(dpkg-deb -f "$DEB" Package)"
[ "$(dpkg-deb -f "$DEB" Version)" = "$version" ] && pass "version $version, as debian/changelog" ||
	fail "the package's version $(dpkg-deb -f "$DEB" Version), debian/changelog's $version"
[ "$(dpkg-deb -f "$DEB" Architecture)" = "$(dpkg --print-architecture)" ] && pass "architecture $(dpkg --print-architecture)" ||
	fail "architecture $(dpkg-deb -f "$DEB" Architecture)"
[ "$(basename "$DEB")" = "vhdx_${version}_$(dpkg --print-architecture).deb" ] && pass "named $(basename "$DEB")" ||
	fail "named $(basename "$DEB")"

# ---- the files, in a scratch root ----
R=$W/root
dpkg -x "$DEB" "$R" || { fail "dpkg -x $DEB"; finish; }
dpkg-deb -c "$DEB" | awk '{print $1, $6}' >"$W/contents.txt"
for want in "-rwxr-xr-x ./usr/bin/vhdx" \
	"-rw-r--r-- ./usr/lib/vhdx/x86_64/vhdx.efi" \
	"-rw-r--r-- ./usr/lib/vhdx/aarch64/vhdx.efi" \
	"-rw-r--r-- ./usr/share/man/man1/vhdx.1.gz" \
	"-rw-r--r-- ./usr/share/bash-completion/completions/vhdx" \
	"-rw-r--r-- ./usr/share/doc/vhdx/copyright"; do
	grep -qxF -- "$want" "$W/contents.txt" && pass "installs ${want#* }" || fail "does not install $want"
done
for doc in README.md BENCHMARKS.md; do
	if [ -f "$R/usr/share/doc/vhdx/$doc" ] || [ -f "$R/usr/share/doc/vhdx/$doc.gz" ]; then
		pass "documentation: $doc"
	else
		fail "documentation: no $doc in /usr/share/doc/vhdx"
	fi
done
grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' "$R/usr/share/doc/vhdx/copyright" &&
	pass "copyright in the machine-readable format" || fail "copyright: not DEP-5"
# PE machine field: x86_64 0x8664, AArch64 0xaa64 (PE/COFF: the "PE\0\0"
# signature at the offset in bytes 0x3c..0x3f, the machine right after it)
pe_machine() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read(4096)
off = struct.unpack_from('<I', d, 0x3c)[0]
ok = d[:2] == b'MZ' and d[off:off + 4] == b'PE\0\0'
print('%04x' % struct.unpack_from('<H', d, off + 4)[0] if ok else 'none')
PY
}
for a in x86_64:8664 aarch64:aa64; do
	m=$(pe_machine "$R/usr/lib/vhdx/${a%%:*}/vhdx.efi")
	[ "$m" = "${a#*:}" ] && pass "${a%%:*}/vhdx.efi: a PE image for machine 0x$m" ||
		fail "${a%%:*}/vhdx.efi: machine $m, expected ${a#*:}"
done

# ---- the installed command ----
V=$R/usr/bin/vhdx
got=$("$V" --version)
[ "$got" = "vhdx $version" ] && pass "installed vhdx --version: $got (debian/changelog: $version)" ||
	fail "installed vhdx --version: '$got', debian/changelog says $version"
sample=$ROOT/../shared/samples/win10-dynamic-10M.vhdx.gz
if [ -f "$sample" ]; then
	gzip -dc "$sample" >"$W/sample.vhdx"
	out=$("$V" info "$W/sample.vhdx" 2>&1) && grep -q '^virtual size: 10 MiB (10485760 bytes)$' <<<"$out" &&
		pass "installed vhdx info of a Windows 10 sample: 10 MiB dynamic" || fail "installed vhdx info: $out"
	out=$("$V" check "$W/sample.vhdx" 2>&1) && grep -q ': 0 errors, 0 warnings$' <<<"$out" &&
		pass "installed vhdx check of the sample: $(tail -n 1 <<<"$out")" || fail "installed vhdx check: $out"
else
	fail "$sample is absent: check-deb needs the shared sample images beside the repository"
fi
if "$V" create -q -s 64M "$W/new.vhdx" && out=$("$V" check "$W/new.vhdx" 2>&1) && grep -q ': 0 errors, 0 warnings$' <<<"$out"; then
	pass "installed vhdx creates an image that checks clean"
else
	fail "installed vhdx create/check: $out"
fi

# ---- the installed manual page and completion ----
warn=$(MANWIDTH=80 man --warnings -l "$R/usr/share/man/man1/vhdx.1.gz" 2>&1 >"$W/man.txt")
[ -z "$warn" ] && grep -q 'vhdx create' "$W/man.txt" && pass "man -l renders the installed vhdx(1) without a warning" ||
	fail "man --warnings on the installed page: $warn"
out=$(COMPLETION="$R/usr/share/bash-completion/completions/vhdx" BUILD="$BUILD" bash tests/host/test_completion.sh 2>&1)
[ $? -eq 0 ] && pass "the installed completion: $(tail -n 1 <<<"$out")" || fail "the installed completion: $(grep FAIL <<<"$out" | head -n 3)"

# ---- the installed vhdx.efi, once under OVMF ----
N=$W/startup.nsh
nsh_begin "$N"
nsh_run "$N" version --version
nsh_run "$N" helpcreate help create
nsh_run "$N" createhelp create --help
nsh_run "$N" helpconvert help convert
nsh_run "$N" helpall help
nsh_run "$N" helpbad help frobnicate
nsh_run "$N" list list
nsh_end "$N"
if make_esp "$W/esp.img" "$R/usr/lib/vhdx/x86_64/vhdx.efi" "$N"; then
	boot_x86 "$W" "$W/esp.img"
	L=$W/serial.txt
	if [ "$BOOT_RC" = 0 ] && [ -n "$(rc_of "$L" list)" ]; then
		pass "OVMF ran the installed vhdx.efi and powered off (${BOOT_SECONDS} s)"
	else
		fail "the boot did not complete (qemu exit $BOOT_RC; 124 = timeout); see $L"
	fi
	# each run's output and %lasterror%; the "=== TAG rc" line starts a line
	# of its own only if the output ended with a newline
	efi_is() {
		local tag=$1 rc=$2 want=$3 got
		got=$(out_of "$L" "$tag")
		if [ "$(rc_of "$L" "$tag")" != "$rc" ]; then
			fail "vhdx.efi $tag: %lasterror% '$(rc_of "$L" "$tag")', expected $rc (or its output did not end with a newline): $(head -c 200 <<<"$got")"
		elif [ "$got" != "$want" ]; then
			fail "vhdx.efi $tag: printed '$(head -c 300 <<<"$got")', expected '$(head -c 300 <<<"$want")'"
		else
			pass "vhdx.efi $tag: $rc, $(wc -l <<<"$got") lines as expected, ending with a newline"
		fi
	}
	efi_is version 0x0 "vhdx $version"
	efi_is helpcreate 0x0 "$("$V" help create)"
	efi_is createhelp 0x0 "$("$V" create --help)"
	efi_is helpconvert 0x0 "$("$V" help convert)"
	# the host's line without its hint (the UEFI app prints none)
	efi_is helpbad 0x2 "$("$V" help frobnicate 2>&1 | sed "s/ (try 'vhdx help')\$//")"
	all=$(out_of "$L" helpall)
	if [ "$(rc_of "$L" helpall)" = 0x0 ] && [ "$(head -n "$("$V" help | wc -l)" <<<"$all")" = "$("$V" help)" ] &&
	   grep -q '^Returned status' <<<"$all"; then
		pass "vhdx.efi help: the host's whole page, then the UEFI shell's ($(wc -l <<<"$all") lines)"
	else
		fail "vhdx.efi help: rc $(rc_of "$L" helpall): $(head -c 300 <<<"$all")"
	fi
	[ "$(rc_of "$L" list)" = 0x0 ] && grep -q 'BLK' <<<"$(out_of "$L" list)" &&
		pass "vhdx.efi list: $(out_of "$L" list | grep -c BLK) block device lines" ||
		fail "vhdx.efi list: rc $(rc_of "$L" list): $(out_of "$L" list | head -n 3)"
else
	fail "could not make the ESP image"
fi
echo "check-deb: $(( $(date +%s) - t0 )) s"
finish
