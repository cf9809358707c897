import { Flags } from '@oclif/core';
import { LineWriter, readRecords } from '@vmpipe/records';
import { Renderer } from '@vmpipe/render';
import { VmpipeCommand } from '../base.js';

export default class Render extends VmpipeCommand {
  static override summary = 'Turn any vmpipe record stream into the text a person reads.';
  static override description =
    'Reads NDJSON records on stdin and prints crash-like text: source as sys, cpu as bt\'s register block, mem as rd, error records highlighted on a terminal; kinds it does not know as one-line JSON. A line that is not a record is shown as an error and reading goes on.';
  static override examples = ['vmcore-extract fixtures/real/vmcore.kdump-zlib | <%= config.bin %> render'];

  static override consumes = ['*'];
  static override produces = [];

  static override flags = {
    color: Flags.string({ description: 'highlight errors', options: ['auto', 'always', 'never'], default: 'auto' }),
    header: Flags.boolean({ description: "each dump's source block (the file, symbols, types) even when the stream has more for that dump" }),
    vmcoreinfo: Flags.boolean({ description: 'show vmcoreinfo records as the note\'s text (hidden by default, as in crash sys)' }),
    cpus: Flags.boolean({ description: 'show cpu records as bt\'s register blocks (hidden by default)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Render);
    this.requirePipedInput();
    const color = flags.color === 'always' || (flags.color === 'auto' && process.stdout.isTTY === true);
    const renderer = new Renderer({ color, header: flags.header, vmcoreinfo: flags.vmcoreinfo, cpus: flags.cpus });
    const out = new LineWriter();
    const print = async (lines: string[]) => {
      if (lines.length) await out.line(lines.join('\n'));
    };
    for await (const record of readRecords(process.stdin)) {
      if (out.closed) break;
      await print(renderer.render(record));
    }
    await print(renderer.flush());
    await out.end();
  }
}
