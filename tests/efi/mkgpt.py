#!/usr/bin/env python3
"""tests/efi/mkgpt.py DISK SIZE_MIB START:SIZE:TYPE:GUID ... - write a GPT.

Writes a protective MBR, the primary GPT header and entry array at LBA 1
and 2, and the backup copies at the end of DISK (512-byte sectors),
following UEFI 2.x section 5.3.  Partitions are given in MiB: START:SIZE,
a type (esp, linux) and the partition's unique GUID.  The disk file is
created or resized; the partition contents are left alone.
"""
import struct
import sys
import uuid
import zlib

SECTOR = 512
TYPES = {
    "esp": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
    "linux": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
}
DISK_GUID = "5A1D0C3E-6F4B-4E2A-9D7C-112233445566"


def header(my_lba, alt_lba, entries_lba, last_lba, entries_crc):
    fields = [b"EFI PART", 0x00010000, 92, 0, 0, my_lba, alt_lba, 34, last_lba - 33,
              uuid.UUID(DISK_GUID).bytes_le, entries_lba, 128, 128, entries_crc]
    fmt = "<8sIIII QQQQ 16s QII I"
    h = struct.pack(fmt, *fields)
    crc = zlib.crc32(h)
    h = struct.pack(fmt, *fields[:3], crc, *fields[4:])
    return h.ljust(SECTOR, b"\0")


def main():
    path, size_mib, parts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    sectors = size_mib * 1024 * 1024 // SECTOR
    last = sectors - 1
    entries = bytearray(128 * 128)
    for i, p in enumerate(parts):
        start, size, kind, guid = p.split(":")
        first = int(start) * 2048
        end = first + int(size) * 2048 - 1
        name = ("part%d" % (i + 1)).encode("utf-16-le").ljust(72, b"\0")
        entries[i * 128:(i + 1) * 128] = struct.pack(
            "<16s16sQQQ72s", uuid.UUID(TYPES[kind]).bytes_le, uuid.UUID(guid).bytes_le,
            first, end, 0, name)
    ecrc = zlib.crc32(entries)
    mbr = bytearray(SECTOR)
    mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\0\x02\0", 0xEE, b"\xff\xff\xff", 1,
                               min(sectors - 1, 0xFFFFFFFF))
    mbr[510:512] = b"\x55\xaa"
    with open(path, "r+b" if _exists(path) else "w+b") as f:
        f.truncate(sectors * SECTOR)
        f.seek(0)
        f.write(mbr)
        f.write(header(1, last, 2, last, ecrc))
        f.write(entries)
        f.seek((last - 32) * SECTOR)
        f.write(entries)
        f.write(header(last, 1, last - 32, last, ecrc))


def _exists(path):
    try:
        open(path, "rb").close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
