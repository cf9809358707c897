/**
 * What the program takes instead of a VMCOREINFO value it cannot use, and the
 * problems it says so with. VMCOREINFO is written by the kernel
 * (kernel/vmcore_info.c, arch/x86/kernel/crash.c `arch_crash_save_vmcoreinfo`,
 * Documentation/admin-guide/kdump/vmcoreinfo.rst); the dump layer refuses a value
 * that cannot be true (`vmcoreinfo-invalid`) or that a cut-short note lost
 * (`vmcoreinfo-truncated`). A value is then *unusable*; each fact that has a
 * second source names it here, once, so a stream that goes on with a derived
 * value says which, and a user who sees a wrong answer knows why.
 */
import { kernelImageMemory, X86_64Memory, x86_64PhysBase, x86_64SetupAt, type KernelMemory } from '@vmpipe/addrxlat';
import type { Dump, DumpProblem } from '@vmpipe/dump';
import { hasKallsyms, readKallsyms } from '@vmpipe/symbols';

/**
 * A problem met while opening a dump or deriving a fact from it: the dump layer's
 * (`dump-truncated`, `dump-inconsistent`, `vmcoreinfo-invalid`, `vmcoreinfo-truncated`,
 * `note-corrupt`), `vmcoreinfo-line`, and `vmcoreinfo-fallback` (`used`: what was taken
 * instead, `from`: where it came from). The command base writes each as an `error` record.
 */
export interface ProgramProblem extends Omit<DumpProblem, 'code'> {
  code: DumpProblem['code'] | 'vmcoreinfo-line' | 'vmcoreinfo-fallback';
  used?: string | number;
  from?: string;
}

/** x86_64's link-time `_stext`: __START_KERNEL, __START_KERNEL_map + CONFIG_PHYSICAL_START (0x1000000, every distribution's default). */
const X86_64_LINK_STEXT = 0xffffffff81000000n;
/** CONFIG_PHYSICAL_ALIGN's default: KASLR moves the x86_64 image by multiples of 2 MiB, within KERNEL_IMAGE_SIZE (1 GiB). */
const X86_64_KASLR_ALIGN = 0x200000n;

const hex = (v: bigint) => '0x' + v.toString(16);

/** A key the checks refused, or one a cut-short note lost: the kernel writes it, the dump does not give it. */
export function vmcoreinfoUnusable(dump: Dump, key: string): boolean {
  const info = dump.vmcoreinfo;
  if (!info) return false;
  return info.isInvalid(key) || (info.cutShort !== undefined && !(key in info.entries));
}

/**
 * The KASLR offset when KERNELOFFSET is unusable: on x86_64, VMCOREINFO's `_stext` less its
 * link address, when that is a move KASLR can make; else 0. `from` says which.
 */
export function kaslr_offset_fallback(dump: Dump): { offset: bigint; from: string; why?: string } {
  const stext = dump.arch === 'x86_64' ? dump.vmcoreinfo?.symbol('_stext') : undefined;
  if (stext !== undefined) {
    const moved = stext - X86_64_LINK_STEXT;
    if (moved >= 0n && moved < 1n << 30n && moved % X86_64_KASLR_ALIGN === 0n) {
      return { offset: moved, from: `SYMBOL(_stext) ${hex(stext)} less x86_64's link address ${hex(X86_64_LINK_STEXT)}` };
    }
  }
  const why = dump.arch !== 'x86_64' ? `${dump.arch}'s link address is not one fixed value` : stext === undefined ? 'no usable SYMBOL(_stext) to find it from' : `SYMBOL(_stext) ${hex(stext)} is no move KASLR makes`;
  return { offset: 0n, from: 'assumed', why };
}

/**
 * x86_64 kernel memory when VMCOREINFO has lost both page-table roots (SYMBOL(init_top_pgt)
 * and SYMBOL(swapper_pg_dir)) but still locates kallsyms: kallsyms is read through the kernel
 * image's fixed mapping (phys_base, no page tables) and its `init_top_pgt` is the root.
 * Undefined when that is not possible.
 */
