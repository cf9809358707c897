import { Args, Flags } from '@oclif/core';
import { read_variable, type VariableValue } from '@vmpipe/kernel';
import { EXIT, FatalError, hex } from '@vmpipe/records';
import { TypeLookupError } from '@vmpipe/kernel';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, programSource, requireTypes } from '../objects-program.js';
import { writerFor } from '../writer.js';

export function variableRecord(dump: string, v: VariableValue): Record<string, unknown> {
  return { kind: 'variable', dump, name: v.name, addr: hex(v.addr), type: v.type, ...(v.cpu !== undefined ? { cpu: v.cpu } : {}), value: v.value };
}

export default class VarRead extends VmpipeCommand {
  static override summary = 'A kernel variable\'s value, like crash `p VAR`, `p VAR:cpu`, `p VAR:a`: one variable record per value.';
  static override description = [
    'VAR is a kernel symbol; VAR:N reads a per-CPU variable on CPU N, VAR:a on every CPU (a per-CPU variable without a suffix is read on every CPU too). The type comes from the types (the kernel\'s BTF has the per-CPU variables), else --type (e.g. --type "unsigned long" for jiffies).',
    'See docs/var-read.md. Exit codes: 0 ok, 2 unknown symbol, type, or a CPU on a variable that is not per-CPU, 3 missing file, 4 not a dump or no types.',
  ].join('\n\n');
  static override consumes: readonly string[] = [];
  static override produces = ['source', 'variable'];
  static override examples = [
    '<%= config.bin %> var-read fixtures/real/vmcore.kdump-zlib jiffies --type "unsigned long" --format crash',
    '<%= config.bin %> var-read fixtures/real/vmcore.kdump-zlib runqueues:1 | jq .value.nr_running',
  ];
  static override args = { dump: Args.string({ description: 'the dump', required: true }), var: Args.string({ description: 'VAR, VAR:CPU or VAR:a', required: true }) };
  static override flags = { ...objectFlags, type: Flags.string({ description: 'the variable\'s C type, when the types do not have it', helpValue: 'TYPE' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(VarRead);
    const m = /^([A-Za-z_][A-Za-z0-9_.]*)(?::(a|\d+))?$/.exec(args.var);
    if (!m) throw new FatalError(`${args.var}: give VAR, VAR:CPU or VAR:a`, EXIT.usage);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = this.stream(writerFor(flags.format));
    requireTypes(prog);
    let values;
    try {
      values = read_variable(prog, m[1]!, { ...(flags.type ? { type: flags.type } : {}), ...(m[2] !== undefined && m[2] !== 'a' ? { cpus: [Number(m[2])] } : {}) });
    } catch (err) {
      if (err instanceof TypeLookupError || (err instanceof Error && /no such kernel symbol|give --type|not a per-CPU|not below nr_cpu_ids/.test(err.message))) throw new FatalError(err.message, EXIT.usage);
      fatalKernel(err);
    }
    await out.write(programSource(prog));
    for (const v of values) await out.write(variableRecord(args.dump, v));
    await out.end();
  }
}
