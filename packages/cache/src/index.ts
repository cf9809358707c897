/**
 * What vmpipe keeps between runs about one kernel build, so that the second
 * command on a dump of that build (or on any other dump of it: a fleet's
 * crashes share a handful of builds) skips the slow part of the first: the
 * dump's BTF, the decoded kallsyms table, a parsed System.map, a vmlinux's
 * DWARF name index.
 *
 * Where: `$VMPIPE_CACHE`, else `$XDG_CACHE_HOME/vmpipe`, else
 * `~/.cache/vmpipe`; never next to the dump (nothing is ever written there).
 *
 * One file format for the binary entries: a line naming the format and its
 * version, a JSON line (the caller's header plus `size` and `sha256` of the
 * payload), then the payload. An entry is used only when the format line, the
 * size and the sha256 all agree, so a damaged or half-written file is simply a
 * miss; writes go to a temporary file renamed into place. A cache that cannot
 * be read or written (read-only home, full disk) only costs speed, never a run.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VMPIPE_CACHE) return env.VMPIPE_CACHE;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'vmpipe');
  return join(homedir(), '.cache', 'vmpipe');
}

/** A build-id as VMCOREINFO and ELF notes spell it (hex): the only thing cache file names are made of. */
export function isBuildId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{8,128}$/i.test(id);
}

export interface CacheEntry<H> {
  head: H;
  payload: Buffer;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The entry at `path` written in `format`, or undefined when it is absent, another format, or damaged in any way. */
export function readCacheEntry<H extends object>(path: string, format: string): CacheEntry<H> | undefined {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return undefined;
  }
  try {
    const first = file.indexOf(10);
    const second = file.indexOf(10, first + 1);
    if (first < 0 || second < 0 || file.subarray(0, first).toString('latin1') !== format) return undefined;
    const head = JSON.parse(file.subarray(first + 1, second).toString('utf8')) as H & { size?: unknown; sha256?: unknown };
    const payload = file.subarray(second + 1);
    if (head.size !== payload.length || head.sha256 !== sha256(payload)) return undefined;
    return { head, payload };
  } catch {
    return undefined;
  }
}

/** Writes the entry (atomically); false when it could not be written. */
export function writeCacheEntry(path: string, format: string, head: object, payload: Uint8Array): boolean {
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    const line = JSON.stringify({ ...head, size: payload.length, sha256: sha256(payload) });
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${format}\n${line}\n`), payload]));
    renameSync(tmp, path); // a reader never sees half a file
    return true;
  } catch {
    return false;
  }
}
