// Shared by every bin: runs one oclif command by name, or the `vmpipe` multi-command CLI.
import { execute } from '@oclif/core';

export async function run(command) {
  const args = process.argv.slice(2);
  await execute({ dir: import.meta.url, args: command ? [command, ...args] : args });
}
