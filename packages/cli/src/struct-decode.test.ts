import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const real = join(here, '..', '..', '..', 'fixtures', 'real');
const btf = join(real, 'vmlinux.btf.zst');
const dump = join(real, 'vmcore.kdump-zlib');
const expected = (f: string) => readFileSync(join(real, 'expected', f), 'latin1');
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-struct-decode-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const withBtf = existsSync(btf) ? test : test.skip;
const withDump = existsSync(btf) && existsSync(dump) ? test : test.skip;

withBtf('--btf --layout page --format crash prints what crash struct page -o prints', (t) => {
  const r = runBinSync('struct-decode', ['--btf', btf, '--layout', 'page', '--format', 'crash']);
  t.is(r.code, 0, r.err);
  t.is(r.out, expected('crash.vmcore.kdump-zlib.struct-page-o.txt'));
});

withBtf('--format pahole prints what pahole -C task_struct prints', (t) => {
  const r = runBinSync('struct-decode', ['--btf', btf, '--layout', 'task_struct', '--format', 'pahole']);
  t.is(r.out, expected('pahole.vmlinux.btf.C-task_struct.txt'));
});

withBtf('a type record without a dump carries debuginfo', (t) => {
  const [rec] = runBinSync('struct-decode', ['--btf', btf, '--layout', 'struct list_head']).records();
  t.like(rec, { kind: 'type', debuginfo: btf, name: 'struct list_head', size: 16, types: 'btf-file' });
  t.deepEqual(rec.members, [{ path: 'next', offset: 0, size: 8, type: 'struct list_head *' }, { path: 'prev', offset: 8, size: 8, type: 'struct list_head *' }]);
});

withBtf('unknown type and member: exit 2 with close names, nothing on stdout', (t) => {
  const a = runBinSync('struct-decode', ['--btf', btf, '--layout', 'pgae']);
  t.is(a.code, 2);
  t.is(a.out, '');
  t.regex(a.err, /^struct-decode: no type named "pgae".*did you mean "page"/);
  const b = runBinSync('struct-decode', ['--btf', btf, '--offset', 'page.deferred_lst']);
  t.is(b.code, 2);
  t.regex(b.err, /did you mean "deferred_list"/);
});

withBtf('truncated and corrupt BTF: exit 4, one line, nothing printed', (t) => {
  const raw = runBinSync('struct-decode', ['--btf', btf, '--layout', 'page']); // make sure the file reads at all
  t.is(raw.code, 0);
  const bytes = readFileSync(join(real, 'vmlinux.btf.zst'));
  const cut = join(tmp, 'cut.btf.zst');
  writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
  const a = runBinSync('struct-decode', ['--btf', cut, '--layout', 'page']);
  t.is(a.code, 4);
  t.is(a.out, '');
  t.is(a.err.trim().split('\n').length, 1);
  const junk = join(tmp, 'junk.btf');
  writeFileSync(junk, Buffer.from('this is not BTF at all, not even close'));
  const b = runBinSync('struct-decode', ['--btf', junk, '--layout', 'page']);
  t.is(b.code, 4);
  t.regex(b.err, /not BTF: magic/);
  t.is(runBinSync('struct-decode', ['--btf', join(tmp, 'missing'), '--layout', 'page']).code, 3);
});

withDump('the dump alone: BTF from its memory via kallsyms; the seed offset', (t) => {
  const r = runBinSync('struct-decode', [dump, '--offset', 'page[2].deferred_list']);
  t.is(r.code, 0, r.err);
  const [source, off] = r.records();
  t.like(source, { kind: 'source', types: 'btf-dump', symbols: 'kallsyms' });
  t.like(off, { kind: 'offset', type: 'struct page', member: 'deferred_list', index: 2, offset: 0x98, types: 'btf-dump' });
});

withDump('objects: init_task pid/comm as crash; an unmapped address is an error record', (t) => {
  const r = runBinSync('struct-decode', [dump, 'task_struct', 'init_task', '--fields', 'pid,comm', '--format', 'crash']);
  t.is(r.out, '  pid = 0,\n  comm = "swapper/0",\n');
  const bad = runBinSync('struct-decode', [dump, 'page', '0xffffffffdead0000']);
  t.is(bad.code, 0);
  t.like(bad.records()[1], { kind: 'error', code: 'not-mapped', addr: '0xffffffffdead0000' });
});

withDump('as a filter: records with addr and type are decoded in place, others pass through', (t) => {
  const input = [
    { kind: 'note', dump, addr: '0xfffffc93c0040000', type: 'struct page' },
    { kind: 'other', dump, text: 'untouched' },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n';
  const out = runBinSync('struct-decode', ['--fields', 'flags,_refcount'], { input }).records();
  t.deepEqual(out[0].value, { flags: 4503598553628672, _refcount: { counter: 1 } }); // crash: flags = 4503598553628672, counter = 1
  t.deepEqual(out[1], { kind: 'other', dump, text: 'untouched' });
});

withDump('a truncated dump whose kallsyms cannot be read: exit 4 naming why, not blaming the kernel config', (t) => {
  const cut = join(tmp, 'truncated.kdump');
  writeFileSync(cut, readFileSync(dump).subarray(0, 100_000)); // headers and bitmaps, no page data
  const r = runBinSync('struct-decode', [cut, '--layout', 'page']);
  t.is(r.code, 4);
  t.regex(r.err, /^struct-decode: cannot find the dump's BTF without symbols \(kallsyms from the dump could not be read: .*\); give --btf or --vmlinux\n$/);
  // The stream says first what opening found (the file cut short), then the run ends.
  t.deepEqual(r.out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { code: string }).code), ['dump-truncated']);
});
