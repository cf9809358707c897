/**
 * The layering of ../shared/design/ARCHITECTURE.md (docs/architecture.md), checked by
 * dependency-cruiser on every import of every package's src/ (type-only imports count:
 * knowing another layer's types is knowing that layer). Run by `npm test` through
 * tools/boundaries (its test also shows that each rule catches a violation), or by hand
 * with `npm run check:layers`.
 *
 * A package is matched both by its folder (packages/x/, what a relative import or a
 * built package resolves to) and by its name (@vmpipe/x, when it is not built yet).
 * Tests (*.test.ts, testkit) may reach across layers to compare with other layers.
 */
const pkg = (...names) => `^(packages/(${names.join('|')})/|@vmpipe/(${names.join('|')})(/|$))`;
const src = (name) => `^packages/${name}/src/`;
const TESTS = '(\\.test\\.ts$|/testkit\\.ts$|/test-helpers\\.ts$)';
const rule = (name, comment, fromPath, toPath) => ({ name, comment, severity: 'error', from: { path: fromPath, pathNot: TESTS }, to: { path: toPath } });

/**
 * Imports that break the commands rule today, each by file, until the commands are rewritten
 * on the kernel Program and the command base (issue 8). The lead deletes each line as its
 * file stops importing the lower layers; an empty list is the goal. A new violation anywhere
 * else fails `npm test`.
 */
const KNOWN_COMMAND_VIOLATIONS = [
  'packages/cli/src/base.ts', // DumpError, DumpErrorReason from @vmpipe/dump (one error->exit table)
  'packages/cli/src/dump-records.ts', // Dump, Vmcoreinfo from @vmpipe/dump
  'packages/cli/src/kernel-records.ts', // @vmpipe/addrxlat, @vmpipe/types, @vmpipe/symbols, @vmpipe/dump
  'packages/cli/src/commands/vmcore-extract.ts', // openDump, kernelMemory, symbolsFor, typesFor
  'packages/cli/src/commands/sym-resolve.ts', // openDump, kernelMemory, symbolsFor, SymbolTable
  'packages/cli/src/commands/struct-decode.ts', // openDump, kernelMemory, symbolsFor, typesFor, Decoder
];

module.exports = {
  forbidden: [
    rule('formats-know-no-addresses', 'dump formats (codecs, dump, elf) know no virtual addresses, symbols, types, kernel, records or CLI',
      '^packages/(codecs|dump|elf)/src/', pkg('addrxlat', 'symbols', 'types', 'kernel', 'records', 'render')),
    rule('addrxlat-knows-no-symbols', 'address translation knows no symbols, types, kernel, records or CLI',
      src('addrxlat'), pkg('symbols', 'types', 'kernel', 'records', 'render')),
    rule('symbols-know-no-types', 'symbols know no types and no kernel data structures (the module walk lives in kernel)',
      src('symbols'), pkg('types', 'kernel', 'records', 'render')),
    rule('types-know-no-dump-formats', 'types know no dump formats beyond the KernelMemory contract (addrxlat) and ELF sections (elf), and no symbols or kernel',
      src('types'), pkg('dump', 'codecs', 'symbols', 'kernel', 'records', 'render')),
    rule('kernel-knows-no-ndjson', 'kernel helpers know no NDJSON records and no CLI',
      src('kernel'), pkg('records', 'render')),
    rule('records-know-no-dump', 'the record stream knows no dump and no library below it',
      src('records'), pkg('codecs', 'dump', 'elf', 'addrxlat', 'symbols', 'types', 'kernel', 'render')),
    rule('render-knows-records-only', 'the renderer turns records into text: it knows records, nothing below',
      src('render'), pkg('codecs', 'dump', 'elf', 'addrxlat', 'symbols', 'types', 'kernel')),
    rule('libraries-know-no-flags', 'oclif (flags, commands) only in the cli package',
      '^packages/(?!cli/)[^/]+/src/', '(^|/)node_modules/@oclif/|^@oclif/'),
    rule('libraries-know-no-cli', 'no library imports the commands (the rules above leave cli to this one)', '^packages/(?!cli/)[^/]+/src/', pkg('cli')),
    {
      name: 'commands-through-the-program',
      comment: 'commands reach the libraries only through @vmpipe/kernel (the Program and its helpers) and @vmpipe/records/@vmpipe/render',
      severity: 'error',
      from: { path: '^packages/cli/(src|bin)/', pathNot: [TESTS, ...KNOWN_COMMAND_VIOLATIONS.map((f) => `^${f.replace(/\./g, '\\.')}$`)] },
      to: { path: pkg('codecs', 'dump', 'elf', 'addrxlat', 'symbols', 'types') },
    },
  ],
  options: {
    // Type-only imports count (`import type { Dump }` is knowing the dump layer).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    // Built packages resolve to their dist/: recorded as the target, never cruised.
    doNotFollow: { path: ['node_modules', '(^|/)dist/'] },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
