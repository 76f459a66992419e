// The WebAssembly global as far as dockward uses it. Node has it everywhere, but @types/node 20
// does not declare it, and the DOM lib would bring browser globals into a server's types.
declare namespace WebAssembly {
  type ImportExportKind = 'function' | 'global' | 'memory' | 'table'
  interface ModuleExportDescriptor { readonly name: string, readonly kind: ImportExportKind }
  interface ModuleImportDescriptor { readonly module: string, readonly name: string, readonly kind: ImportExportKind }
  interface MemoryDescriptor { initial: number, maximum?: number }
  class Module {
    constructor (bytes: ArrayBufferView | ArrayBuffer)
    static exports (module: Module): ModuleExportDescriptor[]
    static imports (module: Module): ModuleImportDescriptor[]
  }
  class Memory {
    constructor (descriptor: MemoryDescriptor)
    readonly buffer: ArrayBuffer
    grow (pages: number): number
  }
  class Instance {
    constructor (module: Module, imports?: Record<string, Record<string, unknown>>)
    readonly exports: Record<string, unknown>
  }
  interface WebAssemblyInstantiatedSource { module: Module, instance: Instance }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}
}
