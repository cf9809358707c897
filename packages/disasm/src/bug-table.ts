/**
 * BUG() and WARN() sites from a `__bug_table` (include/asm-generic/bug.h,
 * lib/bug.c find_bug/report_bug, arch/x86/include/asm/bug.h _BUG_FLAGS): each
 * BUG()/WARN() compiles to a `ud2` and a `struct bug_entry` naming it. x86_64
 * always has CONFIG_GENERIC_BUG_RELATIVE_POINTERS; with CONFIG_DEBUG_BUGVERBOSE
 * (Debian's 6.1 and 6.12 both) the entry is, in 6.1 as in 6.12:
 *
 *   struct bug_entry { int bug_addr_disp; int file_disp; unsigned short line; unsigned short flags; };  // 12 bytes
 *
 * the ud2's address is `&bug_addr_disp + bug_addr_disp`, the file name's
 * `&file_disp + file_disp`. flags: BUGFLAG_WARNING 1, BUGFLAG_ONCE 2,
 * BUGFLAG_DONE 4 (a WARN_ONCE that fired), BUGFLAG_NO_CUT_HERE 8,
 * BUGFLAG_TAINT(taint) in the high byte. A caller with the dump's types gives
 * the offsets from `struct bug_entry` instead of these.
 */

/** Where the fields sit in one entry; `file`/`line` are absent without CONFIG_DEBUG_BUGVERBOSE. */
export interface BugEntryLayout {
  size: number;
  addr: number;
  file?: number;
  line?: number;
  flags: number;
}

/** 6.1 and 6.12 x86_64 with CONFIG_DEBUG_BUGVERBOSE. */
export const BUG_ENTRY_RELATIVE: BugEntryLayout = { size: 12, addr: 0, file: 4, line: 8, flags: 10 };

export interface BugSite {
  /** the ud2 */
  addr: bigint;
  /** where the file name (a C string) is, when the kernel keeps it */
  fileAddr?: bigint;
  line?: number;
  warning: boolean;
  once: boolean;
  /** a WARN_ONCE that has fired already */
  done: boolean;
  /** the taint a WARN sets (BUGFLAG_TAINT), 0 for the default */
  taint: number;
}

export const BUGFLAG_WARNING = 1;
export const BUGFLAG_ONCE = 2;
export const BUGFLAG_DONE = 4;

/** The entries of a table whose bytes are `bytes`, read from address `tableAddr`. */
export function parseBugTable(bytes: Uint8Array, tableAddr: bigint, layout: BugEntryLayout = BUG_ENTRY_RELATIVE): BugSite[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BugSite[] = [];
  for (let o = 0; o + layout.size <= bytes.length; o += layout.size) {
    const at = tableAddr + BigInt(o);
    const flags = v.getUint16(o + layout.flags, true);
    const site: BugSite = {
      addr: BigInt.asUintN(64, at + BigInt(layout.addr) + BigInt(v.getInt32(o + layout.addr, true))),
      warning: (flags & BUGFLAG_WARNING) !== 0,
      once: (flags & BUGFLAG_ONCE) !== 0,
      done: (flags & BUGFLAG_DONE) !== 0,
      taint: flags >> 8,
    };
    if (layout.file !== undefined) site.fileAddr = BigInt.asUintN(64, at + BigInt(layout.file) + BigInt(v.getInt32(o + layout.file, true)));
    if (layout.line !== undefined) site.line = v.getUint16(o + layout.line, true);
    out.push(site);
  }
  return out;
}

/** What report_bug() prints for the site: `kernel BUG at lib/list_debug.c:59!`, `WARNING: at mm/slub.c:123`. */
export function bugReport(site: BugSite, file: string | undefined): string {
  const where = file !== undefined && site.line !== undefined ? `${file}:${site.line}` : undefined;
  if (site.warning) return where ? `WARNING: at ${where}` : 'WARNING: [verbose debug info unavailable]';
  return where ? `kernel BUG at ${where}!` : 'Kernel BUG [verbose debug info unavailable]';
}
