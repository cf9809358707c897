/*
 * Page codecs of makedumpfile's kdump-compressed format. Each page is
 * compressed on its own, so every call here handles one page: decompress is
 * synchronous and must produce exactly the page size the dump header declares.
 * See docs/codecs.md for why each library was chosen and what is checked.
 */
import { constants as zconst, deflateSync, inflateSync } from 'node:zlib';
import { Decompress as ZstdStream } from 'fzstd';
import type Snappy from 'snappyjs';
import { createRequire } from 'node:module';
import { lzo1xCompress } from './lzo1x-compress.js';
import { lzo1xDecompress } from './lzo1x-decompress.js';
import { checkSnappy } from './snappy-check.js';
import { checkZstd } from './zstd-check.js';

// snappyjs is loaded on first use: most dumps are zlib, and every command would pay its loading.
const lazyRequire = createRequire(import.meta.url);
let snappyLib: typeof Snappy | undefined;
const snappy = () => (snappyLib ??= lazyRequire('snappyjs') as typeof Snappy);

export type Codec = 'zlib' | 'lzo' | 'snappy' | 'zstd';

export const CODECS: readonly Codec[] = ['zlib', 'lzo', 'snappy', 'zstd'];

/** Largest page we agree to decode; a corrupt header must not make us allocate gigabytes. */
export const MAX_PAGE_SIZE = 16 << 20;

/** Corrupt or truncated input, output of the wrong length, or an unusable expectedSize. */
export class CodecError extends Error {
  override name = 'CodecError';
  constructor(
    readonly codec: Codec,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${codec}: ${message}`, options);
  }
}

/**
 * Decompresses one page. Throws CodecError if the input is corrupt or does not
 * decode to exactly `expectedSize` bytes.
 */
export function decompress(codec: Codec, input: Uint8Array, expectedSize: number): Uint8Array {
  if (!Number.isSafeInteger(expectedSize) || expectedSize < 0 || expectedSize > MAX_PAGE_SIZE) {
    throw new CodecError(codec, `expected size ${expectedSize} is not in 0..${MAX_PAGE_SIZE}`);
  }
  let out: Uint8Array;
  try {
    out = decode(codec, input, expectedSize);
  } catch (e) {
    if (e instanceof CodecError) throw e;
    throw new CodecError(codec, e instanceof Error ? e.message : String(e), { cause: e });
  }
  if (out.length !== expectedSize) {
    throw new CodecError(codec, `decoded ${out.length} bytes, expected ${expectedSize}`);
  }
  return plain(out);
}

/** zlib and snappyjs hand back Buffers; give callers one type (a view, no copy). */
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function decode(codec: Codec, input: Uint8Array, expectedSize: number): Uint8Array {
  switch (codec) {
    case 'zlib':
      // maxOutputLength stops inflating as soon as the page is overfilled, so a
      // bomb costs at most one page; Node throws RangeError past it.
      return inflateSync(input, { maxOutputLength: Math.max(expectedSize, 1) });
    case 'lzo':
      return lzo1xDecompress(input, expectedSize);
    case 'snappy': {
      const problem = checkSnappy(input, expectedSize);
      if (problem) throw new CodecError(codec, problem);
      return snappy().uncompress(input, expectedSize);
    }
    case 'zstd': {
      const problem = checkZstd(input, expectedSize);
      if (problem) throw new CodecError(codec, problem);
      return zstdDecode(input, expectedSize);
    }
    default:
      throw new CodecError(codec, 'unknown codec');
  }
}

/**
 * fzstd's one-shot decompress() returns a buffer of the declared content size
 * however much was really decoded; its streaming decoder hands over each
 * block's true output, so count that.
 */
function zstdDecode(input: Uint8Array, expectedSize: number): Uint8Array {
  const out = new Uint8Array(expectedSize);
  let n = 0;
  new ZstdStream((chunk) => {
    if (n + chunk.length > expectedSize) throw new CodecError('zstd', 'frame decodes to more than expected');
    out.set(chunk, n);
    n += chunk.length;
  }).push(input, true);
  if (n !== expectedSize) throw new CodecError('zstd', `decoded ${n} bytes, expected ${expectedSize}`);
  return out;
}

type ZstdWasm = { init(): Promise<void>; compress(buf: Uint8Array, level?: number): Uint8Array };
let zstdWasm: Promise<ZstdWasm> | undefined;

/** Loaded on first use only: readers never pay for the wasm module. */
function loadZstdWasm(): Promise<ZstdWasm> {
  zstdWasm ??= import('@bokuweb/zstd-wasm').then(async (m) => {
    const mod = ((m as { default?: ZstdWasm }).default ?? m) as ZstdWasm;
    await mod.init();
    return mod;
  });
  return zstdWasm;
}

/**
 * Compresses one page the way makedumpfile does (zlib stream at Z_BEST_SPEED,
 * LZO1X, raw snappy block, one zstd frame at level 1). For the project's own
 * dump writer and tests.
 */
export async function compress(codec: Codec, input: Uint8Array): Promise<Uint8Array> {
  switch (codec) {
    case 'zlib':
      return plain(deflateSync(input, { level: zconst.Z_BEST_SPEED }));
    case 'lzo':
      return lzo1xCompress(input);
    case 'snappy':
      return plain(snappy().compress(input));
    case 'zstd':
      return (await loadZstdWasm()).compress(input, 1);
    default:
      throw new CodecError(codec, 'unknown codec');
  }
}
