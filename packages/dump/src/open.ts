import type { Dump } from './dump.js';
import { DumpError } from './errors.js';
import { ElfDump, isElf } from './elf.js';
import { FlattenedSource, isFlattened } from './flattened.js';
import { KdumpDump, KDUMP_SIGNATURE } from './kdump.js';
import { BlockCachedSource, FileSource, type ByteSource } from './source.js';

/** Names formats we recognise but do not read, so the user hears what the file is. */
const OTHER_FORMATS: [string, string][] = [
  ['DISKDUMP', 'diskdump (netdump-era, not kdump-compressed)'],
  ['sadump', 'sadump'],
  ['QEVM', 'QEMU savevm state'],
  ['\xed\x23\x8f\x61\x73\x01\x19\xa8', 'LKCD'], // DUMP_MAGIC_NUMBER 0xa8190173618f23ed, little-endian
];

/** Opens a dump of any supported format, read-only. Throws DumpError when it cannot be read at all. */
export function openDump(path: string): Dump {
  const file = FileSource.open(path);
  try {
    return openSource(path, file);
  } catch (err) {
    file.close();
    throw err;
  }
}

function openSource(path: string, file: ByteSource): Dump {
  if (file.size === 0) throw new DumpError('not-a-dump', `not a dump: ${path} is empty`);
  const magic = file.read(0, 16);
  const text = Buffer.from(magic).toString('latin1');
  if (isElf(magic)) return new ElfDump(path, file);
  if (text.startsWith(KDUMP_SIGNATURE)) return new KdumpDump(path, new BlockCachedSource(file));
  if (isFlattened(magic)) {
    const flat = new FlattenedSource(new BlockCachedSource(file));
    const inner = flat.read(0, 16);
    if (Buffer.from(inner).toString('latin1').startsWith(KDUMP_SIGNATURE)) return new KdumpDump(path, flat, 'flattened');
    if (isElf(inner)) return new ElfDump(path, flat, 'flattened');
    throw new DumpError('unsupported', `unsupported format: flattened stream holding neither a kdump nor an ELF dump`);
  }
  for (const [sig, name] of OTHER_FORMATS) {
    if (text.includes(sig)) throw new DumpError('unsupported', `unsupported format: ${name}`);
  }
  if (magic.length < 8) throw new DumpError('damaged', `truncated dump: ${path} is ${file.size} bytes, too short for any dump header`);
  throw new DumpError('not-a-dump', `not a dump: ${path} starts with ${Buffer.from(magic.subarray(0, 8)).toString('hex')}, no known dump signature`);
}

/** Reassembles a flattened dump into an ordinary file (like `makedumpfile -R`). */
export function reassembleFlattened(inPath: string, outPath: string): number {
  const file = FileSource.open(inPath);
  try {
    if (!isFlattened(file.read(0, 16))) throw new DumpError('not-a-dump', `${inPath} is not in makedumpfile's flattened format`);
    return new FlattenedSource(file).reassemble(outPath);
  } finally {
    file.close();
  }
}
