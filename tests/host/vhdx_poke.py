#!/usr/bin/env python3
# tests/host/vhdx_poke.py - test helper for test_convert.sh, test_compare.sh
# and test_repair.sh: an independent reading of a VHDX's layout (its own
# parser, not our tool's), hand-written payload for images no other tool
# can write (PARTIALLY_PRESENT blocks of differencing children, 4096-byte
# sectors), and a scan of the log.  Facts from ../shared/docs/VHDX-FORMAT.md.
#
#   vhdx_poke.py geom IMG
#       one JSON object: block_size, lss, virtual_size, has_parent,
#       chunk_ratio, bat_offset, log_guid (current header, hex), file_size
#   vhdx_poke.py blocks IMG MODEL LEVEL SPEC...
#       write blocks into IMG (appended at the file end, MiB-aligned) and
#       apply the same to MODEL, a raw file holding what the virtual disk
#       must read (for a child: start from a copy of the parent's model).
#       SPEC: full:B    block B FULLY_PRESENT, every sector a unique pattern
#             zero:B    block B ZERO (reads zeros, the parent not consulted)
#             partial:B:SEED  block B PARTIALLY_PRESENT: a sector bitmap
#                       with runs that start and end mid-byte (and random
#                       ones from SEED); sectors whose bit is 0 hold 0xee
#                       garbage in the child's data block (must not be read)
#             empty:B   PARTIALLY_PRESENT with no bit set (all from parent)
#   vhdx_poke.py logscan IMG
#       "clean" (LogGuid zero), "active N" (N log entries carry the
#       header's LogGuid and a valid CRC-32C), "torn" (LogGuid set, entries
#       carry it but none is valid: a write of the entry cut), or "none"
#       (LogGuid set, no entry carries it)
#   vhdx_poke.py bat IMG
#       one JSON object from the BAT of a non-differencing image: states
#       (count per state name), stored (FULLY_PRESENT payload blocks),
#       first (lowest file offset of a stored block, or null), in_order
#       (stored blocks laid out one after the other from first, in
#       virtual order), end (first + stored x block size)
#   vhdx_poke.py verify [--data-only] IMG RAW
#       the virtual disk of a non-differencing IMG, read block by block
#       from its BAT, against the raw file RAW (holes skipped with
#       SEEK_DATA; the disk's tail beyond RAW must be zeros): "same", or
#       the first differing block and exit 1.  --data-only: stored blocks
#       over which RAW is all holes are not read (a large fixed image),
#       counted in the answer
#   vhdx_poke.py layout IMG dynamic|fixed NZ DATA_START
#       from bat IMG: a dynamic image stores exactly NZ blocks, the rest
#       ZERO, one after the other in virtual order from DATA_START, and the
#       file ends after the last; a fixed one stores every block so, and is
#       not sparse (allocated >= its size).  "ok: WHAT" or "bad: WHY", exit 1
#   vhdx_poke.py datahash FILE
#       sha256 over the data ranges of FILE (holes skipped), its size and
#       its mtime and ctime in ns: a cheap "unchanged" for sparse files
#   vhdx_poke.py mkraw RAW SIZE SPEC...
#       a new sparse raw file of SIZE bytes: SPEC rand:OFF:LEN:SEED
#       (LEN pseudo-random bytes at OFF), byte:OFF:HEX (one byte),
#       zero:OFF:LEN (LEN zero bytes written: allocated, not a hole)
#   vhdx_poke.py dirtylog IMG MODEL CASE
#       writes a log into IMG (a dynamic image, 1 MiB blocks) and sets the
#       current header's LogGuid; MODEL gets the file as replay must leave
#       it (every descriptor applied in order, the file extended to
#       LastFileOffset, the headers as they were: LogGuid not cleared).
#       CASE: multi (one entry, data and zero descriptors), zerodesc (an
#       entry with none, one with zero descriptors only), wrap (entries
#       around the ring's end), long (40 entries), padded (EntryLength
#       longer than its sectors; padded2: two such entries), orphan (no entry carries LogGuid: MODEL
#       is the file as it is), last4t (LastFileOffset 4 TiB)
#   vhdx_poke.py nonzero RAW BS
#       how many BS-sized blocks of RAW hold a non-zero byte (the last
#       one may be short): "N" then the block numbers
import json
import os
import random
import struct
import sys
import uuid

