#!/usr/bin/env python3
"""The page frames of the kernel's kallsyms tables in a dump, to leave out of a cut.

usage: kallsyms-pfns.py SYSTEM_MAP(.gz) VMCOREINFO_JSON > PFNS
  VMCOREINFO_JSON  the `vmcoreinfo` record of `vmcore-extract DUMP` (KERNELOFFSET, NUMBER(phys_base))

vmpipe's commands read the dump's kallsyms first even when given --system-map, and fall back to
the map when those pages are excluded; cut.sh leaves them out (and checks that the commands print
the same without them). Kernel image addresses: vaddr = System.map address + KERNELOFFSET,
physical = vaddr - __START_KERNEL_map (0xffffffff80000000) + phys_base (arch/x86 __phys_addr_symbol).
"""
import gzip, json, sys

smap, vi = sys.argv[1], json.load(open(sys.argv[2]))
entries = vi["entries"]
koff = int(entries["KERNELOFFSET"], 16)
phys_base = int(entries["NUMBER(phys_base)"])
opener = gzip.open if smap.endswith(".gz") else open
TABLES = {"kallsyms_offsets", "kallsyms_addresses", "kallsyms_relative_base", "kallsyms_num_syms", "kallsyms_names",
          "kallsyms_markers", "kallsyms_seqs_of_names", "kallsyms_token_table", "kallsyms_token_index"}
syms = sorted((int(a, 16), n) for a, _, n in (l.split()[:3] for l in opener(smap, "rt")))
first = min(a for a, n in syms if n in TABLES)
last = max(a for a, n in syms if n in TABLES)
end = min(a for a, n in syms if a > last)  # the tables end where the next symbol starts
lo = (first + koff - 0xffffffff80000000 + phys_base) >> 12
hi = (end - 1 + koff - 0xffffffff80000000 + phys_base) >> 12
print("\n".join(str(p) for p in range(lo, hi + 1)))
print(f"kallsyms-pfns: {hi - lo + 1} pages, pfn {lo}..{hi}", file=sys.stderr)
