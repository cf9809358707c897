// The parts of @alexaltea/capstone-js (Emscripten build of capstone 5, no types shipped) that aarch64.ts uses.
declare module '@alexaltea/capstone-js' {
  interface CsInstruction {
    id: number;
    address: bigint | number;
    size: number;
    bytes: number[];
    mnemonic: string;
    op_str: string;
  }
  interface CsHandle {
    disasm(buffer: Uint8Array | number[], addr: bigint | number, max?: number): CsInstruction[];
    option(opt: number, value: number): void;
    close(): void;
  }
  interface CsModule {
    ARCH_ARM64: number;
    MODE_ARM: number;
    Capstone: new (arch: number, mode: number) => CsHandle;
    version(): number;
  }
  const MCapstone: (opts?: Record<string, unknown>) => Promise<CsModule>;
  export default MCapstone;
}
