#!/usr/bin/env python3
"""Which page frames of a kdump-compressed dump did some tools read?

usage: select-pages.py DUMP [--strace LOG]... [--pfns FILE]... > PFNS

  --strace LOG  an `strace -f -e trace=openat,open,read,pread64,lseek,close,dup,dup2,dup3 -s 0`
                log of a tool reading DUMP (crash, drgn): every read of a page descriptor or of a
                page's stored bytes names a pfn. (Reads of the headers/bitmaps name none.)
                (drgn's libkdumpfile mmaps the dump: run it with LD_PRELOAD=nommap.so so it preads.)
  --pfns FILE   pfns recorded by vmpipe's own reader (VMPIPE_RECORD_PAGES=FILE), one per line

Every page makedumpfile stored as its shared zero page is kept too (24 bytes each).
Prints the union as sorted decimal pfns, one per line; a summary on stderr.
Spec: makedumpfile's diskdump_mod.h (disk_dump_header, kdump_sub_header, page_desc_t).
"""
import bisect, os, re, struct, sys


def kdump_index(path):
    f = open(path, "rb")
    h = f.read(464)
    assert h[:8] == b"KDUMP   ", "not a kdump-compressed file"
    version, = struct.unpack_from("<i", h, 8)
    block, sub_blocks, bitmap_blocks, max_mapnr = struct.unpack_from("<iiII", h, 428)
    if version >= 6:
        f.seek(block + 96)
        m64, = struct.unpack("<Q", f.read(8))
        max_mapnr = m64 or max_mapnr
    bm1 = block * (1 + sub_blocks)
    half = bitmap_blocks * block // 2
    f.seek(bm1 + half)
    bm2 = f.read(half)
    desc_off = bm1 + bitmap_blocks * block
    pfns = [p for p in range(max_mapnr) if bm2[p >> 3] >> (p & 7) & 1]
    f.seek(desc_off)
    descs = f.read(24 * len(pfns))
    # data offset -> pfns stored there (makedumpfile's zero page is shared by many)
    by_data = {}
    for i, p in enumerate(pfns):
        off, size = struct.unpack_from("<qI", descs, 24 * i)
        by_data.setdefault(off, []).append(p)
    starts = sorted(by_data)
    return pfns, desc_off, starts, by_data


def from_strace(log, dump, pfns, desc_off, starts, by_data, out):
    dump = os.path.realpath(dump)
    fds = {}  # (pid, fd) -> position, for the fds open on the dump
    pos = {}
    rx_open = re.compile(r'^(?:\[pid\s+)?(\d+)?\]?\s*(?:openat\(\w+, |open\()"([^"]+)".*\)\s+=\s+(\d+)')
    rx_call = re.compile(r'^(?:\[pid\s+)?(\d+)?\]?\s*(\w+)\((\d+)(.*)\)\s+=\s+(-?\d+)')
    zero_shared = set(o for o, ps in by_data.items() if len(ps) > 1)
    for line in open(log, errors="replace"):
        line = re.sub(r"^(\d+)\s+", r"\1 ", line)  # strace -f prefixes "PID "
        m = re.match(r"^(\d+) (.*)", line)
        pid, rest = (m.group(1), m.group(2)) if m else ("0", line)
        mo = rx_open.match(rest)
        if mo:
            # the tools run in a scratch dir where the dump is the link "vmcore.kdump"
            if os.path.realpath(mo.group(2)) == dump or os.path.basename(mo.group(2)) == "vmcore.kdump":
                fds[(pid, mo.group(3))] = True
                pos[(pid, mo.group(3))] = 0
            continue
        mc = rx_call.match(rest)
        if not mc:
            continue
        call, fd, args, ret = mc.group(2), mc.group(3), mc.group(4), int(mc.group(5))
        key = (pid, fd)
        if key not in fds:
            continue
        if call == "close":
            del fds[key]
            continue
        if call == "lseek":
            if ret >= 0:
                pos[key] = ret
            continue
        if call == "pread64":
            off = int(args.rsplit(",", 1)[1])
        elif call == "read":
            off = pos[key]
            pos[key] += max(ret, 0)
        else:
            continue
        if ret <= 0:
            continue
        lo, hi = off, off + ret
        # a descriptor read names its pfn when it is crash's one-descriptor read; libkdumpfile
        # (drgn) reads descriptors a block at a time, so there only the data reads count
        if ret <= 48 and hi > desc_off and lo < desc_off + 24 * len(pfns):
            for i in range(max(0, (lo - desc_off) // 24), min(len(pfns), (hi - desc_off + 23) // 24)):
                out.add(pfns[i])
        if lo >= desc_off + 24 * len(pfns) or hi > desc_off + 24 * len(pfns):
            j = bisect.bisect_right(starts, lo) - 1
            while j < len(starts) and starts[j] < hi:
                if j >= 0 and starts[j] not in zero_shared:
                    out.update(by_data[starts[j]])
                j += 1


def main(argv):
    dump = argv[0]
    pfns, desc_off, starts, by_data = kdump_index(dump)
    out = set()
    i = 1
    while i < len(argv):
        what, arg = argv[i], argv[i + 1]
        i += 2
        before = len(out)
        if what == "--strace":
            from_strace(arg, dump, pfns, desc_off, starts, by_data, out)
        elif what == "--pfns":
            out.update(int(l) for l in open(arg) if l.strip())
        else:
            sys.exit("select-pages.py: unknown option " + what)
        print("select-pages: %s %s: +%d pfns" % (what, os.path.basename(arg), len(out) - before), file=sys.stderr)
    # makedumpfile's zero pages share one stored page: keeping them all costs 24 bytes each
    zero = [p for o, ps in by_data.items() if len(ps) > 1 for p in ps]
    out.update(zero)
    print("select-pages: +%d zero pages (all of them)" % len(zero), file=sys.stderr)
    dumped = set(pfns)
    kept = sorted(p for p in out if p in dumped)
    print("select-pages: %d of %d dumped pages kept" % (len(kept), len(pfns)), file=sys.stderr)
    sys.stdout.write("".join("%d\n" % p for p in kept))


if __name__ == "__main__":
    main(sys.argv[1:])
