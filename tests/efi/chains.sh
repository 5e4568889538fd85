# tests/efi/chains.sh - sourced by badinput.sh: the same differencing
# chains judged by vhdx.efi in the UEFI shell and by the host tool, which
# must give the same verdict and the same lines (issue 11: one parent policy,
# in the core).  Read-only: they ride on the boot that writes nothing.
#
# On the ESP, made on the host:
#   \h\b.vhdx <- \h\c1.vhdx <- \h\c2.vhdx   a complete chain of three
#   \w\child.vhdx whose relative_path .\base.vhdx names \w\base.vhdx, a
#     same-size image with another DataWriteGuid, and whose
#     absolute_win32_path C:\vms\base.vhdx is a Windows path: refused,
#     the message names \w\base.vhdx (not the last path tried)
#   \m\child.vhdx whose parent is missing
# Lines are compared after the names are made the same: "fs0:\" and the
# host folder dropped, '\' read as '/'.

CHAIN_TAGS="chinfo chcheck chjson wcheck winfo wjson mcheck"

# chain_setup DIR NSH: the images in DIR/ch and the commands in NSH.
chain_setup() {
	local d=$1 n=$2 V=$BUILD/host/vhdx c=$1/ch
	rm -rf "$c"
	mkdir -p "$c/h" "$c/w" "$c/m"
	"$V" create -q -s 8M -b 1M "$c/h/b.vhdx" &&
		"$V" create -q -t differencing --parent "$c/h/b.vhdx" "$c/h/c1.vhdx" &&
		"$V" create -q -t differencing --parent "$c/h/c1.vhdx" "$c/h/c2.vhdx" &&
		"$V" create -q -s 8M -b 1M "$c/w/base.vhdx" &&
		"$V" create -q -t differencing --parent "$c/w/base.vhdx" --parent-win32-path 'C:\vms\base.vhdx' \
			"$c/w/child.vhdx" &&
		rm "$c/w/base.vhdx" &&
		"$V" create -q -s 8M -b 1M "$c/w/base.vhdx" &&
		"$V" create -q -s 8M -b 1M "$c/m/gone.vhdx" &&
		"$V" create -q -t differencing --parent "$c/m/gone.vhdx" "$c/m/child.vhdx" &&
		rm "$c/m/gone.vhdx" || return 1
	nsh_run "$n" chinfo info 'fs0:\h\c2.vhdx'
	nsh_run "$n" chcheck check 'fs0:\h\c2.vhdx'
	nsh_run "$n" chjson info --json 'fs0:\h\c2.vhdx'
	nsh_run "$n" wcheck check 'fs0:\w\child.vhdx'
	nsh_run "$n" winfo info 'fs0:\w\child.vhdx'
	nsh_run "$n" wjson info --json 'fs0:\w\child.vhdx'
	nsh_run "$n" mcheck check 'fs0:\m\child.vhdx'
}

# chain_esp DIR: the folders onto DIR/esp.img
chain_esp() {
	local c=$1/ch
	mmd -i "$1/esp.img" ::h ::w ::m &&
		mcopy -i "$1/esp.img" "$c/h/b.vhdx" "$c/h/c1.vhdx" "$c/h/c2.vhdx" ::h &&
		mcopy -i "$1/esp.img" "$c/w/base.vhdx" "$c/w/child.vhdx" ::w &&
		mcopy -i "$1/esp.img" "$c/m/child.vhdx" ::m
}

# the lines that must agree: the chain's (info), the findings and closing
# line (check), names made the same
chain_norm() { # PREFIX
	sed -e "s|$1||g" -e 's|fs0:\\||g' -e 's|\\|/|g' |
		grep -E '^parent chain:|^  [0-9]+: |^(error|warning): parent|: VHDX \(' || true
}

# chain_verify DIR: each UEFI run against the host's on the same files
chain_verify() {
	local d=$1 L=$1/serial.txt c=$1/ch V=$BUILD/host/vhdx tag args want rc host efi
	while read -r tag want args; do
		rc=$(rc_of "$L" "$tag")
		if [ "$rc" != "$want" ]; then
			fail "chain $tag (vhdx.efi $args): %lasterror% '${rc:-none}', expected $want: $(out_of "$L" "$tag" | head -c 400)"
			continue
		fi
		host=$(cd "$c" && "$V" ${args//\\//} 2>&1 | chain_norm "$c/")
		efi=$(out_of "$L" "$tag" | chain_norm "$c/")
		case $args in
		*--json*)
			out_of "$L" "$tag" > "$c/$tag.efi.json"
			(cd "$c" && "$V" ${args//\\//} > "$c/$tag.host.json" 2>/dev/null)
			if python3 - "$c" "$c/$tag.efi.json" "$c/$tag.host.json" <<'PY'
import json, sys
strip, efi, host = sys.argv[1] + '/', sys.argv[2], sys.argv[3]
def chain(path, drop):
    c = json.load(open(path))['parent_chain']
    norm = lambda s: s.replace('fs0:\\', '').replace(drop, '').replace('\\', '/')
    return (c['verdict'], norm(c['why']),
            [(p['level'], norm(p['path']), p['key'], p['type'], p['virtual_size'], p['data_write_guid'])
             for p in c['parents']])
a, b = chain(efi, strip), chain(host, strip)
assert a == b, (a, b)
PY
			then
				pass "chain $tag: the UEFI app's parent_chain equals the host's ($args)"
			else
				fail "chain $tag: parent_chain differs between UEFI and the host ($args)"
			fi
			;;
		*)
			if [ -n "$efi" ] && [ "$efi" = "$host" ]; then
				pass "chain $tag: the UEFI app's lines equal the host's ($args, $(wc -l <<<"$efi") lines)"
			else
				fail "chain $tag: UEFI and host differ ($args): UEFI: $efi // host: $host"
			fi
			;;
		esac
	done <<'EOF'
chinfo 0x0 info h\c2.vhdx
chcheck 0x0 check h\c2.vhdx
chjson 0x0 info --json h\c2.vhdx
wcheck 0xA check w\child.vhdx
winfo 0x0 info w\child.vhdx
wjson 0x0 info --json w\child.vhdx
mcheck 0x0 check m\child.vhdx
EOF
	# what the lines must say, beyond agreeing
	if out_of "$L" wcheck | grep -qF 'found fs0:\w\base.vhdx: its DataWriteGuid is not the child'"'"'s parent_linkage' &&
	   out_of "$L" wcheck | grep -qF 'also tried absolute_win32_path C:\vms\base.vhdx: a Windows drive path, not followed here'; then
		pass "chain: UEFI check names the parent it rejected, then the Windows path it did not follow"
	else
		fail "chain: UEFI check of w\\child.vhdx: $(out_of "$L" wcheck | head -c 600)"
	fi
	if out_of "$L" chinfo | grep -qF '  2: fs0:\h\b.vhdx (relative_path): VHDX (dynamic, 8 MiB), DataWriteGuid matches parent_linkage'; then
		pass "chain: UEFI info walks the chain of three to fs0:\\h\\b.vhdx"
	else
		fail "chain: UEFI info of h\\c2.vhdx: $(out_of "$L" chinfo | grep -A3 'parent chain')"
	fi
	if out_of "$L" mcheck | grep -q '(parent.absent)'; then
		pass "chain: UEFI check of a child without its parent: parent.absent (a warning, 0x0)"
	else
		fail "chain: UEFI check of m\\child.vhdx: $(out_of "$L" mcheck | head -c 400)"
	fi
}
