/**
 * What a case is, as fast-check arbitraries: a base dump, the damage done to
 * a copy of it, the commands run over the copy; or a hostile NDJSON stream
 * fed to a filter. Cases are plain data, so a seed and an index name one
 * exactly (docs/reliability.md).
 */
import fc from 'fast-check';
import type { BaseName } from './bases.js';

export type Damage =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; region: string; at: number; width: 1 | 2 | 4 | 8; how: 'xor' | 'set'; value: bigint }
  | { kind: 'vmcoreinfo'; key: number; value: string }
  | { kind: 'smash'; region: string; at: number; length: number; fill: 'zero' | 'ones' | 'noise' | 'shift'; seed: number };

export interface DumpCase {
  type: 'dump';
  base: BaseName;
  damages: Damage[];
  commands: string[][];
}

export interface StreamCase {
  type: 'stream';
  command: string[];
  lines: string[];
}

export type Case = DumpCase | StreamCase;

export const REGIONS = ['header', 'subHeader', 'notes', 'vmcoreinfo', 'bitmap1', 'bitmap2', 'pageDescs', 'pageData', 'ehdr', 'phdrs'];

/** Values a damaged word is likely to take: all ones, zero, just past a limit, a sign bit, anything. */
const wordValue = fc.oneof(
  fc.constantFrom(0n, 1n, 0xffn, 0x7fn, 0x80n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x7fffffffffffffffn, 0xffffffffffffffffn, 4096n, 4097n),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);

/** VMCOREINFO values a patched or scribbled kernel might export. */
const hostileValue = fc.oneof(
  fc.constantFrom('0', '-1', '', 'zz', '4095', '1', '99999999999999999999', 'f'.repeat(45), '18446744073709551616', '0x', '-9223372036854775809', '65536', '536870912', 'ffffffffffffffff'),
  fc.integer({ min: 0, max: 1 << 20 }).map(String),
  fc.integer({ min: 0, max: 300 }).map(String),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => v.toString(16)),
);

export const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      region: fc.constantFrom(...REGIONS),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      how: fc.constantFrom('xor' as const, 'set' as const),
      value: wordValue,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('vmcoreinfo' as const), key: fc.nat(), value: hostileValue }) },
  // A run of bytes overwritten: a scribbled structure, a page of the kernel's memory gone bad.
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('smash' as const),
      region: fc.constantFrom(...REGIONS, 'pageData', 'pageData'),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      length: fc.constantFrom(8, 64, 512, 4096),
      fill: fc.constantFrom('zero' as const, 'ones' as const, 'noise' as const, 'shift' as const),
      seed: fc.nat(),
    }),
  },
);

/** Every command over a dump, with the modes that read different structures. */
export const DUMP_COMMANDS: string[][] = [
  ['vmcore-extract', '$DUMP'],
  ['vmcore-extract', '$DUMP', '--log'],
  ['vmcore-extract', '$DUMP', '--panic'],
  ['vmcore-extract', '$DUMP', '--sys'],
  ['vmcore-extract', '$DUMP', '--text'],
  ['vmcore-extract', '$DUMP', '--read', 'jiffies'],
  ['vmcore-extract', '$DUMP', '--read', 'init_task.tasks', '--count', '2'],
  ['vmcore-extract', '$DUMP', '--read', 'ffffffff81000000', '--count', '4'],
  ['vmcore-extract', '$DUMP', '--read', '0', '--physical', '--length', '0x3000'],
  ['vmcore-extract', '$DUMP', '--read', '0x100000', '--physical', '--length', '0x2000', '--zero-excluded'],
  ['vmcore-extract', '$DUMP', '--vtop', 'ffffffff81000000', 'jiffies'],
  ['sym-resolve', '$DUMP', 'jiffies', 'init_task'],
  ['sym-resolve', '$DUMP', '--addr', 'ffffffff81000000'],
  ['sym-resolve', '$DUMP', '--search', '^sys_'],
  ['struct-decode', '$DUMP', 'task_struct', 'init_task', '--fields', 'pid,comm'],
  ['struct-decode', '$DUMP', '--layout', 'list_head'],
  ['struct-decode', '$DUMP', '--offset', 'task_struct.tasks'],
  ['backtrace', '$DUMP'],
  ['backtrace', '$DUMP', '--all-cpus'],
  ['backtrace', '$DUMP', '--all-tasks'],
  ['triage', '$DUMP'],
  ['disasm', '$DUMP', 'panic', '--count', '16'],
  ['list-walk', '$DUMP', '--start', 'init_task.tasks', '-o', 'task_struct.tasks', '--max', '64'],
  ['list-walk', '$DUMP', '--head', 'modules', '-o', 'module.list'],
  ['task-list', '$DUMP'],
  ['module-list', '$DUMP'],
  ['mem-info', '$DUMP'],
  ['addr-info', '$DUMP', 'ffffffff81000000'],
  ['run-queue', '$DUMP'],
  // a pipeline: the default stream through render
  ['|render', '$DUMP'],
];

