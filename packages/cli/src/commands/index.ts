import Render from './render.js';
import VmcoreExtract from './vmcore-extract.js';
import SymResolve from './sym-resolve.js';
import StructDecode from './struct-decode.js';
import Batch from './batch.js';
import Worker from './worker.js';
import QueueAdd from './queue/add.js';
import QueueResults from './queue/results.js';
import QueueStatus from './queue/status.js';
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
  'list-walk': ListWalk,
};

/** Commands reached only as `vmpipe <command>`: their names are too generic to install on a user's PATH. */
export const VMPIPE_ONLY: ReadonlySet<string> = new Set(['batch', 'worker', 'queue:add', 'queue:results', 'queue:status']);
