import { Args, Flags } from '@oclif/core';
import { for_each_task_info, kernel_hz, task_run_time, totalram_pages, uptime_jiffies, type ListCorruption, type Program, type TaskInfo } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, type TaskRecord } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, programSource, requireTypes } from '../objects-program.js';
import { writerFor } from '../writer.js';

const num = (v: bigint) => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : hex(v));

export function taskRecord(dump: string, t: TaskInfo, pageSize: number, totalram: number | null, extra: Pick<TaskRecord, 'runTime' | 'style'> = {}): TaskRecord {
  return {
    kind: 'task', dump, task: hex(t.task), pid: t.pid, tgid: t.tgid, ppid: t.ppid, comm: t.comm, state: t.state, stateValue: t.stateValue, exitState: t.exitState,
    cpu: t.cpu, running: t.running, prio: t.prio, uid: t.uid, rssPages: t.rssPages, rss: t.rssPages * pageSize, vsz: t.vszPages * pageSize,
    kernelThread: t.kernelThread, leader: hex(t.leader), parent: hex(t.parent), lastArrival: num(t.lastArrival), startTime: num(t.startTime),
    utime: num(t.utime), stime: num(t.stime), type: 'struct task_struct', addr: hex(t.task), via: t.via,
    memPercent: totalram ? (t.rssPages * 100) / totalram : null,
    ...(t.missing ? { missing: t.missing } : {}),
    ...extra,
  };
}

/** The summary of a task list the PID table had to complete: where init_task.tasks broke, and what the PID table added. */
function taskListBroken(dump: string, broke: ListCorruption | undefined, fromPid: number, unreadable: number) {
  const where = broke ? `init_task.tasks broke at ${hex(broke.node)} (${broke.message})` : 'the thread lists missed tasks';
  const more = unreadable > 0 ? `, and ${unreadable} whose task_struct the dump lacks (task-unreadable)` : '';
  return errorRecord('task-list-broken', `${where}; ${fromPid} more task${fromPid === 1 ? '' : 's'} found through the PID table (init_pid_ns.idr)${more}`, {
    dump, ...(broke ? { addr: hex(broke.node), reason: broke.reason, link: broke.link, pointer: hex(broke.value), walked: broke.walked } : {}), fromPidTable: fromPid, unreadableFromPidTable: unreadable,
  });
}

/** crash's task order (task.c sort_by_pid): by PID, the idle tasks (PID 0) by CPU; a stable sort keeps it for ties of later sorts. */
const byPid = (a: TaskInfo, b: TaskInfo) => a.pid - b.pid || (a.pid === 0 ? a.cpu - b.cpu : 0);

/** crash ps -t's RUN TIME for each task, when HZ and jiffies_64 can be read. */
function runTimes(prog: Program): ((t: TaskInfo) => number) | undefined {
  const hz = kernel_hz(prog);
  const up = hz === undefined ? undefined : uptime_jiffies(prog, hz);
  return hz === undefined || up === undefined ? undefined : (t) => task_run_time(up, hz, t.startTime);
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
  static override summary = 'Every task, like crash `ps`: one task record each, from the task lists, completed from the PID table where they break.';
  static override description = [
    'Walks init_task.tasks and every thread group (for_each_task), then the PID table (init_pid_ns.idr) for the tasks a broken list hides (a task-list-broken error says where it broke and how many came from the PID table), with each CPU\'s idle task, and reads each task_struct once: pid, tgid, ppid, comm, state (crash\'s RU/IN/UN/ID/ZO/... and the raw value), cpu, whether it was running at the crash (crash\'s `>`), prio, uid, rss, vsz, last-run and start times.',
    '--leaders (ps -G), --threads PID (ps -g), --children PID (ps -c), --parents PID (ps -p); --sort last-run orders by sched_info.last_arrival, newest first. --last-run: crash ps -l (that order, rendered as crash\'s `[last_arrival] [ST]  PID: ...` lines); --times: crash ps -t (by start time, with each task\'s RUN TIME, START TIME, UTIME, STIME). See docs/task-list.md.',
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
    sort: Flags.string({ description: 'order: as walked, by pid (crash ps), by last run, newest first (crash ps -l), or by start time (crash ps -t)', options: ['walk', 'pid', 'last-run', 'start'], default: 'walk' }),
    'last-run': Flags.boolean({ description: 'crash ps -l: newest last_arrival first, rendered as crash does', exclusive: ['times'] }),
    times: Flags.boolean({ description: 'crash ps -t: by start time, with run, start, user and system times, rendered as crash does', exclusive: ['last-run'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TaskList);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = this.stream(writerFor(flags.format));
    requireTypes(prog);
    const tasks: TaskInfo[] = [];
    const problems = [];
    let broke: ListCorruption | undefined; // where init_task.tasks broke
    let unreadableFromPid = 0;
    try {
      for (const step of for_each_task_info(prog)) {
        if ('info' in step) tasks.push(step.info);
        else if ('corrupt' in step) {
          if (step.walk === 'tasks') broke ??= step.corrupt;
          const what = step.walk === 'pid-table' ? 'the PID table (init_pid_ns.idr) is damaged' : 'the task list is damaged';
          const then = step.walk === 'tasks' ? 'the tasks after it are looked up in the PID table (task-list-broken)' : 'the tasks read so far are listed';
          problems.push(errorRecord('task-list-corrupt', `${what}: ${step.corrupt.message}; ${then}`, { dump: args.dump, addr: hex(step.corrupt.node), reason: step.corrupt.reason }));
        } else {
          if (step.via === 'pid') unreadableFromPid++;
          problems.push(errorRecord('task-unreadable', step.message, { dump: args.dump, addr: hex(step.unreadable) }));
        }
      }
    } catch (err) {
      fatalKernel(err);
    }
    const fromPid = tasks.filter((t) => t.via === 'pid').length;
    if (broke || fromPid > 0) problems.unshift(taskListBroken(args.dump, broke, fromPid, unreadableFromPid));
    let totalram: number | null = null;
    try {
      totalram = totalram_pages(prog);
    } catch {
      totalram = null;
    }
    let shown = select(tasks, flags);
    const sort = flags['last-run'] ? 'last-run' : flags.times ? 'start' : flags.sort;
    if (sort !== 'walk') shown = [...shown].sort(byPid);
    if (sort === 'last-run') shown.sort((a, b) => (a.lastArrival < b.lastArrival ? 1 : a.lastArrival > b.lastArrival ? -1 : 0));
    if (sort === 'start') shown.sort((a, b) => (a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : 0));
    const runTime = runTimes(prog);
    const style: TaskRecord['style'] = flags['last-run'] ? 'ps-l' : flags.times ? 'ps-t' : undefined;
    await out.write(programSource(prog));
    for (const p of problems) await out.write(p);
    const pageSize = prog.theDump.pageSize;
    for (const t of shown) {
      if (out.closed) break;
      await out.write(taskRecord(args.dump, t, pageSize, totalram, { ...(runTime ? { runTime: runTime(t) } : {}), ...(style ? { style } : {}) }));
    }
    await out.end();
  }
}
