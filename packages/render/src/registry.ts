import type { LayoutFactory } from './layout.js';
import { sourceLayout, systemLayout } from './source.js';
import { vmcoreinfoLayout } from './vmcoreinfo.js';
import { cpuLayout } from './cpu.js';
import { memLayout } from './mem.js';
import { errorLayout } from './error.js';
import { translationLayout } from './translation.js';
import { symbolLayout } from './symbol.js';
import { typeLayout, offsetLayout } from './type.js';
import { objectLayout } from './object.js';
import { logLayout } from './log.js';
import { panicLayout } from './panic.js';
import { frameLayout } from './frame.js';
import { bucketLayout, signatureLayout } from './bucket.js';
import { insnLayout } from './insn.js';
import { moduleLayout } from './module.js';
import { taskLayout } from './task.js';
import { memorySummaryLayout } from './memory.js';
import { slabCacheLayout } from './slab.js';
import { addrInfoLayout } from './memory-addr.js';
import { memMatchLayout } from './mem-match.js';
import { runqueueLayout } from './runqueue.js';
import { variableLayout } from './variable.js';
import { taskFilesLayout } from './task-files.js';
import { taskVmLayout } from './task-vm.js';
import { listEntryLayout, listCountLayout, listBracketLayout } from './list.js';

/**
 * kind → layout. A new kind (insn as `dis`, type as `struct -o`, frame as
 * `bt`, log as `log`) is one new file and one line here; kinds not listed
 * print as their JSON (fallback.ts).
 */
export const layouts: Readonly<Record<string, LayoutFactory>> = {
  source: sourceLayout,
  system: systemLayout,
  vmcoreinfo: vmcoreinfoLayout,
  cpu: cpuLayout,
  mem: memLayout,
  error: errorLayout,
  translation: translationLayout,
  symbol: symbolLayout,
  type: typeLayout,
  offset: offsetLayout,
  object: objectLayout,
  log: logLayout,
  panic: panicLayout,
  frame: frameLayout,
  bucket: bucketLayout,
  signature: signatureLayout,
  insn: insnLayout,
  module: moduleLayout,
  task: taskLayout,
  'memory-summary': memorySummaryLayout,
  'slab-cache': slabCacheLayout,
  'addr-info': addrInfoLayout,
  'mem-match': memMatchLayout,
  runqueue: runqueueLayout,
  variable: variableLayout,
  'task-files': taskFilesLayout,
  'task-vm': taskVmLayout,
  'list-entry': listEntryLayout,
  'list-count': listCountLayout,
  'list-bracket': listBracketLayout,
};
