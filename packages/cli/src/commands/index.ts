import Render from './render.js';
import VmcoreExtract from './vmcore-extract.js';
import SymResolve from './sym-resolve.js';
import StructDecode from './struct-decode.js';
import Batch from './batch.js';
import Worker from './worker.js';
import QueueAdd from './queue/add.js';
import QueueResults from './queue/results.js';
import QueueStatus from './queue/status.js';
import Backtrace from './backtrace.js';
import Triage from './triage.js';
import Disasm from './disasm.js';
import ModuleList from './module-list.js';
import TaskList from './task-list.js';
import MemInfo from './mem-info.js';
import AddrInfo from './addr-info.js';
import MemSearch from './mem-search.js';
import RunQueue from './run-queue.js';
import VarRead from './var-read.js';
import FileList from './file-list.js';
import VmaList from './vma-list.js';
import ListWalk from './list-walk.js';

/** Every command, by the name it is called with (`vmpipe <name>` and its own bin). */
export const COMMANDS = {
  'vmcore-extract': VmcoreExtract,
  render: Render,
  'sym-resolve': SymResolve,
  'struct-decode': StructDecode,
  batch: Batch,
  worker: Worker,
  'queue:add': QueueAdd,
  'queue:results': QueueResults,
  'queue:status': QueueStatus,
  backtrace: Backtrace,
  triage: Triage,
  disasm: Disasm,
  'module-list': ModuleList,
  'task-list': TaskList,
  'mem-info': MemInfo,
  'addr-info': AddrInfo,
  'mem-search': MemSearch,
  'run-queue': RunQueue,
  'var-read': VarRead,
  'file-list': FileList,
  'vma-list': VmaList,
  'list-walk': ListWalk,
};

/** Commands reached only as `vmpipe <command>`: their names are too generic to install on a user's PATH. */
export const VMPIPE_ONLY: ReadonlySet<string> = new Set(['batch', 'worker', 'queue:add', 'queue:results', 'queue:status']);
