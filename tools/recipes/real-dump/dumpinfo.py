#!/usr/bin/env python3
"""dumpinfo.py -- independent byte-level reader used by collect.sh to pick
sample addresses and cross-check the reference tools.  Not a product; stdlib only.

  dumpinfo.py kdump FILE            header, sub-header, bitmap counts (JSON)
  dumpinfo.py pfns FILE N           N dumpable and N excluded RAM pfns (JSON)
  dumpinfo.py elfnotes FILE         NT_PRSTATUS registers + VMCOREINFO of an ELF vmcore (JSON)
  dumpinfo.py kdumpnotes FILE       same, from a kdump-compressed file's note area
"""
import json, struct, sys

PRSTATUS_REGS = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
                 "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
                 "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs"]


def parse_notes(buf):
    out, off = [], 0
    while off + 12 <= len(buf):
        namesz, descsz, ntype = struct.unpack_from("<III", buf, off)
        off += 12
        name = buf[off:off + namesz].rstrip(b"\0").decode("latin1")
        off += (namesz + 3) & ~3
        desc = buf[off:off + descsz]
        off += (descsz + 3) & ~3
        if namesz == 0 and descsz == 0 and ntype == 0:
            break
        out.append((name, ntype, desc))
    return out


def notes_facts(notes):
    cpus, vmcoreinfo, qemu = [], None, 0
    for name, ntype, desc in notes:
        if name == "CORE" and ntype == 1:
            pr_pid = struct.unpack_from("<I", desc, 32)[0]
            regs = struct.unpack_from("<27Q", desc, 112)
            cpus.append({"note_index": len(cpus), "pr_pid": pr_pid,
                         "regs": {k: "0x%x" % v for k, v in zip(PRSTATUS_REGS, regs)}})
        elif name == "VMCOREINFO":
            vmcoreinfo = desc.rstrip(b"\0").decode()
        elif name == "QEMU":
            qemu += 1
    return {"prstatus": cpus, "qemu_cpustate_notes": qemu, "vmcoreinfo": vmcoreinfo}


def elfnotes(path):
    with open(path, "rb") as f:
        h = f.read(64)
        e_phoff = struct.unpack_from("<Q", h, 0x20)[0]
        e_phentsize, e_phnum = struct.unpack_from("<HH", h, 0x36)
        f.seek(e_phoff)
        ph = f.read(e_phentsize * e_phnum)
        notes = []
        for i in range(e_phnum):
            p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", ph, i * e_phentsize)
            if p_type == 4:
                f.seek(p_offset)
                notes += parse_notes(f.read(p_filesz))
    return notes_facts(notes)


def kdump_header(path):
    with open(path, "rb") as f:
        h = f.read(4096)
        sig = h[:8]
        if sig != b"KDUMP   ":
            sys.exit("not a kdump-compressed file (signature %r)" % sig)
        header_version = struct.unpack_from("<i", h, 8)[0]
        # new_utsname: 6 * 65 bytes at 12, then pad to 8 -> timeval at 408
        uts = [h[12 + 65 * i:12 + 65 * (i + 1)].split(b"\0")[0].decode() for i in range(6)]
        tv_sec, tv_usec = struct.unpack_from("<qq", h, 408)
        (status, block_size, sub_hdr_size, bitmap_blocks, max_mapnr, total_ram_blocks,
         device_blocks, written_blocks, current_cpu, nr_cpus) = struct.unpack_from("<10I", h, 424)
        f.seek(block_size)
        s = f.read(block_size * sub_hdr_size)
        phys_base, dump_level, split = struct.unpack_from("<Qii", s, 0)
        start_pfn, end_pfn, off_vmci, size_vmci, off_note, size_note, off_erase, size_erase = \
            struct.unpack_from("<QQQQQQQQ", s, 16)
        start_pfn_64, end_pfn_64, max_mapnr_64 = struct.unpack_from("<QQQ", s, 80)
        f.seek(block_size * (1 + sub_hdr_size))
        bitmap = f.read(block_size * bitmap_blocks)
        f.seek(off_note)
        notes = f.read(size_note)
    mm = max_mapnr_64 if header_version >= 6 else max_mapnr
    half = len(bitmap) // 2
    bm1, bm2 = bitmap[:half], bitmap[half:]
    pop = lambda b: sum(bin(x).count("1") for x in b)
    return {
        "signature": sig.decode(), "header_version": header_version,
        "utsname": dict(zip(["sysname", "nodename", "release", "version", "machine", "domainname"], uts)),
        "timestamp": [tv_sec, tv_usec], "status": status, "block_size": block_size,
        "sub_hdr_size": sub_hdr_size, "bitmap_blocks": bitmap_blocks, "max_mapnr": max_mapnr,
        "max_mapnr_64": max_mapnr_64, "current_cpu": current_cpu, "nr_cpus": nr_cpus,
        "phys_base": "0x%x" % phys_base, "dump_level": dump_level, "split": split,
        "offset_vmcoreinfo": off_vmci, "size_vmcoreinfo": size_vmci,
        "offset_note": off_note, "size_note": size_note,
        "offset_eraseinfo": off_erase, "size_eraseinfo": size_erase,
        "data_offset": block_size * (1 + sub_hdr_size + bitmap_blocks),
        "ram_pages_1st_bitmap": pop(bm1), "dumped_pages_2nd_bitmap": pop(bm2),
    }, bm1, bm2, mm, notes


def bit(bm, pfn):
    return (bm[pfn >> 3] >> (pfn & 7)) & 1


def main():
    what, path = sys.argv[1], sys.argv[2]
    if what == "kdump":
        hdr = kdump_header(path)[0]
        print(json.dumps(hdr, indent=1))
    elif what == "kdumpnotes":
        notes = kdump_header(path)[4]
        print(json.dumps(notes_facts(parse_notes(notes)), indent=1))
    elif what == "elfnotes":
        print(json.dumps(elfnotes(path), indent=1))
    elif what == "pfns":
        n = int(sys.argv[3])
        _, bm1, bm2, mm, _ = kdump_header(path)
        dumped = [p for p in range(mm) if bit(bm1, p) and bit(bm2, p)]
        excluded = [p for p in range(0x100, mm) if bit(bm1, p) and not bit(bm2, p)]
        pick = lambda l: [l[(i * len(l)) // n] for i in range(n)] if l else []
        print(json.dumps({"dumped": pick(dumped), "excluded": pick(excluded)}))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
