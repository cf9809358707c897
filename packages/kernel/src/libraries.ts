/**
 * What commands use from the layers below the kernel, re-exported here so that a command
 * reaches every library through @vmpipe/kernel (the layering check in .dependency-cruiser.cjs
 * enforces it): the errors the command base maps to exit codes, the symbol and type tools
 * commands apply to records, and the dump file's own operations. A command that needs more
 * from below adds it here, where the dependency is seen.
 */
export { readUint } from '@vmpipe/bytes';
export { DumpError, reassembleFlattened, type Dump, type DumpErrorReason, type PhysChunk } from '@vmpipe/dump';
export { isTranslation, MemoryError, type Translation, type TranslationFailure, type VirtChunk } from '@vmpipe/addrxlat';
export { annotate, HexResolver, KallsymsError, SymbolFileError, type KernelSymbol } from '@vmpipe/symbols';
export {
  BtfError, Decoder, DwarfError, findType, layoutOf, memberAt, NoTypesError, readObject, sizeOf, SourceFileError, splitOffsetQuery, TypeLookupError, TypeLoopError,
  type FoundType, type Json,
} from '@vmpipe/types';
