// The layering rules of .dependency-cruiser.cjs (docs/architecture.md): the repository keeps
// them, each rule catches the violation it is written for, and every known violation listed
// for the commands is still real (so the list only shrinks).
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';

const root = fileURLToPath(new URL('../../', import.meta.url));
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs'));

/** Violations of `rules` over `paths` (relative to `baseDir`). */
async function violations(paths, { baseDir = root, rules = config.forbidden } = {}) {
  const { tsConfig: _ts, ...options } = config.options;
  const result = await cruise(paths, { ...options, baseDir, validate: true, ruleSet: { forbidden: rules } });
  return result.output.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

const cwdPaths = ['packages/*/src', 'packages/cli/bin'];

test('the packages keep the layering', async (t) => {
  const found = await violations(cwdPaths);
  t.deepEqual(found, [], found.map((v) => `${v.rule}: ${v.from} -> ${v.to}`).join('\n'));
});

/** One bad import per rule, in a throwaway tree shaped like the repository. */
const BAD = {
  'leaves-know-no-layers': ['packages/cache/src/bad.ts', "import type { Dump } from '@vmpipe/dump';"],
  'formats-know-no-addresses': ['packages/dump/src/bad.ts', "import { symbolsFor } from '@vmpipe/symbols';"],
  'addrxlat-knows-no-symbols': ['packages/addrxlat/src/bad.ts', "import { SymbolTable } from '../../symbols/src/index.js';"],
  'symbols-know-no-types': ['packages/symbols/src/bad.ts', "import type { TypeTable } from '@vmpipe/types';"],
  'types-know-no-dump-formats': ['packages/types/src/bad.ts', "import { openDump } from '@vmpipe/dump';"],
  'kernel-knows-no-render': ['packages/kernel/src/bad.ts', "import { Renderer } from '@vmpipe/render';"],
  'libraries-know-no-ndjson': ['packages/types/src/bad-stream.ts', "import { RecordWriter } from '../../records/src/index.js';"],
  'records-know-no-dump': ['packages/records/src/bad.ts', "import type { Dump } from '@vmpipe/dump';"],
  'render-knows-records-only': ['packages/render/src/bad.ts', "import { findType } from '@vmpipe/types';"],
  'libraries-know-no-flags': ['packages/kernel/src/flags.ts', "import { Flags } from '@oclif/core';"],
  'libraries-know-no-cli': ['packages/symbols/src/cli.ts', "import { VmpipeCommand } from '@vmpipe/cli';"],
  'commands-through-the-program': ['packages/cli/src/commands/new-command.ts', "import { kernelMemory } from '@vmpipe/addrxlat';"],
};

test('each rule catches the violation it is written for, and a test file may cross layers', async (t) => {
  t.deepEqual(Object.keys(BAD).sort(), config.forbidden.map((r) => r.name).sort(), 'one case per rule');
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-layers-'));
  const write = (file, text) => {
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    writeFileSync(join(dir, file), text + '\nexport const x = 1;\n');
  };
  for (const [file, line] of Object.values(BAD)) write(file, line);
  write('packages/symbols/src/index.ts', '');
  write('packages/symbols/src/ok.test.ts', "import type { TypeTable } from '@vmpipe/types';");
  write('packages/kernel/src/ok.ts', "import { openDump } from '@vmpipe/dump';\nimport type { KernelMemory } from '@vmpipe/addrxlat';");
  write('packages/records/src/index.ts', 'export class RecordWriter {}\nexport interface SymbolDetail { name: string }');
  write('packages/symbols/src/shapes.ts', "import type { SymbolDetail } from '../../records/src/index.js';"); // the contract's shapes: allowed
  const found = await violations(['packages'], { baseDir: dir });
  for (const [name, [file]] of Object.entries(BAD)) {
    t.true(found.some((v) => v.rule === name && v.from === file), `${name} on ${file}: ${JSON.stringify(found)}`);
  }
  t.is(found.length, Object.keys(BAD).length, JSON.stringify(found));
});

test('the known violations listed in the config are exactly the violations there are (delete a line when it is fixed)', async (t) => {
  // The rules without their known exceptions (the first pathNot is the tests').
  const strict = config.forbidden.map((r) => ({ ...r, from: { ...r.from, pathNot: r.from.pathNot.slice(0, 1) } }));
  const found = await violations(cwdPaths, { rules: strict });
  const listed = config.forbidden.flatMap((r) => r.from.pathNot.slice(1).map((pattern) => ({ rule: r.name, pattern })));
  for (const { rule, pattern } of listed) {
    t.true(found.some((v) => v.rule === rule && new RegExp(pattern).test(v.from)), `${pattern} no longer breaks ${rule}: delete it from KNOWN_VIOLATIONS`);
  }
  // Without exceptions every violation found must be a listed one (today: none at all).
  t.deepEqual(found.filter((v) => !listed.some((l) => l.rule === v.rule && new RegExp(l.pattern).test(v.from))), []);
});
