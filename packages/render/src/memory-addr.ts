import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, stateless, type LayoutFactory } from './layout.js';
import { slabLine, SLAB_HEADER } from './slab.js';

// crash's `kmem ADDR` (memory.c: cmd_kmem with an address): blocks set off by
// blank lines, in crash's order: the symbol, the slab object (its cache's
// kmem -s line, the slab, and the object in brackets when allocated), the free
// buddy block, the task whose task_struct or stack it is, the vmalloc area,
// and the struct page behind the address. crash's zone and free-area tables
// for a free page are not printed; the block's line is.

const hx = (v: unknown) => hexDigits(parseHex(v) ?? 0n, 0);
const hx16 = (v: unknown) => hexDigits(parseHex(v) ?? 0n, 16);
const STATES: Record<string, string> = {
  RU: 'TASK_RUNNING', IN: 'TASK_INTERRUPTIBLE', UN: 'TASK_UNINTERRUPTIBLE', ID: 'TASK_IDLE', ST: 'TASK_STOPPED', TR: 'TASK_TRACED',
  ZO: 'EXIT_ZOMBIE', DE: 'EXIT_DEAD', PA: 'TASK_PARKED', WA: 'TASK_WAKING', WK: 'TASK_WAKEKILL', NE: 'TASK_NEW',
};
const ordinal = (n: number) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;

type Obj = Record<string, unknown>;

function kmemAddr(r: AnyRecord): string[] {
  const blocks: string[][] = [];
  const sym = r.symbol as Obj | undefined;
  if (sym) blocks.push([`${hx(r.addr)} (${String(sym.type)}) ${String(sym.name)}${Number(sym.offset) > 0 ? `+${String(sym.offset)}` : ''}${sym.module ? ` [${String(sym.module)}]` : ''}`]);
  const slab = r.slab as Obj | undefined;
  if (slab) {
    const objs = Number(slab.objects);
    const free = Number(slab.freeObjects);
    blocks.push([
      SLAB_HEADER,
      slabLine({ kind: 'slab-cache', cache: slab.cache, objectSize: slab.objectSize, allocated: slab.allocated ?? '?', total: slab.total ?? '?', slabs: slab.slabs ?? '?', slabSize: slab.slabSize, name: slab.name }),
      '  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE',
      `  ${hx16(slab.slab)}  ${hx16(slab.slabStart)}${'0'.padStart(6)}${String(objs).padStart(7)}${String(objs - free).padStart(11)}${String(free).padStart(6)}`,
      '  FREE / [ALLOCATED]',
      // crash names the CPU whose slab holds a free object (its per-CPU freelist): `(cpu 0 cache)`
      slab.free === true ? `   ${hx(slab.object)}${typeof slab.cpu === 'number' ? `  (cpu ${slab.cpu} cache)` : ''}` : `  [${hx(slab.object)}]`,
    ]);
  }
  const fb = r.free as Obj | undefined;
  if (fb) blocks.push([`${hx16(fb.page)}  (${hx(r.addr)} is ${ordinal(Number(fb.index) + 1)} of ${2 ** Number(fb.order)} pages)`]);
  const task = r.task as Obj | undefined;
  if (task) {
    const how = task.panic === true ? ' (PANIC)' : task.running === true ? ' (ACTIVE)' : '';
    blocks.push([
      `    PID: ${String(task.pid)}`,
      `COMMAND: "${String(task.comm)}"`,
      `   TASK: ${hx(task.task)}  ${Array.isArray(task.of) ? `(${String(task.of[0])} of ${String(task.of[1])})  ` : ''}[THREAD_INFO: ${hx(task.task)}]`,
      `    CPU: ${String(task.cpu)}`,
      `  STATE: ${STATES[String(task.state)] ?? String(task.state)}${how}`,
    ]);
  }
  const vm = r.vmalloc as Obj | undefined;
  if (vm) {
    blocks.push([
      '   VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                SIZE',
      `${hx16(vm.area)}  ${hx16(vm.vm)}  ${hx16(vm.start)} - ${hx16(vm.end)}${String(vm.size).padStart(9)}`,
    ]);
  }
  const page = r.page as Obj | undefined;
  if (page) {
    const names = Array.isArray(page.flagNames) && page.flagNames.length ? ` ${page.flagNames.join(',')}` : '';
    blocks.push([
      '      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS',
      `${hx16(page.page)}  ${hx(page.phys).padEnd(8)}${hx(page.mapping).padStart(16)} ${BigInt(String(page.index)).toString().padStart(8)}${String(page.refcount).padStart(3)} ${hx(page.flags)}${names}`,
    ]);
  }
  if (blocks.length === 0) blocks.push([`${hx(r.addr)}: ${r.what === 'unknown' ? 'address not found in any kernel memory area' : String(r.what)}`]);
  return blocks.flatMap((b, i) => (i ? ['', ...b] : b));
}

export const addrInfoLayout: LayoutFactory = () => stateless(true, kmemAddr);
