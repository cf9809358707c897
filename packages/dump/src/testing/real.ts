/**
 * The real dump in fixtures/real (tools/recipes/real-dump), for tests in any
 * package: `import { realDump } from '@vmpipe/dump/testing'`.
 *
 * Two of its forms are shipped compressed to stay within the fixture budget and
 * are unpacked here once per machine into the OS temp dir:
 * - vmcore.elf.zst: makedumpfile -E output, zstd -19;
 * - vmcore.flat.pieces.json: makedumpfile -F output as the list of pieces it wrote
 *   (each piece is the kdump file's bytes at its offset); rebuilt byte for byte and
 *   checked against the real file's SHA-256.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress as zstdDecompress } from 'fzstd';

const here = dirname(fileURLToPath(import.meta.url));
/** packages/dump/dist/testing → repo root */
export const repoRoot = resolve(here, '..', '..', '..', '..');
export const realDir = join(repoRoot, 'fixtures', 'real');
export const expectedDir = join(realDir, 'expected');

export const realDump = {
  kdumpZlib: join(realDir, 'vmcore.kdump-zlib'),
  /** The first file of a 4-way `makedumpfile --split -l` (pfns 0..0x1f00). */
  kdumpLzoSplit1: join(realDir, 'vmcore.kdump-lzo.split1'),
  systemMap: join(realDir, 'System.map.gz'),
};

/** A reference tool's output committed under fixtures/real/expected. */
export function expected(name: string): string {
  return readFileSync(join(expectedDir, name), 'utf8');
}

export function expectedJson<T = any>(name: string): T {
  return JSON.parse(expected(name)) as T;
}

function cached(name: string, make: () => Uint8Array, sha256?: string): string {
  const key = createHash('sha256').update(readFileSync(join(realDir, name))).digest('hex').slice(0, 16);
  const path = join(tmpdir(), `vmpipe-fixture-${key}-${name.replace(/\.(zst|pieces\.json)$/, '')}`);
  if (existsSync(path)) return path;
  const bytes = make();
  if (sha256) {
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== sha256) throw new Error(`${name}: rebuilt file has SHA-256 ${got}, the real one ${sha256}`);
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path); // atomic: parallel test workers never see half a file
  return path;
}

/** Path of the real makedumpfile -E ELF dump, unpacked. */
export function realElfPath(): string {
  return cached('vmcore.elf.zst', () => zstdDecompress(readFileSync(join(realDir, 'vmcore.elf.zst'))));
}

/** Path of the real makedumpfile -F flattened dump, rebuilt and checked against its SHA-256. */
export function realFlatPath(): string {
  const spec = JSON.parse(readFileSync(join(realDir, 'vmcore.flat.pieces.json'), 'utf8')) as {
    source: string;
    size: number;
    sha256: string;
    pieces: [number, number][];
  };
  return cached(
    'vmcore.flat.pieces.json',
    () => {
      const kdump = readFileSync(join(realDir, spec.source));
      const out = Buffer.alloc(spec.size);
      out.write('makedumpfile', 0, 'latin1');
      out.writeBigInt64BE(1n, 16); // type: flattened
      out.writeBigInt64BE(1n, 24); // version
      let pos = 4096;
      for (const [offset, size] of spec.pieces) {
        out.writeBigInt64BE(BigInt(offset), pos);
        out.writeBigInt64BE(BigInt(size), pos + 8);
        kdump.copy(out, pos + 16, offset, offset + size);
        pos += 16 + size;
      }
      out.writeBigInt64BE(-1n, pos);
      out.writeBigInt64BE(-1n, pos + 8);
      return out;
    },
    spec.sha256,
  );
}
