import test from 'ava';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from './index.js';

const mem = (dump: string, addr: string, words: string[]): AnyRecord => ({
  kind: 'mem', dump, space: 'virtual', addr, width: 8, words, wordsSym: words.map(() => null),
});

function all(records: AnyRecord[], color = false): string[] {
  const r = new Renderer({ color });
  return [...records.flatMap((rec) => r.render(rec)), ...r.flush()];
}

test('a kind without a layout prints exactly as its JSON', (t) => {
  const rec = { kind: 'mystery', dump: 'vmcore', name: 'panic', addr: '0xffffffff81177000', type: 'T' };
  t.deepEqual(all([rec]), [JSON.stringify(rec)]);
});

test('an error is one line with its locators; red only when color is on', (t) => {
  const err = { kind: 'error', code: 'page-excluded', message: 'the dump level excluded this page', dump: 'vmcore', addr: '0xffffe2843fa00000' };
  const line = 'error: page-excluded: the dump level excluded this page  (dump=vmcore addr=0xffffe2843fa00000)';
  t.deepEqual(all([err]), [line]);
  t.deepEqual(all([err], true), ['\x1b[31m' + line + '\x1b[0m']);
  t.deepEqual(all([{ kind: 'error', code: 'bad-record', message: 'not JSON', line: 3, text: 'a b' }]), [
    'error: bad-record: not JSON  (line=3 text="a b")',
  ]);
});

test('color changes nothing but error lines', (t) => {
  const rec = mem('vmcore', '0xffffe2843fa00000', ['0x1', '0x2']);
  t.deepEqual(all([rec], true), all([rec], false));
});

test('an error in the middle of an rd listing comes out where it happened', (t) => {
  t.deepEqual(all([
    mem('vmcore', '0xffffe2843fa00000', ['0x1']),
    { kind: 'error', code: 'page-excluded', message: 'excluded', addr: '0xffffe2843fa01000' },
    mem('vmcore', '0xffffe2843fa02000', ['0x2', '0x3']),
  ]), [
    'ffffe2843fa00000:  0000000000000001',
    'error: page-excluded: excluded  (addr=0xffffe2843fa01000)',
    'ffffe2843fa02000:  0000000000000002 0000000000000003',
  ]);
});

test('a separator marks each change of dump, after the old dump\'s pending lines, never at the top', (t) => {
  t.deepEqual(all([
    mem('a.vmcore', '0xffff888000000000', ['0x1']),
    mem('b.vmcore', '0xffff888000000008', ['0x2']),
    { kind: 'error', code: 'not-mapped', message: 'no translation' }, // no dump: still b's
    mem('b.vmcore', '0xffff888000000010', ['0x3']),
    mem('a.vmcore', '0xffff888000000018', ['0x4']),
  ]), [
    'ffff888000000000:  0000000000000001',
    '--- b.vmcore ---',
    'ffff888000000008:  0000000000000002',
    'error: not-mapped: no translation',
    'ffff888000000010:  0000000000000003',
    '--- a.vmcore ---',
    'ffff888000000018:  0000000000000004',
  ]);
});

test('blocks are set apart by a blank line, but not under a separator', (t) => {
  const src = (dump: string): AnyRecord => ({
    kind: 'source', dump, format: 'elf', producer: 'qemu', arch: 'x86_64', endian: 'little', pageSize: 4096,
    release: null, cpus: 1, memoryRanges: [], pagesPresent: 0, pagesExcluded: 0, symbols: 'none', types: 'none',
  });
  // --header: the source blocks show although their dumps have other records.
  const r = new Renderer({ color: false, header: true, vmcoreinfo: true });
  const records = [src('a'), { kind: 'vmcoreinfo', dump: 'a', entries: {}, raw: 'PAGESIZE=4096\n' }, { kind: 'log', dump: 'a' }, src('b')];
  const lines = [...records.flatMap((rec) => r.render(rec)), ...r.flush()];
  t.deepEqual(lines.slice(12, 18), [
    '',
    'PAGESIZE=4096',
    '',
    '{"kind":"log","dump":"a"}',
    '--- b ---',
    '      KERNEL: (none)',
  ]);
});

test('flush is empty when nothing is pending, and a renderer keeps its own state', (t) => {
  const one = new Renderer({ color: false });
  const two = new Renderer({ color: false });
  t.deepEqual(one.render({ kind: 'mem', dump: 'x', space: 'virtual', addr: '0x1000', width: 8, words: ['0x1'], wordsSym: [null] }), []);
  t.deepEqual(two.flush(), []);
  t.deepEqual(one.flush(), ['            1000:  0000000000000001']);
  t.deepEqual(one.flush(), []);
});