export const dumpCaseArb = (bases: BaseName[]): fc.Arbitrary<DumpCase> =>
  fc.record({
    type: fc.constant('dump' as const),
    base: fc.constantFrom(...bases),
    damages: fc.array(damageArb, { minLength: 1, maxLength: 4 }),
    commands: fc.subarray(DUMP_COMMANDS, { minLength: 1, maxLength: 4 }),
  });

/** Records a filter takes, and the ways a stream of them goes wrong. */
const FILTERS: string[][] = [['render'], ['sym-resolve'], ['sym-resolve', '--field', 'addr,words'], ['struct-decode', '--type', 'task_struct'], ['render', '--color', 'always']];

const KINDS = ['source', 'vmcoreinfo', 'cpu', 'system', 'mem', 'translation', 'log', 'panic', 'error', 'symbol', 'object', 'type', 'layout', 'bogus'];

const hostileLine: fc.Arbitrary<string> = fc.oneof(
  // a record of a real kind with random fields of the wrong types
  fc
    .record({
      kind: fc.constantFrom(...KINDS),
      dump: fc.oneof(fc.constant('$DUMP'), fc.constant('/nonexistent/vmcore'), fc.constant(42), fc.string()),
      fields: fc.dictionary(
        fc.constantFrom('addr', 'words', 'width', 'space', 'regs', 'levels', 'text', 'seq', 'pageSize', 'memoryRanges', 'value', 'members', 'callTrace', 'symbol', '__proto__', 'constructor', 'code', 'message', 'arch'),
        fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('0xffffffff81000000', '0x' + 'f'.repeat(40), -1, 1e308, null, [], {}, 'zz')),
      ),
    })
    .map((r) => JSON.stringify({ kind: r.kind, dump: r.dump, ...r.fields })),
  // garbage
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  // deep nesting, inside a record and bare
  fc.integer({ min: 200, max: 100000 }).map((n) => `{"kind":"mem","dump":"$DUMP","words":${'['.repeat(n)}${']'.repeat(n)}}`),
  fc.integer({ min: 200, max: 100000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  // long lines: past the limit the harness sets (VMPIPE_MAX_LINE=64k) and just under it
  fc.integer({ min: 60000, max: 200000 }).map((n) => JSON.stringify({ kind: 'log', dump: '$DUMP', seq: 1, text: 'x'.repeat(n) })),
  fc.integer({ min: 1000, max: 6000 }).map((n) => JSON.stringify({ kind: 'mem', dump: '$DUMP', space: 'virtual', addr: '0xffffffff81000000', width: 8, words: Array(n).fill('0xffffffff81000000') })),
  fc.constantFrom('', '\r', '{}', '[]', 'null', '{"kind":null}', '{"kind":"mem"}', '\uFEFF{"kind":"mem"}', '{"kind":"mem","dump":"$DUMP","addr":"0xffffffffffffffff","width":3,"words":["0x1"]}'),
);

export const streamCaseArb: fc.Arbitrary<StreamCase> = fc.record({
  type: fc.constant('stream' as const),
  command: fc.constantFrom(...FILTERS),
  lines: fc.array(hostileLine, { minLength: 1, maxLength: 12 }),
});

export const caseArb = (bases: BaseName[]): fc.Arbitrary<Case> => fc.oneof({ weight: 3, arbitrary: dumpCaseArb(bases) }, { weight: 1, arbitrary: streamCaseArb });

/** A case as one JSON line (bigints as strings), for the failure report. */
export function describe(c: Case): string {
  const s = JSON.stringify(c, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  return s.length > 600 ? s.slice(0, 597) + '...' : s;
}