MiB = 1 << 20
BAT_GUID = uuid.UUID('2DC27766-F623-4200-9D64-115E9BFD4A08')
META_GUID = uuid.UUID('8B7CA206-4790-4B9A-B8FE-575F050F886E')
FILE_PARAMS = uuid.UUID('CAA16737-FA36-4D43-B3B6-33F0AA44E76B')
VDISK_SIZE = uuid.UUID('2FA54224-CD1B-4876-B211-5DBED83BF4B8')
LSS_GUID = uuid.UUID('8141BF1D-A96F-4709-BA47-F233A8FAAB5F')

_table = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _table.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def current_header(f):
    best = None
    for off in (64 << 10, 128 << 10):
        f.seek(off)
        h = bytearray(f.read(4096))
        if h[:4] != b'head':
            continue
        want = struct.unpack_from('<I', h, 4)[0]
        h[4:8] = b'\0\0\0\0'
        if crc32c(h) != want:
            continue
        seq = struct.unpack_from('<Q', h, 8)[0]
        if best is None or seq > best[0]:
            best = (seq, bytes(h))
    if best is None:
        sys.exit('no valid header')
    return best[1]


def geom(path):
    with open(path, 'rb') as f:
        h = current_header(f)
        f.seek(192 << 10)
        rt = f.read(64 << 10)
        assert rt[:4] == b'regi', 'region table 1'
        regions = {}
        for i in range(struct.unpack_from('<I', rt, 8)[0]):
            g = uuid.UUID(bytes_le=rt[16 + 32 * i:32 + 32 * i])
            regions[g] = struct.unpack_from('<QI', rt, 32 + 32 * i)
        mo = regions[META_GUID][0]
        f.seek(mo)
        mt = f.read(64 << 10)
        assert mt[:8] == b'metadata'
        items = {}
        for i in range(struct.unpack_from('<H', mt, 10)[0]):
            e = mt[32 + 32 * i:64 + 32 * i]
            items[uuid.UUID(bytes_le=e[:16])] = struct.unpack_from('<II', e, 16)

        def item(g, fmt):
            f.seek(mo + items[g][0])
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))

        bs, flags = item(FILE_PARAMS, '<II')
        vs, = item(VDISK_SIZE, '<Q')
        lss, = item(LSS_GUID, '<I')
        size = f.seek(0, 2)
    return {'block_size': bs, 'lss': lss, 'virtual_size': vs, 'has_parent': bool(flags & 2),
            'chunk_ratio': (1 << 23) * lss // bs, 'bat_offset': regions[BAT_GUID][0],
            'log_guid': h[48:64].hex(), 'log_offset': struct.unpack_from('<Q', h, 72)[0],
            'log_length': struct.unpack_from('<I', h, 68)[0], 'file_size': size}


