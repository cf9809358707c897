/**
 * Jobs as GNU parallel spells them: a command template and its inputs,
 * `CMD ARGS... ::: INPUT...`, `{}` in the template replaced by each input
 * (`{/}` by its base name); a template without `{}` gets the input appended.
 * A job's identity is its command line: the same dump under the same command
 * is the same job, whoever runs it and however often.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';

export interface Job {
  /** the input (a dump path or URL) the job is about: every record it yields names it */
  input: string;
  /** the command line to run: argv[0] is a vmpipe command name or an executable */
  argv: string[];
  /** stable identity: a hash of the command line */
  id: string;
}

/** Splits `TEMPLATE... ::: INPUT...` (inputs may also come from a list). */
export function splitTemplate(words: string[]): { template: string[]; inputs: string[] } {
  const at = words.indexOf(':::');
  if (at < 0) return { template: words, inputs: [] };
  return { template: words.slice(0, at), inputs: words.slice(at + 1) };
}

export function jobId(argv: readonly string[]): string {
  return 'j' + createHash('sha256').update(JSON.stringify(argv)).digest('hex').slice(0, 32);
}

/** One job per input, `{}`/`{/}` substituted. */
export function makeJobs(template: readonly string[], inputs: readonly string[]): Job[] {
  if (template.length === 0) throw new Error('no command to run: give it after --, e.g. -- vmcore-extract {} --sys');
  const placeholder = template.some((w) => w.includes('{}') || w.includes('{/}'));
  const seen = new Set<string>();
  const jobs: Job[] = [];
  for (const input of inputs) {
    const argv = placeholder ? template.map((w) => w.replaceAll('{}', input).replaceAll('{/}', basename(input))) : [...template, input];
    const id = jobId(argv);
    if (seen.has(id)) continue; // the same command line twice is one job
    seen.add(id);
    jobs.push({ input, argv, id });
  }
  return jobs;
}
