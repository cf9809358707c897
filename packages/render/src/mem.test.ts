import test from 'ava';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from './index.js';

const mem = (addr: string, width: number, words: string[], extra: Record<string, unknown> = {}): AnyRecord => ({
  kind: 'mem', dump: 'vmcore', space: 'virtual', addr, width, words, ...extra,
});

function all(records: AnyRecord[]): string[] {
  const r = new Renderer({ color: false });
  return [...records.flatMap((rec) => r.render(rec)), ...r.flush()];
}

test('rd -s: the seed investigation\'s first line, two spaces after the colon, no ASCII', (t) => {
  const lines = all([mem('0xffffe2843fa00000', 8, ['0x17ffffc0000000', '0xffffe283abe00008'], { wordsSym: [null, null] })]);
  t.deepEqual(lines, ['ffffe2843fa00000:  0017ffffc0000000 ffffe283abe00008']);
});

test('rd -s: a symbol takes the word\'s place, padded to its column', (t) => {
  const lines = all([mem('0xffffffff82000000', 8, ['0xffffffff81177000', '0x0'], { wordsSym: ['panic+0x177', null] })]);
  t.deepEqual(lines, ['ffffffff82000000:  panic+0x177      0000000000000000']);
});

test('plain rd ends each line with the ASCII column', (t) => {
  const lines = all([mem('0xffffe2843fa00000', 8, ['0x17ffffc0000000', '0x65762078756e694c'])]);
  t.deepEqual(lines, ['ffffe2843fa00000:  0017ffffc0000000 65762078756e694c   ........Linux ve']);
});

test('words from several records fill shared lines; flush prints the last partial line padded', (t) => {
  const r = new Renderer({ color: false });
  t.deepEqual(r.render(mem('0xffffe2843fa00000', 8, ['0x17ffffc0000000'])), []);
  t.deepEqual(r.render(mem('0xffffe2843fa00008', 8, ['0xffffe283abe00008', '0xffffe2840ae30008', '0x0', '0x1'])), [
    'ffffe2843fa00000:  0017ffffc0000000 ffffe283abe00008   ................',
    'ffffe2843fa00010:  ffffe2840ae30008 0000000000000000   ................',
  ]);
  t.deepEqual(r.flush(), ['ffffe2843fa00020:  0000000000000001                    ........']);
  t.deepEqual(r.flush(), []);
});

test('a gap, another width or another space starts a new line', (t) => {
  t.deepEqual(all([
    mem('0xffff888000000000', 8, ['0x1']),
    mem('0xffff888000000100', 8, ['0x2']),
    mem('0xffff888000000108', 4, ['0x3']),
    { ...mem('0xffff888000000108', 4, ['0x4']), space: 'physical' },
  ]), [
    'ffff888000000000:  0000000000000001                    ........',
    'ffff888000000100:  0000000000000002                    ........',
    'ffff888000000108:  00000003                              ....',
    'ffff888000000108:  00000004                              ....',
  ]);
});

test('widths 4, 2 and 1 put 4, 8 and 16 words on a line', (t) => {
  t.deepEqual(all([mem('0x1000', 4, ['0x64636261', '0x1', '0x2', '0x3', '0x4'], { space: 'physical' })]), [
    '            1000:  64636261 00000001 00000002 00000003   abcd............',
    '            1010:  00000004                              ....',
  ]);
  t.deepEqual(all([mem('0xffffffff81000000', 2, ['0x4241', '0x1', '0x2', '0x3', '0x4', '0x5', '0x6', '0x7'])]), [
    'ffffffff81000000:  4241 0001 0002 0003 0004 0005 0006 0007   AB..............',
  ]);
  const bytes = Array.from({ length: 17 }, (_, i) => '0x' + (0x41 + i).toString(16));
  t.deepEqual(all([mem('0xffffffff81000000', 1, bytes)]), [
    'ffffffff81000000:  41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50   ABCDEFGHIJKLMNOP',
    'ffffffff81000010:  51                                                Q',
  ]);
});

test('ASCII follows the dump\'s byte order from its source record', (t) => {
  const r = new Renderer({ color: false });
  r.render({ kind: 'source', dump: 'vmcore', arch: 'arm64', endian: 'big', pageSize: 4096 });
  const lines = [...r.render(mem('0x1000', 4, ['0x61626364'])), ...r.flush()];
  t.is(lines.at(-1), '            1000:  61626364                              abcd');
});

test('a malformed mem record prints as JSON after the pending line', (t) => {
  const bad = mem('0x1000', 3, ['0x1']);
  t.deepEqual(all([mem('0x1000', 8, ['0x1']), bad]), [
    '            1000:  0000000000000001                    ........',
    JSON.stringify(bad),
  ]);
});
