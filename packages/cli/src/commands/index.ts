import Render from './render.js';
import VmcoreExtract from './vmcore-extract.js';
import SymResolve from './sym-resolve.js';
import StructDecode from './struct-decode.js';
import Backtrace from './backtrace.js';

/** Every command, by the name it is called with (`vmpipe <name>` and its own bin). */
export const COMMANDS = {
  'vmcore-extract': VmcoreExtract,
  render: Render,
  'sym-resolve': SymResolve,
  'struct-decode': StructDecode,
  backtrace: Backtrace,
};
