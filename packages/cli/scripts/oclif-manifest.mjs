#!/usr/bin/env node
// Writes oclif.manifest.json (part of `npm run build`): every command's id, flags, args and
// help text, so that `--help`, `vmpipe help` and completion never import a command, and
// running a command imports only its own file (oclif's "pattern" discovery with a manifest).
// It is made from the built commands by oclif's own loader, so it cannot disagree with them.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';

const root = fileURLToPath(new URL('..', import.meta.url));
const file = join(root, 'oclif.manifest.json');
rmSync(file, { force: true }); // a stale manifest would be read instead of the commands
const config = await Config.load(root);
const plugin = config.plugins.get(config.pjson.name);
if (!plugin || Object.keys(plugin.manifest.commands).length === 0) {
  console.error('oclif-manifest: no commands found under dist/commands (build first)');
  process.exit(1);
}
writeFileSync(file, JSON.stringify(plugin.manifest, null, 1) + '\n');
