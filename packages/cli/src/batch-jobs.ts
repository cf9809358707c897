/**
 * What batch, queue add and worker share: the job list from the command line
 * (`-- CMD ARGS ::: INPUTS`, or inputs one per line on stdin), how a vmpipe
 * command name is started, and the Redis connection settings.
 */
import { Flags, type Config } from '@oclif/core';
import { makeJobs, splitTemplate, type Job, type QueueConfig, type Resolver } from '@vmpipe/batch';
import { EXIT, FatalError } from '@vmpipe/records';
import { join } from 'node:path';

/**
 * vmpipe commands run under this Node through the vmpipe bin; anything else is an executable on
 * PATH. A vmpipe command is one oclif knows (`queue:add` is `vmpipe queue add`): the commands'
 * own config says so, wherever the package's files are laid out.
 */
export function commandResolver(config: Config): Resolver {
  const vmpipeBin = join(config.root, 'bin', 'vmpipe.js');
  const isVmpipeCommand = (name: string) => /^[a-z][a-z-]*(:[a-z-]+)?$/.test(name) && config.findCommand(name) !== undefined;
  return (command) => (isVmpipeCommand(command) ? { file: process.execPath, args: [vmpipeBin, command], node: true } : { file: command, args: [], node: false });
}

async function stdinLines(): Promise<string[]> {
  if (process.stdin.isTTY) return [];
  let text = '';
  for await (const chunk of process.stdin) text += chunk.toString();
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** The jobs of `CMD ARGS... ::: INPUT...` (inputs from stdin, one per line, when there is no `:::`). */
export async function jobsFromArgv(words: string[]): Promise<Job[]> {
  const { template, inputs } = splitTemplate(words);
  if (template.length === 0) throw new FatalError('give the command after --, e.g. -- vmcore-extract {} --sys ::: dumps/*', EXIT.usage);
  const all = words.includes(':::') ? inputs : await stdinLines();
  if (all.length === 0) throw new FatalError('no inputs: list them after ::: or one per line on stdin', EXIT.usage);
  return makeJobs(template, all);
}

export const redisFlags = {
  redis: Flags.string({ description: 'Redis URL: redis://[:password@]host:port[/db], rediss:// for TLS (default: $VMPIPE_REDIS_URL)', helpValue: 'URL', env: 'VMPIPE_REDIS_URL' }),
  queue: Flags.string({ description: 'queue name (several batches can share one Redis)', default: 'vmpipe', helpValue: 'NAME' }),
};

/** Connection settings from the flags and the environment ($VMPIPE_REDIS_PASSWORD), never from the code. */
export function queueConfig(flags: { redis?: string; queue: string }): QueueConfig {
  if (!flags.redis) throw new FatalError('give --redis URL (or set VMPIPE_REDIS_URL)', EXIT.usage);
  const password = process.env['VMPIPE_REDIS_PASSWORD'];
  return { url: flags.redis, name: flags.queue, ...(password ? { password } : {}) };
}

/** Writes NDJSON text to stdout, waiting when the pipe is full. */
export async function writeOut(text: string): Promise<void> {
  if (text && !process.stdout.write(text)) await new Promise<void>((r) => process.stdout.once('drain', r));
}
