import { Command } from '@oclif/core';
import { DumpError, type DumpErrorReason } from '@vmpipe/dump';
import { EXIT, FatalError } from '@vmpipe/records';

const EXIT_FOR: Record<DumpErrorReason, number> = {
  'no-input': EXIT.noInput,
  'not-a-dump': EXIT.badFormat,
  unsupported: EXIT.badFormat,
  damaged: EXIT.badFormat,
};

/**
 * Every vmpipe command: failures that end the run become one line on stderr
 * (`<command>: <what went wrong>`) and a documented exit code
 * (docs/exit-codes.md), never a stack trace. A closed stdout (`| head`) ends
 * the run quietly.
 */
export abstract class VmpipeCommand extends Command {
  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number }; code?: string }): Promise<void> {
    const name = this.id ?? 'vmpipe';
    if (err.code === 'EPIPE') this.exit(EXIT.ok);
    let message = err.message;
    let exitCode: number;
    if (err instanceof DumpError) exitCode = EXIT_FOR[err.reason];
    else if (err instanceof FatalError) exitCode = err.exitCode;
    else if (err.oclif?.exit !== undefined) {
      // oclif's own parse errors: keep the first line, which names the problem.
      if (err.oclif.exit === 0) return;
      exitCode = EXIT.usage;
      message = message.split('\n')[0] + ` (see ${name} --help)`;
    } else {
      exitCode = EXIT.io;
      message = `internal error: ${message}`;
      if (process.env['VMPIPE_DEBUG']) process.stderr.write(`${err.stack}\n`);
    }
    process.stderr.write(`${name}: ${message}\n`);
    process.exitCode = exitCode;
    this.exit(exitCode);
  }
}

/** Quiet end when the reader of stdout goes away. */
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
});
