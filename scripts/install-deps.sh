#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, only those
# missing (fast when all are there).  Runs apt-get as root, or through sudo.
set -eu
packages=(
	make gcc libc6-dev binutils python3 util-linux bzip2 gzip  # build, host tests, samples
	libcmocka-dev                                          # unit tests
	libcurl4-openssl-dev pkg-config                        # URL sources on the host (host_http.c)
	libssl-dev                                             # SHA-256 of libcrypto (host_sha256.c)
	nginx-light openssl curl                               # test_http.sh: servers on 127.0.0.1, test CA
	clang libclang-rt-14-dev                               # fuzzing (libFuzzer), i686 freestanding check
	gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu gcc-arm-none-eabi  # freestanding proof, AArch64 EFI
	gnu-efi mtools dosfstools                              # UEFI app and its ESP
	ovmf qemu-system-x86 qemu-efi-aarch64 qemu-system-arm  # UEFI runs under QEMU
	qemu-utils 7zip libvhdi-utils bmap-tools               # independent validators (bmaptool: test_bmap.sh)
	strace valgrind                                        # make bench (not make check)
	qemu-block-extra                                       # bench-http: qemu-img reads http(s):// (its curl driver)
	fdisk gdisk e2fsprogs                                  # target-safety tests: MBR, GPT, ext4
	debhelper dpkg-dev lintian scdoc man-db groff-base git # make deb, check-deb: package, manual, lintian
	nginx-light openssl                                    # network deploy tests (tests/efi/net.sh)
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
