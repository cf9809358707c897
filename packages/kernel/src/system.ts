/**
 * The system summary crash's `sys` prints, from the dump alone: the utsname
 * the kernel keeps in `init_uts_ns` (VMCOREINFO `SYMBOL(init_uts_ns)` +
 * `OFFSET(uts_namespace.name)`: struct new_utsname, six `char[65]`, from
 * include/uapi/linux/utsname.h), else the kdump header's copy.
 */
import type { KernelMemory } from '@vmpipe/addrxlat';

export const NEW_UTS_LEN = 65;
const UTS_FIELDS = ['sysname', 'nodename', 'release', 'version', 'machine', 'domainname'] as const;
export type UtsFields = Record<(typeof UTS_FIELDS)[number], string>;

/** init_uts_ns.name read from memory; null when VMCOREINFO lacks the entries. Throws MemoryError when unreadable. */
export function readUtsname(mem: KernelMemory, entries: Readonly<Record<string, string>>): UtsFields | null {
  const sym = entries['SYMBOL(init_uts_ns)'];
  if (sym === undefined || !/^[0-9a-f]+$/i.test(sym)) return null;
  const off = Number(entries['OFFSET(uts_namespace.name)'] ?? 'x');
  if (!Number.isInteger(off)) return null;
  const bytes = Buffer.from(mem.readBytes(BigInt('0x' + sym) + BigInt(off), NEW_UTS_LEN * UTS_FIELDS.length));
  const out = {} as UtsFields;
  UTS_FIELDS.forEach((name, i) => {
    const field = bytes.subarray(i * NEW_UTS_LEN, (i + 1) * NEW_UTS_LEN);
    const nul = field.indexOf(0);
    out[name] = field.toString('latin1', 0, nul < 0 ? NEW_UTS_LEN : nul);
  });
  return out;
}

/** crash's uptime format (kernel.c convert_time()): `HH:MM:SS`, with `N days, ` in front past a day. */
export function uptimeText(nsec: bigint): string {
  let secs = nsec / 1_000_000_000n;
  const days = secs / 86400n;
  secs %= 86400n;
  const two = (n: bigint) => n.toString().padStart(2, '0');
  const hms = `${two(secs / 3600n)}:${two((secs % 3600n) / 60n)}:${two(secs % 60n)}`;
  return days > 0n ? `${days} day${days === 1n ? '' : 's'}, ${hms}` : hms;
}

const E820_USABLE = /^(?:BIOS-e820|e820): \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable$/;

/**
 * RAM the firmware handed the kernel: the `usable` ranges of the e820 map the
 * kernel logs at boot (arch/x86/kernel/e820.c e820__print_table(), "BIOS-e820:
 * [mem 0x...-0x...] usable"). This is the MEMORY crash's `sys` shows for
 * these dumps; the dump's own ranges also count holes and reserved space.
 * null when the log does not have the map (it scrolled out, or not x86).
 */
export function e820UsableBytes(lines: Iterable<string>): bigint | null {
  let total = 0n;
  let seen = false;
  for (const line of lines) {
    const m = E820_USABLE.exec(line);
    if (!m) {
      if (seen && !line.startsWith('BIOS-e820') && !line.startsWith('e820')) break;
      continue;
    }
    seen = true;
    total += BigInt('0x' + m[2]) - BigInt('0x' + m[1]) + 1n;
  }
  return seen ? total : null;
}
