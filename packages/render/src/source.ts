import type { AnyRecord } from '@vmpipe/records';
import { label, parseHex, stateless, type LayoutFactory, type RenderContext } from './layout.js';
import { jsonLine } from './fallback.js';

// The `source` and `system` records both answer crash's `sys`, so they share
// its block: crash's labels in crash's order (display_sys_stats in kernel.c),
// then vmpipe's own facts about the dump file under labels of the same style.

const KB = 1024n;
const MB = 1024n * KB;
const GB = 1024n * MB;

/** `%.1f` of total/unit, rounded half-to-even on the exact value as printf does. */
function tenths(total: bigint, unit: bigint): string {
  let q = (total * 10n) / unit;
  const twiceRest = ((total * 10n) % unit) * 2n;
  if (twiceRest > unit || (twiceRest === unit && q % 2n === 1n)) q += 1n;
  return `${q / 10n}.${q % 10n}`;
}

/**
 * crash's MEMORY value (get_memory_size and pages_to_size): a total within
 * 64 MB below a whole GB is rounded up to it, whole pages are counted, and
 * one decimal is printed with a trailing `.0` dropped (`511.5 MB`, `2 GB`).
 */
export function memorySize(bytes: bigint, pageSize: number): string {
  let total = bytes;
  const nextGig = ((total + GB - 1n) / GB) * GB;
  if (nextGig - total <= 64n * MB) total = nextGig;
  const page = BigInt(pageSize > 0 ? pageSize : 4096);
  total = (total / page) * page;
  if (total === 0n) return '0';
  let text: string;
  if (total >= GB) text = `${tenths(total, GB)} GB`;
  else if (total >= MB) text = `${tenths(total, MB)} MB`;
  else text = `${total / KB} KB`;
  return text.replace('.0 ', ' ');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * crash prints DATE with strftime("%a %b %e %T %Z %Y") in the local zone; we
 * print UTC so the same dump renders the same on every machine.
 */
export function crashDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${time} UTC ${d.getUTCFullYear()}`;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function utsField(record: AnyRecord, field: string): string | undefined {
  const uts = record.utsname;
  return typeof uts === 'object' && uts !== null ? text((uts as Record<string, unknown>)[field]) : undefined;
}

function rangesBytes(ranges: unknown): bigint {
  let total = 0n;
  if (!Array.isArray(ranges)) return total;
  for (const range of ranges as Array<Record<string, unknown>>) {
    const start = parseHex(range?.start);
    const end = parseHex(range?.end);
    if (start !== null && end !== null && end > start) total += end - start;
  }
  return total;
}

function kernelPath(record: AnyRecord): string {
  if (typeof record.vmlinux === 'string') return record.vmlinux;
  // Symbols or types from a vmlinux we were not told the path of.
  if (record.symbols === 'vmlinux' || record.types === 'dwarf' || record.types === 'btf-vmlinux') return '(vmlinux)';
  return '(none)';
}

function sourceBlock(record: AnyRecord): string[] {
  if (typeof record.dump !== 'string') return [jsonLine(record)];
  const excluded = typeof record.pagesExcluded === 'number' ? record.pagesExcluded : 0;
  const lines = [
    label('KERNEL', kernelPath(record)),
    label('DUMPFILE', record.dump + (excluded > 0 ? '  [PARTIAL DUMP]' : '')),
    label('CPUS', String(record.cpus)),
  ];
  if (typeof record.crashTime === 'string') lines.push(label('DATE', crashDate(record.crashTime)));
  const nodename = utsField(record, 'nodename');
  if (nodename !== undefined) lines.push(label('NODENAME', nodename));
  lines.push(label('RELEASE', text(record.release) ?? utsField(record, 'release') ?? '(unknown)'));
  const version = utsField(record, 'version');
  if (version !== undefined) lines.push(label('VERSION', version));
  lines.push(label('MACHINE', `${utsField(record, 'machine') ?? String(record.arch)}  (unknown Mhz)`));
  const pageSize = typeof record.pageSize === 'number' ? record.pageSize : 4096;
  if (Array.isArray(record.memoryRanges)) lines.push(label('MEMORY', memorySize(rangesBytes(record.memoryRanges), pageSize)));
  lines.push(...fileFacts(record));
  return lines;
}

/** vmpipe's extras: how the dump file itself was made, and where symbols and types came from. */
function fileFacts(record: AnyRecord): string[] {
  const excluded = typeof record.pagesExcluded === 'number' ? record.pagesExcluded : 0;
  const lines: string[] = [];
  const format = String(record.format) + (typeof record.headerVersion === 'number' ? ` (header version ${record.headerVersion})` : '');
  lines.push(label('FORMAT', format));
  if (typeof record.producer === 'string') lines.push(label('PRODUCER', record.producer));
  lines.push(label('PAGE SIZE', String(record.pageSize)));
  if (typeof record.dumpLevel === 'number') lines.push(label('DUMP LEVEL', String(record.dumpLevel)));
  if (Array.isArray(record.compression)) {
    lines.push(label('COMPRESSION', record.compression.length > 0 ? record.compression.join(', ') : 'none'));
  }
  if (typeof record.pagesPresent === 'number') lines.push(label('PAGES', `${record.pagesPresent} present, ${excluded} excluded`));
  lines.push(label('SYMBOLS', String(record.symbols)));
  lines.push(label('TYPES', String(record.types)));
  return lines;
}

/**
 * crash's LOAD AVERAGE (get_loadavg in kernel.c, as /proc/loadavg): `%d.%02d` of each
 * avenrun[] value. The record carries the values as the kernel rounds them for printing
 * (kernel/system.ts: + FIXED_1/200, LOAD_INT, LOAD_FRAC), so two decimals are exact.
 */
export function loadAverage(values: readonly number[]): string {
  return values.map((v) => v.toFixed(2)).join(', ');
}

function isLoadAverage(v: unknown): v is number[] {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
}

/**
 * The `system` record is what the kernel itself says (utsname, memory, panic):
 * crash's `sys` block, line for line in display_sys_stats' order. KERNEL and
 * [PARTIAL DUMP] are facts about the files, so they come from the dump's
 * `source` record when the stream had one; each other line shows only when
 * the record has its field. With `--header`, the file facts follow in the
 * same block, so one dump never gets two blocks that disagree.
 */
function systemBlock(record: AnyRecord, ctx: RenderContext): string[] {
  if (typeof record.dump !== 'string') return [jsonLine(record)];
  const source = ctx.source(record.dump);
  const lines: string[] = [];
  if (source) lines.push(label('KERNEL', kernelPath(source)));
  const excluded = typeof source?.pagesExcluded === 'number' ? source.pagesExcluded : 0;
  lines.push(label('DUMPFILE', record.dump + (excluded > 0 ? '  [PARTIAL DUMP]' : '')));
  // crash's sys: `CPUS: 2 [OFFLINE: 1]` when some CPUs below nr_cpu_ids were offline.
  const offline = typeof record.cpusOffline === 'number' && record.cpusOffline > 0 ? ` [OFFLINE: ${record.cpusOffline}]` : '';
  lines.push(label('CPUS', String(record.cpus) + offline));
  if (typeof record.crashTime === 'string') lines.push(label('DATE', crashDate(record.crashTime)));
  if (typeof record.uptime === 'string') lines.push(label('UPTIME', record.uptime));
  if (isLoadAverage(record.loadAverage)) lines.push(label('LOAD AVERAGE', loadAverage(record.loadAverage)));
  if (typeof record.tasks === 'number') lines.push(label('TASKS', String(record.tasks)));
  if (typeof record.nodename === 'string') lines.push(label('NODENAME', record.nodename));
  lines.push(label('RELEASE', String(record.release)));
  if (typeof record.version === 'string') lines.push(label('VERSION', record.version));
  // crash reads cpu_khz for the Mhz; a record that has it says so in `mhz`.
  const mhz = typeof record.mhz === 'number' ? String(record.mhz) : 'unknown';
  lines.push(label('MACHINE', `${String(record.machine)}  (${mhz} Mhz)`));
  if (typeof record.memoryBytes === 'number' && Number.isSafeInteger(record.memoryBytes)) {
    const pageSize = ctx.dumpInfo(record.dump).pageSize ?? 4096;
    lines.push(label('MEMORY', memorySize(BigInt(record.memoryBytes), pageSize)));
  }
  if (typeof record.panic === 'string') {
    // crash adds this hint when the panic text is an oops.
    const hint = record.panic.includes('Oops: ') ? ' (check log for details)' : '';
    lines.push(label('PANIC', `"${record.panic}"${hint}`));
  }
  if (source && ctx.opts.header) lines.push(...fileFacts(source));
  return lines;
}

export const sourceLayout: LayoutFactory = () => stateless(true, sourceBlock);
export const systemLayout: LayoutFactory = (ctx) => stateless(true, (record) => systemBlock(record, ctx));
