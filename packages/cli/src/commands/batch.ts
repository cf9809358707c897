import { Flags } from '@oclif/core';
import { finishedJobs, progressBar, runBatch } from '@vmpipe/batch';
import { cpus } from 'node:os';
import { VmpipeCommand } from '../base.js';
import { jobsFromArgv, commandResolver, writeOut } from '../batch-jobs.js';

export default class Batch extends VmpipeCommand {
  static override summary = 'Run a vmpipe command (or any command) over many dumps on this machine, N at a time.';
  static override description = [
    'vmpipe batch [--jobs N] -- CMD ARGS... ::: DUMP...: runs CMD once per DUMP ({} in ARGS is the dump, {/} its base name; without {} the dump is appended), N jobs at a time (default: the cores). Their NDJSON is merged into one stream in the order jobs finish; each job\'s records stay together and end with a `job` record (status, exit code, time). Inputs may also come one per line on stdin.',
    'A job that fails, times out (--timeout) or exceeds its memory cap (--memory, for vmpipe commands) becomes an `error` record (`job-failed`, `job-timeout`) and the batch goes on. --resume OUT skips the jobs an earlier output already finished. A progress bar is shown on stderr when it is a terminal. See docs/batch.md (also make -j and GNU parallel).',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> batch --jobs 2 -- vmcore-extract {} --panic ::: fixtures/real/vmcore.kdump-zlib fixtures/real/vmcore.kdump-lzo.split1',
    'ls /srv/dumps/*/vmcore | <%= config.bin %> batch -- vmcore-extract {} --sys > sys.ndjson',
    '<%= config.bin %> batch --resume out.ndjson -- vmcore-extract {} --panic ::: dumps/* >> out.ndjson',
  ];
  static override strict = false;
  static override produces = ['*', 'job', 'error'];

  static override flags = {
    jobs: Flags.integer({ char: 'j', description: 'jobs at a time (default: the number of cores)', min: 1, helpValue: 'N' }),
    timeout: Flags.integer({ description: 'seconds a job may run before it is killed (0: no limit)', default: 600, min: 0, helpValue: 'S' }),
    memory: Flags.integer({ description: 'heap cap per vmpipe job, in MB', default: 4096, min: 64, helpValue: 'MB' }),
    resume: Flags.string({ description: 'skip jobs that an earlier output (NDJSON with job records) finished', helpValue: 'OUT' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Batch);
    let jobs = await jobsFromArgv(argv as string[]);
    if (flags.resume) {
      const done = await finishedJobs(flags.resume);
      const before = jobs.length;
      jobs = jobs.filter((j) => !done.has(j.id));
      process.stderr.write(`batch: ${before - jobs.length} of ${before} jobs already done in ${flags.resume}\n`);
    }
    const bar = progressBar('batch', jobs.length);
    let closed = false;
    process.stdout.once('error', () => (closed = true));
    try {
      const s = await runBatch(jobs, {
        concurrency: flags.jobs ?? cpus().length,
        resolve: commandResolver(this.config),
        timeoutMs: flags.timeout * 1000,
        memoryMb: flags.memory,
        write: writeOut,
        progress: (done, total) => bar.update(done, total),
        stopped: () => closed,
      });
      bar.stop();
      if (s.failed + s.timedOut > 0) process.stderr.write(`batch: ${s.done} done, ${s.failed} failed, ${s.timedOut} timed out (error records in the output)\n`);
    } finally {
      bar.stop();
    }
  }
}
