import { Args, Flags } from '@oclif/core';
import { for_each_task_info, totalram_pages, type TaskInfo } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, type TaskRecord } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, programSource, requireTypes } from '../objects-program.js';
import { writerFor } from '../writer.js';

const num = (v: bigint) => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : hex(v));

export function taskRecord(dump: string, t: TaskInfo, pageSize: number, totalram: number | null): TaskRecord {
  return {
    kind: 'task', dump, task: hex(t.task), pid: t.pid, tgid: t.tgid, ppid: t.ppid, comm: t.comm, state: t.state, stateValue: t.stateValue, exitState: t.exitState,
    cpu: t.cpu, running: t.running, prio: t.prio, uid: t.uid, rssPages: t.rssPages, rss: t.rssPages * pageSize, vsz: t.vszPages * pageSize,
    kernelThread: t.kernelThread, leader: hex(t.leader), parent: hex(t.parent), lastArrival: num(t.lastArrival), startTime: num(t.startTime),
    utime: num(t.utime), stime: num(t.stime), type: 'struct task_struct', addr: hex(t.task), via: t.via,
    memPercent: totalram ? (t.rssPages * 100) / totalram : null,
    ...(t.missing ? { missing: t.missing } : {}),
  };
}

/** Which tasks a selection keeps (crash ps -G, -g, -c, -p). */
function select(all: TaskInfo[], f: { leaders: boolean; threads?: number | undefined; children?: number | undefined; parents?: number | undefined }): TaskInfo[] {
  let out = all;
  if (f.leaders) out = out.filter((t) => t.pid === t.tgid);
  const byPid = (pid: number) => {
    const t = all.find((x) => x.pid === pid);
    if (!t) throw new FatalError(`no task with PID ${pid}`, EXIT.usage);
    return t;
  };
  if (f.threads !== undefined) {
    const t = byPid(f.threads);
    out = out.filter((x) => x.tgid === t.tgid);
  }
  if (f.children !== undefined) {
    const t = byPid(f.children);
    out = out.filter((x) => x.parent === t.task && x.task !== t.task);
  }
  if (f.parents !== undefined) {
    const chain: TaskInfo[] = [];
    for (let t: TaskInfo | undefined = byPid(f.parents); t && !chain.includes(t); t = all.find((x) => x.task === t!.parent)) chain.unshift(t);
    out = chain;
  }
  return out;
}

export default class TaskList extends VmpipeCommand {
  static override summary = 'Every task, like crash `ps`: one task record each, from the task lists (not the PID hash).';
  static override description = [
    'Walks init_task.tasks and every thread group (for_each_task), with each CPU\'s idle task, and reads each task_struct once: pid, tgid, ppid, comm, state (crash\'s RU/IN/UN/ID/ZO/... and the raw value), cpu, whether it was running at the crash (crash\'s `>`), prio, uid, rss, vsz, last-run and start times.',
    '--leaders (ps -G), --threads PID (ps -g), --children PID (ps -c), --parents PID (ps -p); --sort last-run orders by sched_info.last_arrival, newest first (ps -l). See docs/task-list.md.',
    'Exit codes: 0 ok, 2 bad usage or no such PID, 3 missing file, 4 not a dump or no symbols/types.',
  ].join('\n\n');
  static override consumes: readonly string[] = [];
  static override produces = ['source', 'task', 'error'];
  static override examples = [
    '<%= config.bin %> task-list fixtures/real/vmcore.kdump-zlib --format crash',
    '<%= config.bin %> task-list fixtures/real/vmcore.kdump-zlib | jq -r \'select(.kind=="task" and .state=="UN") | .comm\'',
  ];
  static override args = { dump: Args.string({ description: 'the dump', required: true }) };
  static override flags = {
    ...objectFlags,
    leaders: Flags.boolean({ description: 'thread-group leaders only (crash ps -G)' }),
    threads: Flags.integer({ description: 'the threads of PID\'s thread group (crash ps -g)', helpValue: 'PID' }),
    children: Flags.integer({ description: 'the children of PID (crash ps -c)', helpValue: 'PID' }),
    parents: Flags.integer({ description: 'PID and its parents up to init_task (crash ps -p)', helpValue: 'PID' }),
    sort: Flags.string({ description: 'order: as walked, by pid (crash ps), or by last run, newest first (crash ps -l)', options: ['walk', 'pid', 'last-run'], default: 'walk' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TaskList);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = writerFor(flags.format);
    requireTypes(prog);
    const tasks: TaskInfo[] = [];
    const problems = [];
    try {
      for (const step of for_each_task_info(prog)) {
        if ('info' in step) tasks.push(step.info);
        else if ('corrupt' in step) problems.push(errorRecord('task-list-corrupt', `the task list is damaged: ${step.corrupt.message}; the tasks read so far are listed`, { dump: args.dump, addr: hex(step.corrupt.node), reason: step.corrupt.reason }));
        else problems.push(errorRecord('task-unreadable', step.message, { dump: args.dump, addr: hex(step.unreadable) }));
      }
    } catch (err) {
      fatalKernel(err);
    }
    let totalram: number | null = null;
    try {
      totalram = totalram_pages(prog);
    } catch {
      totalram = null;
    }
    let shown = select(tasks, flags);
    if (flags.sort === 'pid') shown = [...shown].sort((a, b) => a.pid - b.pid);
    if (flags.sort === 'last-run') shown = [...shown].sort((a, b) => (a.lastArrival < b.lastArrival ? 1 : a.lastArrival > b.lastArrival ? -1 : 0));
    await out.write(programSource(prog));
    for (const p of problems) await out.write(p);
    const pageSize = prog.theDump.pageSize;
    for (const t of shown) {
      if (out.closed) break;
      await out.write(taskRecord(args.dump, t, pageSize, totalram));
    }
    await out.end();
  }
}
