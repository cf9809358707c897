import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, VMPIPE_ONLY } from './commands/index.js';
import { runBinSync } from './run-bin.test-helper.js';

// The installed shape of the CLI: bins, oclif's manifest, help, completion, --version.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

/** The installed name of a command: generic words get the vmpipe- prefix so they cannot squat a user's PATH. */
const installedName = (id: string) => (id === 'render' ? 'vmpipe-render' : id);

const cache = mkdtempSync(join(tmpdir(), 'vmpipe-cache-'));
test.after.always(() => rmSync(cache, { recursive: true, force: true }));

// Completion writes its cache under XDG_CACHE_HOME: never into the tester's home.
const run = (bin: string, args: string[]) => runBinSync(bin, args, { env: { XDG_CACHE_HOME: cache } });

test('the manifest made at build lists exactly the commands of commands/index.ts, each with its own bin', (t) => {
  const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as { version: string; commands: Record<string, { relativePath: string[] }> };
  t.is(manifest.version, pkg.version);
  t.deepEqual(Object.keys(manifest.commands).sort(), Object.keys(COMMANDS).sort());
  for (const id of Object.keys(COMMANDS)) {
    if (VMPIPE_ONLY.has(id)) t.false(installedName(id) in pkg.bin, `${id} is vmpipe ${id.replace(':', ' ')} only`);
    else t.is(pkg.bin[installedName(id)], `bin/${installedName(id)}.js`, id);
    t.true(existsSync(join(root, ...manifest.commands[id]!.relativePath)), id);
  }
  t.false('render' in pkg.bin, 'no bin named render on a user\'s PATH');
});

test('-h and --help on every command print its help; --version anywhere prints the version', (t) => {
  for (const id of Object.keys(COMMANDS)) {
    // Subcommands of vmpipe alone run through its bin: `vmpipe queue add -h`.
    const [bin, pre] = VMPIPE_ONLY.has(id) ? ['vmpipe', id.split(':')] : [installedName(id), []];
    for (const flag of ['-h', '--help']) {
      const r = run(bin, [...pre, flag]);
      t.is(r.code, 0, `${id} ${flag}: ${r.err}`);
      t.regex(r.out, new RegExp(`\\$ vmpipe ${id.replace(':', ' ')}\\b`), `${id} ${flag}`);
    }
    const v = run(bin, [...pre, '--version']);
    t.is(v.code, 0, v.err);
    t.regex(v.out, new RegExp(`^@vmpipe/cli/${pkg.version.replace(/\./g, '\\.')} `));
  }
});

test('vmpipe help, vmpipe help CMD, and completion scripts', (t) => {
  const all = run('vmpipe', ['help']);
  t.is(all.code, 0, all.err);
  for (const id of Object.keys(COMMANDS)) t.regex(all.out, new RegExp(`^  ${id.split(':')[0]} `, 'm'));
  const one = run('vmpipe', ['help', 'struct-decode']);
  t.is(one.code, 0, one.err);
  t.regex(one.out, /--layout=TYPE +print the layout of this type/);
  const bash = run('vmpipe', ['autocomplete', 'script', 'bash']);
  t.is(bash.code, 0, bash.err);
  t.regex(bash.out, /VMPIPE_AC_BASH_SETUP_PATH=.*vmpipe-cache-/);
});
