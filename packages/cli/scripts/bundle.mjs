#!/usr/bin/env node
// Bundles the built commands (part of `npm run build`, after tsc and before the manifest):
// each dist/commands file becomes bundle/commands/<same path>, with the @vmpipe packages it
// uses inlined and the code two commands share in bundle/chunks. Node's ES module loader
// pays per file (resolve, stat, read, compile, link): a command is ~130 workspace files,
// and loading them was ~70 ms of every start-up; a bundled command is a handful of files.
// Third-party packages (oclif, iced-x86, stream-json, ...) stay external: they load from
// node_modules as before, so their own files (iced's .wasm) are found where they expect.
// dist stays what the tests and the libraries' users import; oclif runs the bundle.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const commands = join(root, 'dist', 'commands');
const out = join(root, 'bundle');

/** The built command files: what oclif's pattern (package.json) finds, tests excluded. */
const entryPoints = readdirSync(commands, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.js') && !f.endsWith('.test.js') && f !== 'index.js')
  .map((f) => join(commands, f));

rmSync(out, { recursive: true, force: true }); // no chunk of an earlier build is left to load
await build({
  entryPoints,
  outbase: join(root, 'dist'),
  outdir: out,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: `node${process.versions.node.split('.')[0]}`,
  logLevel: 'warning',
  plugins: [
    {
      // Workspace packages are inlined; every other bare import is left to node_modules.
      name: 'workspace-only',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@vmpipe/') ? undefined : { path: args.path, external: true }));
      },
    },
  ],
});
console.error(`bundle: ${entryPoints.length} commands into ${relative(process.cwd(), out) || '.'}`);
