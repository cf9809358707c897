import test from 'ava';
import { PassThrough } from 'node:stream';
import { hex, parseAddress, parseSize, readLimits, readRecords, RecordWriter, ByteLines } from './index.js';

async function collect(text: string) {
  const input = new PassThrough();
  input.end(text);
  const out = [];
  for await (const r of readRecords(input)) out.push(r);
  return out;
}

test('hex writes 64-bit values lowercase, two’s complement for negatives', (t) => {
  t.is(hex(0xffffffff82812a69n), '0xffffffff82812a69');
  t.is(hex(-1n), '0xffffffffffffffff');
  t.is(hex(4096), '0x1000');
  t.throws(() => hex(-1));
});

test('parseAddress takes 0x-hex, bare hex as crash does, and rejects junk', (t) => {
  t.is(parseAddress('0xFFFFE2843FA00000'), 0xffffe2843fa00000n);
  t.is(parseAddress('ffffe2843fa00080'), 0xffffe2843fa00080n);
  t.is(parseAddress('0d4096'), 4096n);
  t.is(parseAddress('xyz'), null);
  t.is(parseAddress('0x1' + '0'.repeat(16)), null); // 2^64 does not fit
  t.is(parseSize('0x140'), 320);
  t.is(parseSize('12k'), null);
});

test('readRecords passes records and turns a garbage line into a bad-record error, then goes on', async (t) => {
  const out = await collect('{"kind":"a","x":1}\nnot json\n[1,2]\n{"kind":"b"}\n');
  t.deepEqual(out.map((r) => r.kind), ['a', 'error', 'error', 'b']);
  t.is(out[1]!.code, 'bad-record');
  t.is(out[1]!.line, 2);
  t.is(out[2]!.line, 3);
});

test('RecordWriter writes one JSON object per line and stops quietly when the reader leaves', async (t) => {
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c) => chunks.push(String(c)));
  const w = new RecordWriter(sink);
  await w.write({ kind: 'mem', addr: '0x0' });
  await w.write({ kind: 'mem', addr: '0x8' });
  t.is(chunks.join(''), '', 'lines wait for the batch to fill or the event loop to turn');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  t.is(chunks.join(''), '{"kind":"mem","addr":"0x0"}\n{"kind":"mem","addr":"0x8"}\n');
  sink.destroy(Object.assign(new Error('gone'), { code: 'EPIPE' }));
  await new Promise((r) => setImmediate(r));
  t.true(w.closed);
  await w.write({ kind: 'mem' }); // no throw
});

test('readRecords: records split across chunks, a multi-byte character split across chunks, CRLF, no final newline', async (t) => {
  const input = new PassThrough();
  const text = Buffer.from('{"kind":"a","s":"é"}\r\n\n{"kind":"b"}', 'utf8');
  const out: unknown[] = [];
  const reading = (async () => {
    for await (const r of readRecords(input)) out.push(r);
  })();
  // 'é' is two bytes: cut inside it, and inside the second record.
  const cut1 = text.indexOf(0xc3) + 1;
  input.write(text.subarray(0, cut1));
  input.write(text.subarray(cut1, cut1 + 7));
  input.end(text.subarray(cut1 + 7));
  await reading;
  t.deepEqual(out, [{ kind: 'a', s: 'é' }, { kind: 'b' }]);
});

async function collectWith(chunks: (string | Buffer)[], limits = {}) {
  const input = new PassThrough();
  const out: Record<string, unknown>[] = [];
  const reading = (async () => {
    for await (const r of readRecords(input, limits)) out.push(r);
  })();
  for (const c of chunks) input.write(c);
  input.end();
  await reading;
  return out;
}

test('readRecords: a line over the limit is one bad-record (reason too-long) as soon as it passes it, split over chunks, and the next line is read', async (t) => {
  const long = '{"kind":"a","s":"' + 'x'.repeat(300) + '"}';
  const out = await collectWith(['{"kind":"first"}\n', long.slice(0, 100), long.slice(100), '\n{"kind":"b"}\n'], { maxLine: 200 });
  t.deepEqual(out.map((r) => r.kind), ['first', 'error', 'b']);
  t.like(out[1], { code: 'bad-record', line: 2, reason: 'too-long', maxLine: 200 });
  // exactly at the limit is still a record
  const atLimit = '{"kind":"c","s":"' + 'y'.repeat(200 - 19) + '"}';
  t.is(atLimit.length, 200);
  t.deepEqual((await collectWith([atLimit + '\n'], { maxLine: 200 })).map((r) => r.kind), ['c']);
});

test('readRecords: nesting deeper than the limit is a bad-record (reason too-deep); brackets inside strings do not count', async (t) => {
  const deep = '{"kind":"a","v":' + '['.repeat(100000) + ']'.repeat(100000) + '}';
  const brackets = JSON.stringify({ kind: 'ok', s: '['.repeat(1000) });
  const out = await collectWith([deep + '\n' + brackets + '\n{"kind":"b"}\n']);
  t.deepEqual(out.map((r) => r.kind), ['error', 'ok', 'b']);
  t.like(out[0], { code: 'bad-record', line: 1, reason: 'too-deep', maxDepth: 256 });
  const justDeepEnough = '{"kind":"d","v":' + '['.repeat(255) + ']'.repeat(255) + '}';
  t.is((await collectWith([justDeepEnough + '\n']))[0]!.kind, 'd');
});

test('readLimits: VMPIPE_MAX_LINE raises the line limit (bytes, k/M/G suffixes)', (t) => {
  t.is(readLimits({}).maxLine, 16 * 1024 * 1024);
  t.is(readLimits({ VMPIPE_MAX_LINE: '64M' }).maxLine, 64 * 1024 * 1024);
  t.is(readLimits({ VMPIPE_MAX_LINE: '1000' }).maxLine, 1000);
});

test('ByteLines: hex64 spells values as bigint toString(16) does; text is UTF-8; LineWriter.bytes keeps order with text lines', async (t) => {
  const values = [0n, 1n, 0xfn, 0x10n, 0xffffffffn, 0x100000000n, 0xffffffff89400000n, 0x7fff00001234n, 0xffffffffffffffffn];
  const lines = new ByteLines(8); // small: growth is exercised
  for (const v of values) {
    lines.hex64(Number(v >> 32n), Number(v & 0xffffffffn));
    lines.byte(0x0a);
  }
  lines.text('{"dump":"dümp"}\n');
  const got = Buffer.from(lines.take()).toString('utf8').split('\n');
  t.deepEqual(got.slice(0, values.length), values.map((v) => v.toString(16)));
  t.is(got[values.length], '{"dump":"dümp"}');
  t.is(lines.length, 0);

  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const w = new RecordWriter(sink);
  await w.write({ kind: 'source' });
  const insns = new ByteLines();
  insns.text('{"kind":"insn"}\n');
  await w.bytes(insns.take());
  await w.write({ kind: 'error' });
  await w.end();
  t.is(Buffer.concat(chunks).toString(), '{"kind":"source"}\n{"kind":"insn"}\n{"kind":"error"}\n');
});
