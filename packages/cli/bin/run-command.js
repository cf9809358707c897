// Shared by every bin: runs one oclif command by name, or the `vmpipe` multi-command CLI.
// Start-up stays small: oclif reads oclif.manifest.json (made at build) for ids, flags and
// help, and imports only the command that runs.
import { execute } from '@oclif/core/execute';

export async function run(command) {
  const args = process.argv.slice(2);
  const end = args.indexOf('--');
  // `--version` anywhere before `--` (oclif itself looks only at the first argument).
  if ((end < 0 ? args : args.slice(0, end)).includes('--version')) {
    await execute({ dir: import.meta.url, args: ['--version'] });
    return;
  }
  await execute({ dir: import.meta.url, args: command ? [command, ...args] : args });
}
