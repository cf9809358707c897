/**
 * Each CPU's run queue as crash `runq` shows it (kernel/sched/sched.h):
 * `runqueues` is per-CPU `struct rq`; `rq.curr` runs; the RT tasks wait on
 * `rq.rt.active.queue[prio]` (list_heads of `sched_rt_entity.run_list`), the
 * fair ones in the red-black tree `rq.cfs.tasks_timeline` (sched_entity.run_node),
 * where a group's entity (`my_q` set, CONFIG_FAIR_GROUP_SCHED) holds its own cfs_rq.
 * Red-black trees (include/linux/rbtree.h): `rb_node { __rb_parent_color, rb_right, rb_left }`,
 * walked in order (rb_first, rb_next) here without the parent links.
 */
import { list_for_each } from './list.js';
import { nr_cpu_ids, per_cpu_ptr } from './percpu.js';
import { KernelReadError, need } from './read.js';
import { StructLayout } from './struct-view.js';
import type { Program } from './program.js';

export interface RunqTask {
  task: bigint;
  pid: number;
  comm: string;
  prio: number;
}

export interface RunQueue {
  cpu: number;
  rq: bigint;
  curr: RunqTask;
  /** &rq->rt.active */
  rtArray: bigint;
  rt: RunqTask[];
  /** &rq->cfs.tasks_timeline */
  cfsRoot: bigint;
  cfs: RunqTask[];
  notes: string[];
}

const MAX_NODES = 1 << 20;

/** rbtree_postorder-free in-order walk: the nodes of the tree at `root` (an rb_root), left to right. */
export function* rbtree_inorder(prog: Program, root: bigint): Generator<bigint> {
  const stack: bigint[] = [];
  let node = prog.mem.readU64(root);
  let seen = 0;
  while (node !== 0n || stack.length) {
    while (node !== 0n) {
      if (++seen > MAX_NODES) throw new KernelReadError('rbtree', `more than ${MAX_NODES} nodes under 0x${root.toString(16)}: a loop?`);
      stack.push(node);
      node = prog.mem.readU64(node + 16n); // rb_left
    }
    node = stack.pop()!;
    yield node;
    node = prog.mem.readU64(node + 8n); // rb_right
  }
}

/** The run queue of every CPU below nr_cpu_ids. */
export function* for_each_runqueue(prog: Program): Generator<RunQueue> {
  const rqL = StructLayout.of(prog, 'rq');
  const task = StructLayout.of(prog, 'task_struct');
  const se = StructLayout.of(prog, 'sched_entity');
  const cfsRq = StructLayout.of(prog, 'cfs_rq');
  const runqueues = need(prog, 'runqueues');
  const nr = nr_cpu_ids(prog) ?? 1;
  const seOff = BigInt(task.offset('se'));
  const runNode = BigInt(se.offset('run_node'));
  const rtOff = BigInt(task.offset('rt.run_list'));
  const readTask = (t: bigint): RunqTask => ({
    task: t,
    pid: prog.mem.readU32(t + BigInt(task.offset('pid'))),
    comm: prog.mem.readCString(t + BigInt(task.offset('comm')), 16),
    prio: prog.mem.readU32(t + BigInt(task.offset('prio'))) | 0,
  });
  const cfsTasks = (root: bigint, out: RunqTask[], depth: number) => {
    for (const node of rbtree_inorder(prog, root)) {
      const entity = node - runNode;
      const myQ = se.has('my_q') ? prog.mem.readU64(entity + BigInt(se.offset('my_q'))) : 0n;
      if (myQ !== 0n && depth < 16) cfsTasks(myQ + BigInt(cfsRq.offset('tasks_timeline')), out, depth + 1);
      else out.push(readTask(entity - seOff));
    }
  };
  for (let cpu = 0; cpu < nr; cpu++) {
    const rq = per_cpu_ptr(prog, runqueues, cpu);
    const v = rqL.read(prog, rq);
    const notes: string[] = [];
    const rtArray = v.at('rt.active');
    const rt: RunqTask[] = [];
    const queue = rtArray + BigInt(StructLayout.of(prog, 'rt_prio_array').offset('queue'));
    const nPrio = 100; // MAX_RT_PRIO
    for (let prio = 0; prio < nPrio; prio++) {
      for (const step of list_for_each(prog, queue + BigInt(prio * 16), { max: 1 << 16, noPrevCheck: true })) {
        if ('corrupt' in step) {
          notes.push(`RT queue ${prio}: ${step.corrupt.message}`);
          break;
        }
        rt.push(readTask(step.node - rtOff));
      }
    }
    const cfsRoot = v.at('cfs.tasks_timeline');
    const cfs: RunqTask[] = [];
    try {
      cfsTasks(cfsRoot, cfs, 0);
    } catch (err) {
      notes.push(`CFS tree: ${(err as Error).message}`);
    }
    yield { cpu, rq, curr: readTask(v.int('curr')), rtArray, rt, cfsRoot, cfs, notes };
  }
}
