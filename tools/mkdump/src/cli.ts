#!/usr/bin/env node
// Spec: vmpipe's mkdump CLI (docs/mkdump.md): a JSON DumpSpec (bigints as "0x..."
// strings, content as pattern names) from a file or stdin, the dump to a path.

import { readFile } from 'node:fs/promises';
import { writeDumpFile, specFromJson } from './index.js';
import { cutKdumpFile } from './cut.js';

const USAGE = `usage: mkdump [SPEC.json | -] OUTPUT [--layout]
  Reads a dump spec as JSON (from SPEC.json, or stdin when it is "-" or absent)
  and writes the ELF / kdump-compressed / flattened dump it describes to OUTPUT.
  --layout  print the layout (offset and size of each structure) as JSON on stdout
       mkdump --cut PFNS IN.kdump OUT.kdump
  Writes OUT.kdump: the kdump-compressed IN.kdump keeping only the page frames listed in
  PFNS (one per line, decimal or 0x-hex, or A-B ranges); the others become excluded.
  Headers, notes, VMCOREINFO and the kept pages' stored bytes are copied unchanged.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--cut') {
    if (argv.length !== 4) {
      process.stderr.write(USAGE + '\n');
      return 2;
    }
    const r = cutKdumpFile(argv[2]!, argv[1]!, argv[3]!);
    process.stderr.write(`mkdump --cut: kept ${r.kept} of ${r.dumped} dumped pages, ${r.size} bytes\n`);
    return 0;
  }
  const flags = argv.filter((a) => a.startsWith('--'));
  const args = argv.filter((a) => !a.startsWith('--'));
  if (flags.includes('--help') || args.length < 1 || args.length > 2) {
    process.stderr.write(USAGE + '\n');
    return flags.includes('--help') ? 0 : 2;
  }
  for (const f of flags) {
    if (f !== '--layout' && f !== '--help') {
      process.stderr.write(`mkdump: unknown option ${f}\n${USAGE}\n`);
      return 2;
    }
  }
  const [src, out] = args.length === 2 ? [args[0]!, args[1]!] : ['-', args[0]!];
  const text = src === '-' ? await readStdin() : await readFile(src, 'utf8');
  const spec = specFromJson(JSON.parse(text));
  const w = await writeDumpFile(out, spec);
  if (flags.includes('--layout')) process.stdout.write(JSON.stringify(w.layout) + '\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
