import { Args } from '@oclif/core';
import { for_each_runqueue, type RunQueue as Queue, type RunqTask } from '@vmpipe/kernel';
import { hex } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, programSource, requireTypes } from '../objects-program.js';
import { writerFor } from '../writer.js';

const task = (t: RunqTask) => ({ task: hex(t.task), pid: t.pid, comm: t.comm, prio: t.prio });

export function runqueueRecord(dump: string, q: Queue): Record<string, unknown> {
  return {
    kind: 'runqueue', dump, cpu: q.cpu, rq: hex(q.rq), curr: task(q.curr), rtArray: hex(q.rtArray), rt: q.rt.map(task), cfsRoot: hex(q.cfsRoot), cfs: q.cfs.map(task),
    ...(q.notes.length ? { notes: q.notes } : {}),
  };
}

export default class RunQueue extends VmpipeCommand {
  static override summary = 'Each CPU\'s run queue, like crash `runq`: one runqueue record per CPU.';
  static override description = [
    'For every CPU below nr_cpu_ids: the per-CPU struct rq, its current task, the RT tasks queued by priority (rq.rt.active) and the fair tasks in the CFS red-black tree in order (group entities followed into their cfs_rq).',
    'See docs/run-queue.md. Exit codes: 0 ok, 3 missing file, 4 not a dump or no symbols/types.',
  ].join('\n\n');
  static override consumes: readonly string[] = [];
  static override produces = ['source', 'runqueue'];
  static override examples = ['<%= config.bin %> run-queue fixtures/real/vmcore.kdump-zlib --format crash'];
  static override args = { dump: Args.string({ description: 'the dump', required: true }) };
  static override flags = { ...objectFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RunQueue);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = this.stream(writerFor(flags.format));
    requireTypes(prog);
    await out.write(programSource(prog));
    try {
      for (const q of for_each_runqueue(prog)) {
        await out.write(runqueueRecord(args.dump, q));
      }
    } catch (err) {
      fatalKernel(err);
    }
    await out.end();
  }
}
