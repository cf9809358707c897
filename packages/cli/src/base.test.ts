/**
 * The command base as a user meets it: addresses typed as crash takes them
 * (symbols, SYMBOL.member, word counts like `rd ADDR N`), conflicting flags
 * named, a missing argument named, a filter fed garbage keeps going. Values
 * from crash 8.0.2 on the shipped dump (fixtures/real/expected).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binPath, runBinSync as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const real = join(here, '..', '..', '..', 'fixtures', 'real');
const dump = join(real, 'vmcore.kdump-zlib');
const expected = (f: string) => readFileSync(join(real, 'expected', f), 'latin1');
const withDump = existsSync(dump) ? test : test.skip;

/** crash `sym NAME`: `ffffffff8ae1aa40 (D) init_task` */
const crashSym = (f: string) => BigInt('0x' + expected(f).split(' ')[0]);

withDump('--read SYMBOL and SYMBOL.member --count N: crash rd semantics, addresses from crash sym and struct -o', (t) => {
  const jiffies = run('vmcore-extract', [dump, '--read', 'jiffies']).records().filter((r) => r.kind === 'mem');
  t.deepEqual(jiffies.map((r) => [r.addr, r.words.length]), [[`0x${crashSym('crash.vmcore.kdump-zlib.sym-ffffffff8ae079c0.txt').toString(16)}`, 1]], 'rd jiffies: one word');
  const tasksOffset = Number(/^\s*\[(\d+)\] struct list_head tasks;$/m.exec(expected('crash.vmcore.kdump-zlib.struct-task_struct-o.txt'))![1]);
  const mem = run('vmcore-extract', [dump, '--read', 'init_task.tasks', '--count', '2']).records().filter((r) => r.kind === 'mem');
  t.is(mem[0].addr, `0x${(crashSym('crash.vmcore.kdump-zlib.sym-init_task.txt') + BigInt(tasksOffset)).toString(16)}`);
  t.is(mem[0].words.length, 2, 'next and prev');
});

withDump('conflicting flags and a missing argument are named, exit 2', (t) => {
  const both = run('vmcore-extract', [dump, '--read', 'jiffies', '--vtop', '0']);
  t.is(both.code, 2);
  t.regex(both.err, /^vmcore-extract: --read=jiffies cannot also be provided when using --vtop.*\(see vmcore-extract --help\)\n$/);
  const log = run('vmcore-extract', [dump, '--log', '--text']);
  t.is(log.code, 2);
  t.regex(log.err, /--log.*--text/);
  const layout = run('struct-decode', [dump, '--layout', 'page', '--offset', 'page.lru']);
  t.is(layout.code, 2);
  t.regex(layout.err, /--layout=page cannot also be provided when using --offset/);
  const none = run('vmcore-extract', []);
  t.is(none.code, 2);
  t.is(none.err, 'vmcore-extract: Missing 1 required arg: dump (see vmcore-extract --help)\n');
  const count = run('vmcore-extract', [dump, '--count', '2']);
  t.is(count.code, 2);
  t.is(count.err, 'vmcore-extract: --count and --length go with --read\n');
});

withDump('a filter passes kinds it does not consume, and garbage lines become bad-record errors', (t) => {
  const input = ['{"kind":"note","text":"no dump here"}', 'not json', `{"kind":"symbol","dump":${JSON.stringify(dump)},"name":"x","addr":"0xffffffff8ae1aa40","type":"D"}`].join('\n') + '\n';
  const r = run('sym-resolve', [], { input });
  t.is(r.code, 0, r.err);
  const out = r.records();
  t.deepEqual(out[0], { kind: 'note', text: 'no dump here' });
  t.like(out[1], { kind: 'error', code: 'bad-record', line: 2 });
  t.like(out[2], { kind: 'symbol', addrSym: 'init_task' });
});

test('a dump that cannot be opened in a filter: its records pass through, one dump-unusable error', (t) => {
  const input = ['{"kind":"mem","dump":"/nonexistent/vmcore","addr":"0x10","words":[]}', '{"kind":"mem","dump":"/nonexistent/vmcore","addr":"0x20","words":[]}'].join('\n') + '\n';
  const r = run('struct-decode', ['--type', 'page'], { input });
  t.is(r.code, 0, r.err);
  t.deepEqual(r.records().map((x) => (x.kind === 'error' ? `error:${x.code}` : x.addr)), ['0x10', 'error:dump-unusable', '0x20']);
});

const haveScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
(haveScript ? test : test.skip)('a filter whose stdin is a terminal says what it expects instead of waiting (exit 2)', (t) => {
  // script(1) runs the command on a pseudo-terminal, as a user typing it at a shell would.
  const r = spawnSync('script', ['-qec', `${process.execPath} ${binPath('sym-resolve')}`, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 2);
  t.regex(r.stdout, /sym-resolve: reads NDJSON records on stdin \(e\.g\. vmcore-extract DUMP \| sym-resolve\); pipe records in or give a DUMP/);
});