def pattern(level, first_sector, count, lss):
    """count sectors, each unique: level, a tag, the virtual sector number"""
    out = bytearray()
    for s in range(first_sector, first_sector + count):
        unit = struct.pack('<IIQ', 0x600d0000 + level, 0xa5c3 ^ (s & 0xffff), s)
        out += unit * (lss // len(unit))
    return bytes(out)


def bitmap_bits(nsect, seed, empty):
    """which sectors of a block are present in the child: runs that start
    and end mid-byte, the first and last sector, random ones"""
    bits = [False] * nsect
    if empty:
        return bits
    for a, b in ((0, 1), (3, 13), (21, 22), (37, 64 + 5), (nsect // 2 - 5, nsect // 2 + 17),
                 (nsect - 7, nsect)):
        for s in range(a, b):
            bits[s] = True
    r = random.Random(seed)
    for s in range(200, min(nsect - 8, 900)):
        if r.random() < 0.3:
            bits[s] = True
    return bits


def blocks(path, model, level, specs):
    g = geom(path)
    bs, lss, cr = g['block_size'], g['lss'], g['chunk_ratio']
    spb = bs // lss  # sectors per block
    with open(path, 'r+b') as f, open(model, 'r+b') as m:
        def append(data):
            end = (f.seek(0, 2) + MiB - 1) & ~(MiB - 1)
            f.seek(end)
            f.write(data)
            return end

        def set_entry(index, value):
            f.seek(g['bat_offset'] + 8 * index)
            f.write(struct.pack('<Q', value))

        def get_entry(index):
            f.seek(g['bat_offset'] + 8 * index)
            return struct.unpack('<Q', f.read(8))[0]

        for spec in specs:
            kind, b = spec.split(':')[0], int(spec.split(':')[1])
            first = b * spb
            n = min(spb, g['virtual_size'] // lss - first)
            assert n > 0, spec
            index = b + b // cr
            if kind == 'full':
                data = pattern(level, first, n, lss).ljust(bs, b'\0')
                set_entry(index, append(data) | 6)
                m.seek(first * lss)
                m.write(data[:n * lss])
            elif kind == 'zero':
                set_entry(index, 2)
                m.seek(first * lss)
                m.write(b'\0' * (n * lss))
            elif kind in ('partial', 'empty'):
                assert g['has_parent'], 'PARTIALLY_PRESENT needs a differencing image'
                bits = bitmap_bits(n, int(spec.split(':')[2]) if kind == 'partial' else 0, kind == 'empty')
                mine = pattern(level, first, n, lss)
                data = bytearray(b'\xee' * bs)
                for s in range(n):
                    if bits[s]:
                        data[s * lss:(s + 1) * lss] = mine[s * lss:(s + 1) * lss]
                        m.seek((first + s) * lss)
                        m.write(mine[s * lss:(s + 1) * lss])
                set_entry(index, append(bytes(data)) | 7)
                # the chunk's sector bitmap block: reuse it if present
                chunk = b // cr
                bindex = chunk * (cr + 1) + cr
                e = get_entry(bindex)
                if e & 7 == 6:
                    boff = e & ~((1 << 20) - 1)
                else:
                    boff = append(b'\0' * MiB)
                    set_entry(bindex, boff | 6)
                f.seek(boff)
                bm = bytearray(f.read(MiB))
                base = first - chunk * (1 << 23)  # the block's first sector within the chunk
                for s in range(n):
                    bit = base + s
                    if bits[s]:
                        bm[bit // 8] |= 1 << (bit % 8)
                    else:
                        bm[bit // 8] &= ~(1 << (bit % 8)) & 0xff
                f.seek(boff)
                f.write(bm)
            else:
                sys.exit('unknown spec ' + spec)
        # a dynamic or differencing file ends at a MiB boundary
        end = (f.seek(0, 2) + MiB - 1) & ~(MiB - 1)
        f.truncate(end)


def logscan(path):
    g = geom(path)
    guid = bytes.fromhex(g['log_guid'])
    if guid == bytes(16):
        return 'clean'
    n = carried = 0
    with open(path, 'rb') as f:
        f.seek(g['log_offset'])
        log = f.read(g['log_length'])
    for o in range(0, len(log), 4096):
        if log[o:o + 4] != b'loge' or log[o + 32:o + 48] != guid:
            continue
        carried += 1
        length = struct.unpack_from('<I', log, o + 8)[0]
        if length % 4096 or length == 0 or o + length > len(log):
            continue
        e = bytearray(log[o:o + length])
        want = struct.unpack_from('<I', e, 4)[0]
        e[4:8] = b'\0\0\0\0'
        if crc32c(e) == want:
            n += 1
    return 'active %d' % n if n else 'torn' if carried else 'none'


STATES = {0: 'not_present', 1: 'undefined', 2: 'zero', 3: 'unmapped', 6: 'fully_present',
          7: 'partially_present'}


def bat_entries(path):
    """geom, and [(block, state, file offset)] of every payload block"""
    g = geom(path)
    bs, cr = g['block_size'], g['chunk_ratio']
    n = (g['virtual_size'] + bs - 1) // bs
    out = []
    with open(path, 'rb') as f:
        f.seek(g['bat_offset'])
        raw = f.read(8 * (n + n // cr + 1))
    for b in range(n):
        e = struct.unpack_from('<Q', raw, 8 * (b + b // cr))[0]
        out.append((b, e & 7, e & ~((1 << 20) - 1)))
    return g, out


def bat(path):
    g, ents = bat_entries(path)
    assert not g['has_parent'], 'bat: a differencing image'
    states = {}
    for _, st, _ in ents:
        k = STATES.get(st, 'reserved%d' % st)
        states[k] = states.get(k, 0) + 1
    stored = [(b, off) for b, st, off in ents if st == 6]
    first = min((off for _, off in stored), default=None)
    in_order = all(off == first + k * g['block_size'] for k, (_, off) in enumerate(stored))
    return {'states': states, 'stored': len(stored), 'first': first, 'in_order': in_order,
            'end': None if first is None else first + len(stored) * g['block_size'],
            'blocks': len(ents)}


def data_ranges(f, start, end):
    """the (offset, length) ranges of f in [start, end) that may hold data"""
    fd, pos = f.fileno(), start
    while pos < end:
        try:
            d = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            return
        if d >= end:
            return
        h = min(os.lseek(fd, d, os.SEEK_HOLE), end)
        yield d, h - d
        pos = h


def is_zero_range(f, start, end):
    for d, n in data_ranges(f, start, end):
        f.seek(d)
        while n > 0:
            c = f.read(min(n, 4 * MiB))
            if not c or c.count(0) != len(c):
                return False
            n -= len(c)
    return True


def verify(path, rawpath, data_only=False):
    g, ents = bat_entries(path)
    assert not g['has_parent'], 'verify: a differencing image'
    bs, vs = g['block_size'], g['virtual_size']
    with open(path, 'rb') as f, open(rawpath, 'rb') as r:
        rsize = r.seek(0, 2)
        if rsize > vs:
            return 'RAW is %d bytes, the disk %d' % (rsize, vs)
        compared = skipped = 0
        for b, st, off in ents:
            lo, hi = b * bs, min(vs, (b + 1) * bs)
            if st == 6 and data_only and not any(True for _ in data_ranges(r, lo, min(hi, rsize))):
                skipped += 1
            elif st == 6:
                compared += 1
                f.seek(off)
                mine = f.read(hi - lo)
                r.seek(lo)
                theirs = r.read(max(0, min(hi, rsize) - lo))
                theirs += bytes(hi - lo - len(theirs))
                if mine != theirs:
                    i = next(i for i in range(len(mine)) if mine[i] != theirs[i])
                    return 'block %d (state %d at %d): first difference at disk offset %d' % (b, st, off, lo + i)
            elif st in (0, 2, 3):
                if lo < rsize and not is_zero_range(r, lo, min(hi, rsize)):
                    return 'block %d reads as zeros (state %d), RAW has data there' % (b, st)
            else:
                return 'block %d: state %d' % (b, st)
    if data_only:
        return None, 'same: %d stored blocks compared, %d over holes of RAW not read' % (compared, skipped)
    return None


def layout(path, kind, nz, data_start):
    g, b = geom(path), bat(path)
    bs, size = g['block_size'], os.stat(path).st_size
    if b['stored'] and b['first'] != data_start:
        return 'first stored block at %s, data_start %d' % (b['first'], data_start)
    if not b['in_order']:
        return 'stored blocks not one after the other in virtual order'
    if data_start not in (4 * MiB, 8 * MiB):
        return 'data_start %d is not the 4 MiB layout' % data_start
    if kind == 'dynamic':
        if b['stored'] != nz:
            return '%d blocks stored, the source has %d non-zero blocks (%s)' % (b['stored'], nz, b['states'])
        if b['stored'] + b['states'].get('zero', 0) != b['blocks']:
            return 'states other than ZERO and FULLY_PRESENT: %s' % b['states']
        if size != data_start + nz * bs:
            return 'file is %d bytes, expected %d + %d x %d' % (size, data_start, nz, bs)
        return None, '%d of %d blocks stored (the non-zero ones), the rest ZERO, file = %d MiB + %d x %d MiB' % (
            nz, b['blocks'], data_start // MiB, nz, bs // MiB)
    if b['stored'] != b['blocks']:
        return 'fixed, but %d of %d blocks stored: %s' % (b['stored'], b['blocks'], b['states'])
    if size != data_start + b['blocks'] * bs:
        return 'fixed file is %d bytes, expected %d + %d x %d' % (size, data_start, b['blocks'], bs)
    if os.stat(path).st_blocks * 512 < size:
        return 'fixed file is sparse: %d bytes allocated of %d' % (os.stat(path).st_blocks * 512, size)
    return None, 'fixed: all %d blocks stored in order, file = %d MiB + %d x %d MiB, not sparse' % (
        b['blocks'], data_start // MiB, b['blocks'], bs // MiB)


def datahash(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        size = f.seek(0, 2)
        for d, n in data_ranges(f, 0, size):
            h.update(struct.pack('<QQ', d, n))
            f.seek(d)
            while n > 0:
                c = f.read(min(n, 4 * MiB))
                h.update(c)
                n -= len(c)
    st = os.stat(path)
    return '%s %d %d %d' % (h.hexdigest(), size, st.st_mtime_ns, st.st_ctime_ns)


def mkraw(path, size, specs):
    with open(path, 'wb') as f:
        f.truncate(size)
        for spec in specs:
            kind, a = spec.split(':', 1)
            if kind == 'rand':
                off, n, seed = (int(x, 0) for x in a.split(':'))
                f.seek(off)
                f.write(random.Random(seed).randbytes(n))
            elif kind == 'zero':
                off, n = (int(x, 0) for x in a.split(':'))
                f.seek(off)
                f.write(bytes(n))
            elif kind == 'byte':
                off, v = a.split(':')
                f.seek(int(off, 0))
                f.write(bytes([int(v, 16)]))
            else:
                sys.exit('unknown spec ' + spec)
        assert f.seek(0, 2) == size, 'a spec writes beyond SIZE'


def nonzero(path, bs):
    found = set()
    with open(path, 'rb') as f:
        size = f.seek(0, 2)
        for d, n in data_ranges(f, 0, size):
            b = d // bs
            while b * bs < d + n:
                lo, hi = max(d, b * bs), min(d + n, (b + 1) * bs)
                if b not in found and not is_zero_range(f, lo, hi):
                    found.add(b)
                b += 1
    return sorted(found)


# --- dirty logs written here, and the model of the file after replay -----
# An entry [2.3.1]: descriptor sectors (a 64-byte header, 32-byte
# descriptors), one data sector per data descriptor, optional padding
# (EntryLength longer); CRC-32C over EntryLength bytes, its field zero.

def _entry(guid, seq, tail, descs, flushed, last, pad=0):
    """descs: ('data', off, 4096 bytes) or ('zero', off, length)"""
    count = len(descs)
    dsec = (64 + 32 * count + 4095) // 4096
    data = [d for d in descs if d[0] == 'data']
    length = (dsec + len(data) + pad) * 4096
    e = bytearray(length)
    struct.pack_into('<4sIIIQI4x16sQQ', e, 0, b'loge', 0, length, tail, seq, count, guid, flushed, last)
    for i, d in enumerate(descs):
        at = 64 + 32 * i
        if d[0] == 'data':
            sec = d[2]
            struct.pack_into('<4sIQQQ', e, at, b'desc', struct.unpack_from('<I', sec, 4092)[0],
                             struct.unpack_from('<Q', sec, 0)[0], d[1], seq)
        else:
            struct.pack_into('<4sIQQQ', e, at, b'zero', 0, d[2], d[1], seq)
    for k, d in enumerate(data):
        at = (dsec + k) * 4096
        e[at:at + 4096] = d[2]
        struct.pack_into('<4sI', e, at, b'data', seq >> 32)
        struct.pack_into('<I', e, at + 4092, seq & 0xFFFFFFFF)
    for at in range((dsec + len(data)) * 4096, length, 4096):
        e[at:at + 4096] = bytes([0xA5]) * 4096
        if pad > 1:
            e[at:at + 4] = b'loge'  # padding that looks like an entry header
    struct.pack_into('<I', e, 4, crc32c(e))
    return bytes(e)


def _set_log_guid(img, guid):
    """LogGuid of the current header (by sequence number), checksum fixed"""
    best = None
    for off in (64 << 10, 128 << 10):
        h = img[off:off + 4096]
        if h[:4] == b'head':
            seq = struct.unpack_from('<Q', h, 8)[0]
            if best is None or seq > best[0]:
                best = (seq, off)
    off = best[1]
    img[off + 48:off + 64] = guid
    img[off + 4:off + 8] = b'\0\0\0\0'
    struct.pack_into('<I', img, off + 4, crc32c(img[off:off + 4096]))


def _sector(seed):
    r = random.Random(seed)
    return bytes(r.getrandbits(8) for _ in range(4096))


def dirtylog(path, model_path, case):
    """writes a log of CASE into PATH (LogGuid set in the current header)
    and the file as it must be after replay into MODEL_PATH (LogGuid zero)"""
    g = geom(path)
    assert g['block_size'] == MiB and not g['has_parent'], 'dirtylog: a dynamic image, 1 MiB blocks'
    with open(path, 'rb') as f:
        img = bytearray(f.read())
    size = len(img)
    guid = uuid.UUID(int=random.Random(case).getrandbits(128)).bytes
    lo, ln, bat = g['log_offset'], g['log_length'], g['bat_offset']
    ring = bytearray(img[lo:lo + ln])
    model = bytearray(img)
    batpage = bytearray(img[bat:bat + 4096])
    end = (size + MiB - 1) & ~(MiB - 1)
    entries = []       # (descs, last, pad)

    def alloc(block, nsec, seed, last_sector=True):
        """a block allocated at the file end: its BAT sector, nsec sectors of
        data (and its last one: qemu extends a file only to the last sector
        it writes, not to LastFileOffset)"""
        nonlocal end
        at = end
        end += MiB
        struct.pack_into('<Q', batpage, 8 * block, at | 6)
        d = [('data', bat, bytes(batpage))]
        d += [('data', at + 4096 * (3 * k + 1), _sector(seed * 100 + k)) for k in range(nsec)]
        if last_sector:
            d.append(('data', at + MiB - 4096, _sector(seed * 100 + 99)))
        return d

    if case == 'multi':      # one entry, several descriptors of both kinds
        d = alloc(1, 5, 1) + [('zero', end - MiB + 4 * 4096, 8192)] + alloc(7, 3, 2)
        entries.append((d, end, 0))
    elif case == 'zerodesc':  # an entry with no descriptor, one with zero descriptors only
        entries.append((alloc(2, 4, 3, False), end, 0))   # LastFileOffset past the last write
        entries.append(([], end, 0))
        entries.append(([('zero', end - MiB, 3 * 4096), ('zero', end - MiB + 64 * 4096, 4096)], end, 0))
    elif case == 'wrap':      # entries from near the ring's end around its start, one wrapping
        for k in range(4):
            entries.append((alloc(10 + k, 2, 10 + k), end, 0))
    elif case == 'long':      # a long sequence: 40 entries
        for k in range(40):
            entries.append((alloc(k, 1 + k % 3, 100 + k), end, 0))
    elif case == 'padded':    # EntryLength two sectors longer than its parts
        entries.append((alloc(3, 2, 5), end, 2))
    elif case == 'padded2':   # two padded entries in one sequence
        entries.append((alloc(3, 2, 5), end, 2))
        entries.append((alloc(4, 1, 6), end, 1))
    elif case == 'orphan':    # LogGuid set, no entry carries it (another log's entry only)
        other = _entry(bytes(16 * [7]), 9, 0, alloc(5, 1, 7), size, end)
        ring[0:len(other)] = other
    elif case == 'last4t':    # LastFileOffset 4 TiB: past anything the image can need
        entries.append((alloc(6, 1, 8), 4 << 40, 0))
    else:
        sys.exit('dirtylog: unknown case ' + case)

    lens = [(((64 + 32 * len(d) + 4095) // 4096) + sum(1 for x in d if x[0] == 'data') + pad) * 4096
            for d, _, pad in entries]
    total = sum(lens)
    assert total <= ln, 'dirtylog: the log is too small'
    pos = ln - lens[0] - lens[1] // 2 // 4096 * 4096 if case == 'wrap' else 0
    pos -= pos % 4096
    tail = pos
    for k, (d, last, pad) in enumerate(entries):
        e = _entry(guid, 1000 + k, tail, d, size, last, pad)
        for i in range(0, len(e), 4096):
            p = (pos + i) % ln
            ring[p:p + 4096] = e[i:i + 4096]
        pos = (pos + len(e)) % ln
        for x in d:
            if x[1] + (4096 if x[0] == 'data' else x[2]) > len(model):
                model.extend(bytes(x[1] + (4096 if x[0] == 'data' else x[2]) - len(model)))
            if x[0] == 'data':
                model[x[1]:x[1] + 4096] = x[2]
            else:
                model[x[1]:x[1] + x[2]] = bytes(x[2])
    if entries and entries[-1][1] > len(model) and case != 'last4t':
        model.extend(bytes(entries[-1][1] - len(model)))
    img[lo:lo + ln] = ring
    model[lo:lo + ln] = ring
    _set_log_guid(img, guid)
    with open(path, 'wb') as f:
        f.write(img)
    with open(model_path, 'wb') as f:
        f.write(model)
    return '%d entries, %d bytes of log' % (len(entries), total)


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'geom':
        print(json.dumps(geom(sys.argv[2])))
    elif cmd == 'blocks':
        blocks(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
    elif cmd == 'logscan':
        print(logscan(sys.argv[2]))
    elif cmd == 'bat':
        print(json.dumps(bat(sys.argv[2])))
    elif cmd == 'verify':
        if sys.argv[2] == '--data-only':
            why = verify(sys.argv[3], sys.argv[4], True)
            why, said = why if isinstance(why, tuple) else (why, None)
        else:
            why, said = verify(sys.argv[2], sys.argv[3]), 'same'
        print(why or said)
        sys.exit(1 if why else 0)
    elif cmd == 'layout':
        r = layout(sys.argv[2], sys.argv[3], int(sys.argv[4]) if sys.argv[4] != '-' else None, int(sys.argv[5]))
        print('ok: ' + r[1] if isinstance(r, tuple) else 'bad: ' + r)
        sys.exit(0 if isinstance(r, tuple) else 1)
    elif cmd == 'datahash':
        print(datahash(sys.argv[2]))
    elif cmd == 'mkraw':
        mkraw(sys.argv[2], int(sys.argv[3], 0), sys.argv[4:])
    elif cmd == 'dirtylog':
        print(dirtylog(sys.argv[2], sys.argv[3], sys.argv[4]))
    elif cmd == 'nonzero':
        nz = nonzero(sys.argv[2], int(sys.argv[3], 0))
        print(len(nz), *nz)
    else:
        sys.exit('usage: vhdx_poke.py geom|blocks|logscan|bat|verify|layout|datahash|mkraw|nonzero ...')
