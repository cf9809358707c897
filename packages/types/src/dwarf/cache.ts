/**
 * The name index on disk, so the second run on a vmlinux does not scan its
 * DWARF again. One JSON file per build-id where @vmpipe/cache says. A file whose format,
 * build-id or section sizes do not match, or that does not parse, is ignored
 * (and replaced on the next save). Writes go to a temporary file renamed into
 * place, so a reader never sees half a file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '@vmpipe/cache';
import type { IndexState } from './indexer.js';

const FORMAT = 'vmpipe-dwarf-index/1';

export interface CacheKey {
  buildId: string;
  /** sizes of .debug_info, .debug_types, .debug_abbrev, .debug_str: a cheap guard against a reused build-id */
  sizes: number[];
}

export function cachePath(key: CacheKey, dir = cacheDir()): string {
  return join(dir, `dwarf-${key.buildId}.json`);
}

export function loadCache(key: CacheKey, dir?: string): IndexState | undefined {
  let text: string;
  try {
    text = readFileSync(cachePath(key, dir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const j = JSON.parse(text) as { format?: string; buildId?: string; sizes?: number[]; state?: IndexState };
    if (j.format !== FORMAT || j.buildId !== key.buildId || JSON.stringify(j.sizes) !== JSON.stringify(key.sizes)) return undefined;
    const s = j.state;
    if (!s || typeof s.typesPos !== 'number' || typeof s.infoPos !== 'number' || !Array.isArray(s.entries) || s.entries.length % 5 !== 0) return undefined;
    if (!Array.isArray(s.inlineNames) || !Array.isArray(s.signatures)) return undefined;
    if (!s.entries.every((n) => Number.isSafeInteger(n))) return undefined;
    return s;
  } catch {
    return undefined; // corrupt: rebuilt
  }
}

/** Saves; a cache that cannot be written (read-only home, full disk) only costs speed. */
export function saveCache(key: CacheKey, state: IndexState, dir = cacheDir()): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    const path = cachePath(key, dir);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: FORMAT, buildId: key.buildId, sizes: key.sizes, state }));
    renameSync(tmp, path);
    return true;
  } catch {
    return false;
  }
}
