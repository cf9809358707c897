#!/usr/bin/env python3
"""elf-normalize.py IN OUT -- make QEMU's ELF vmcore readable by makedumpfile 1.7.2.

QEMU 7.2's dump-guest-memory (format elf) writes the ELF header with
e_ehsize = 8 and places the program headers at e_phoff = 192, after two
section headers at e_shoff = 64.  makedumpfile 1.7.2 (and vmcore-dmesg) assume
the program headers follow the 64-byte ELF header and fail with
"Can't get the number of PT_LOAD".

This tool copies the file unchanged except for the header area:
  * the program header table is moved to offset 64 (e_phoff = 64),
  * e_ehsize is set to 64,
  * the section header table (if it sat in the header area) is moved to
    directly after the program headers and e_shoff updated,
  * the rest of the header area, up to the first note/segment/section data,
    is zero-filled.
All p_offset / sh_offset values and all data bytes stay where they were, so
the file size is unchanged.  ELF64 little-endian only (x86_64 vmcores).
"""
import struct, sys, shutil


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        head = bytearray(f.read(1 << 20))
    if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
        sys.exit("not an ELF64 little-endian file")
    (e_phoff, e_shoff) = struct.unpack_from("<QQ", head, 0x20)
    (e_flags, e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum,
     e_shstrndx) = struct.unpack_from("<IHHHHHH", head, 0x30)
    if e_phnum == 0xFFFF:
        sys.exit("PN_XNUM (extended phnum) not supported by this tool")
    phdrs = bytes(head[e_phoff:e_phoff + e_phnum * e_phentsize])
    data_starts = []
    for i in range(e_phnum):
        p_offset, p_filesz = struct.unpack_from("<QxxxxxxxxxxxxxxxxQ", phdrs, i * e_phentsize + 8)
        if p_filesz:
            data_starts.append(p_offset)
    shdrs = b""
    if e_shnum and e_shoff:
        shdrs = bytes(head[e_shoff:e_shoff + e_shnum * e_shentsize])
        for i in range(e_shnum):
            sh_offset, sh_size = struct.unpack_from("<QQ", shdrs, i * e_shentsize + 0x18)
            if sh_size and struct.unpack_from("<I", shdrs, i * e_shentsize + 4)[0] != 8:
                data_starts.append(sh_offset)
    first_data = min(data_starts)
    new_phoff = 64
    new_shoff = new_phoff + len(phdrs) if shdrs else 0
    end = new_phoff + len(phdrs) + len(shdrs)
    if end > first_data:
        sys.exit("no room: headers would end at %d, data starts at %d" % (end, first_data))
    if e_phoff == 64 and e_ehsize == 64:
        print("already normalized; copying", file=sys.stderr)
    newhead = bytearray(head[:64])
    struct.pack_into("<QQ", newhead, 0x20, new_phoff, new_shoff)
    struct.pack_into("<H", newhead, 0x34, 64)
    area = newhead + phdrs + shdrs
    area += bytes(first_data - len(area))
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        f.write(area)
    print("e_phoff %d->%d e_ehsize %d->64 e_shoff %d->%d (%d phdrs, %d shdrs, data from %d)"
          % (e_phoff, new_phoff, e_ehsize, e_shoff, new_shoff, e_phnum, e_shnum, first_data),
          file=sys.stderr)


if __name__ == "__main__":
    main()
