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

/**
 * Imports that break a rule today, by file, each with what it imports. The lead deletes a
 * line when its file is fixed (the commands rewritten on the kernel Program and the command
 * base, issue 8); a test fails when a listed file no longer breaks its rule, so the lists only
 * shrink, and a new violation anywhere else fails `npm test`.
 */
const KNOWN_VIOLATIONS = {
};
const known = (name) => (KNOWN_VIOLATIONS[name] ?? []).map((f) => `^${f.replace(/\./g, '\\.')}$`);
const rule = (name, comment, fromPath, toPath) => ({
  name, comment, severity: 'error', from: { path: fromPath, pathNot: [TESTS, ...known(name)] }, to: { path: toPath },
});

module.exports = {
  forbidden: [
    {
      ...rule('leaves-know-no-layers', 'bytes and cache are leaves every layer may use: they import no other package of the project',
        '^packages/(bytes|cache)/src/', '^(packages/[^/]+/|@vmpipe/)'),
      to: { path: '^(packages/[^/]+/|@vmpipe/)', pathNot: '^packages/$1/' }, // their own files are fine
    },
    rule('formats-know-no-addresses', 'dump formats (codecs, dump, elf) know no virtual addresses, symbols, types or kernel',
      '^packages/(codecs|dump|elf)/src/', pkg('addrxlat', 'symbols', 'types', 'kernel', 'render')),
    rule('addrxlat-knows-no-symbols', 'address translation knows no symbols, types or kernel',
      src('addrxlat'), pkg('symbols', 'types', 'kernel', 'render')),
    rule('symbols-know-no-types', 'symbols know no types and no kernel data structures (the module walk lives in kernel)',
      src('symbols'), pkg('types', 'kernel', 'render')),
    rule('types-know-no-dump-formats', 'types know no dump formats beyond the KernelMemory contract (addrxlat) and ELF sections (elf), and no symbols or kernel',
      src('types'), pkg('dump', 'codecs', 'symbols', 'kernel', 'render')),
    rule('kernel-knows-no-render', 'kernel helpers know no text rendering (and, by libraries-know-no-ndjson, no streams)',
      src('kernel'), pkg('render')),
    rule('records-know-no-dump', 'the record stream knows no dump and no library below it',
      src('records'), pkg('codecs', 'dump', 'elf', 'addrxlat', 'symbols', 'types', 'kernel', 'render')),
    rule('render-knows-records-only', 'the renderer turns records into text: it knows records, nothing below',
      src('render'), pkg('codecs', 'dump', 'elf', 'addrxlat', 'symbols', 'types', 'kernel')),
    rule('libraries-know-no-flags', 'oclif (flags, commands) only in the cli package',
      '^packages/(?!cli/)[^/]+/src/', '(^|/)node_modules/@oclif/|^@oclif/'),
    rule('libraries-know-no-cli', 'no library imports the commands (the rules above leave cli to this one)', '^packages/(?!cli/)[^/]+/src/', pkg('cli')),
    rule('commands-through-the-program', 'commands reach the libraries only through @vmpipe/kernel (the Program and its helpers) and @vmpipe/records/@vmpipe/render',
      '^packages/cli/(src|bin)/', pkg('codecs', 'dump', 'elf', 'addrxlat', 'symbols', 'types')),
    {
      // The record contract is the shared vocabulary (one SymbolDetail, one type-layout shape):
      // a library may name its types, but reading and writing streams is the commands' business.
      ...rule('libraries-know-no-ndjson', 'libraries may use the record shapes (import type), never the stream reader/writer',
        '^packages/(?!cli/|render/|records/)[^/]+/src/', pkg('records')),
      to: { path: pkg('records'), dependencyTypesNot: ['type-only'] },
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