export function kernelMemoryFromKallsyms(dump: Dump): KernelMemory | undefined {
  const info = dump.vmcoreinfo;
  if (dump.arch !== 'x86_64' || !info || !hasKallsyms(info)) return undefined;
  try {
    const k = readKallsyms(kernelImageMemory(dump), info);
    const root = k.symbols.find((s) => s.name === 'init_top_pgt' && s.type !== 'A' && s.type !== 'a');
    return root ? new X86_64Memory(dump, x86_64SetupAt(dump, root.addr, 'kallsyms')) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One `vmcoreinfo-fallback` problem per fact whose VMCOREINFO value is unusable and that was
 * taken from somewhere else. `mem` gives the kernel memory (or throws): it is asked only when
 * the page-table root is unusable, to say which root the program ended up with.
 */
export function vmcoreinfo_fallbacks(dump: Dump, kernelOffset: bigint, mem: () => KernelMemory): ProgramProblem[] {
  const info = dump.vmcoreinfo;
  if (!info) return [];
  const out: ProgramProblem[] = [];
  const fallback = (field: string, message: string, used: string | number, from: string) => out.push({ code: 'vmcoreinfo-fallback', message, field, used, from });
  if (vmcoreinfoUnusable(dump, 'KERNELOFFSET')) {
    const { from, why } = kaslr_offset_fallback(dump);
    if (from === 'assumed') fallback('KERNELOFFSET', `KERNELOFFSET unusable: the KASLR offset is assumed 0 (${why}); source lines and link-time addresses may be off`, hex(kernelOffset), 'assumed');
    else fallback('KERNELOFFSET', `KERNELOFFSET unusable: the KASLR offset ${hex(kernelOffset)} is ${from}`, hex(kernelOffset), 'SYMBOL(_stext)');
  }
  if (vmcoreinfoUnusable(dump, 'PAGESIZE')) {
    const kdump = dump.format !== 'elf';
    fallback('PAGESIZE', kdump ? `PAGESIZE unusable: the page size ${dump.pageSize} is the kdump header's block_size` : `PAGESIZE unusable: the page size is assumed ${dump.pageSize}`, dump.pageSize, kdump ? 'block_size' : 'assumed');
  }
  if (dump.arch === 'x86_64' && vmcoreinfoUnusable(dump, 'NUMBER(phys_base)')) {
    const sub = (dump as { physBase?: bigint }).physBase;
    const physBase = x86_64PhysBase(dump);
    fallback('NUMBER(phys_base)', sub !== undefined ? `NUMBER(phys_base) unusable: phys_base ${hex(physBase)} is the kdump sub-header's` : 'NUMBER(phys_base) unusable: phys_base is assumed 0 (kernel image addresses may translate wrongly)', hex(physBase), sub !== undefined ? 'kdump sub-header' : 'assumed');
  }
  // The page-table root: x86_64 writes SYMBOL(init_top_pgt) and the generic SYMBOL(swapper_pg_dir)
  // (the same table; older kernels only the latter), arm64 swapper_pg_dir alone.
  const roots = dump.arch === 'x86_64' ? ['SYMBOL(init_top_pgt)', 'SYMBOL(swapper_pg_dir)'] : ['SYMBOL(swapper_pg_dir)'];
  const damaged = roots.filter((k) => vmcoreinfoUnusable(dump, k));
  if (damaged.length || roots.every((k) => !(k in info.entries))) {
    let m: KernelMemory | undefined;
    try {
      m = mem();
    } catch {
      m = undefined; // no root at all: every reader of kernel memory says so when it is asked
    }
    const setup = (m as { setup?: { rootFrom: string; rootVaddr?: bigint; rootPaddr: bigint } } | undefined)?.setup;
    const field = roots[0]!;
    if (setup && setup.rootFrom !== field && (damaged.includes(field) || setup.rootFrom === 'kallsyms' || setup.rootFrom === 'cr3')) {
      const root = setup.rootVaddr !== undefined ? hex(setup.rootVaddr) : hex(setup.rootPaddr);
      const how = setup.rootFrom === 'kallsyms' ? `init_top_pgt ${root} from kallsyms, read through the kernel image mapping` : setup.rootFrom === 'cr3' ? `the CPU's CR3 ${root}` : `${setup.rootFrom} ${root}`;
      fallback(field, `${field} unusable: the page-table root is ${how}`, root, setup.rootFrom);
    }
  }
  return out;
}
