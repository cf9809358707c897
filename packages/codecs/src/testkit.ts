// Shared by the tests: the committed real-library vectors and a seeded PRNG.
import { readFileSync } from 'node:fs';
import type { Codec } from './index.js';

const dir = new URL('../src/testdata/', import.meta.url);
export const VECTOR_NAMES = ['empty', 'zeros-4096', 'dmesg-4096', 'struct-4096', 'random-4096', 'far-17600'];

export function vector(name: string, kind: Codec | 'raw'): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`${name}.${kind}.bin`, dir)));
}

/** xorshift32: reproducible "random" data and corruption positions. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function randomBytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  return Uint8Array.from({ length: n }, () => r() & 0xff);
}
