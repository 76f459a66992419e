import createWabt from 'wabt'
import { tarGz } from './tar.ts'

// A WebAssembly module speaking the OPA wasm ABI that @open-policy-agent/opa-wasm calls (its
// src/opa.js): the globals opa_wasm_abi_version and opa_wasm_abi_minor_version, builtins,
// entrypoints, opa_malloc, opa_json_parse, opa_json_dump, opa_heap_ptr_get/set, and either the
// ABI 1.1 eval context (opa_eval_ctx_*, eval) or the ABI 1.2 opa_eval. It imports env.memory and
// env.opa_abort like an OPA-built module. No OPA compiler is needed: the WAT is generated here
// and assembled with wabt.
//
// A "value" in this module is an 8-byte record {text pointer, text length} of raw JSON: JSON is
// never parsed, only searched and copied. Decisions depend on the input text:
//
//   entrypoint 0, docker/authz/allow: false when the input contains "Privileged":true, else true.
//   entrypoint 1, dockward/authz, first match wins:
//     opa-trap       traps (unreachable)
//     opa-abort      calls opa_abort("wat module aborted")
//     opa-garbage    result "yes" (a string)
//     opa-notjson    a result set that is not JSON
//     opa-undefined  an empty result set
//     opa-two        two results
//     opa-badallow   {"allow":"yes"}
//     opa-echo       deny, reason = the whole input text, ruleId wat-echo
//     "Privileged":true  deny, reason names the data document, ruleId wat-privileged
//     otherwise      allow (or deny with ruleId wat-locked when built with locked: true),
//                    with an audit field {"module":"wat"}
//   entrypoint 2, dockward/data: deny, reason = the data document's text, ruleId wat-data.

export interface OpaTestModuleOptions {
  /** ABI minor version: 1 (eval context) or 2 (opa_eval). */
  readonly minor: 1 | 2
  /** Deny what would otherwise be allowed on dockward/authz (to see a reload take effect). */
  readonly locked?: boolean
}

export const TEST_ENTRYPOINTS = ['docker/authz/allow', 'dockward/authz', 'dockward/data'] as const

const STRINGS = {
  empty: '{}',
  entrypoints: JSON.stringify(Object.fromEntries(TEST_ENTRYPOINTS.map((e, i) => [e, i]))),
  privileged: '"Privileged":true',
  trap: 'opa-trap',
  abort: 'opa-abort',
  abortMessage: 'wat module aborted\0',
  garbage: 'opa-garbage',
  notjson: 'opa-notjson',
  undefined: 'opa-undefined',
  two: 'opa-two',
  badallow: 'opa-badallow',
  echo: 'opa-echo',
  open: '[{"result":',
  close: '}]',
  none: '[]',
  true: 'true',
  false: 'false',
  yes: '"yes"',
  twoResults: '[{"result":true},{"result":true}]',
  badAllowResult: '{"allow":"yes"}',
  echoHead: '{"allow":false,"ruleId":"wat-echo","reason":"',
  dataHead: '{"allow":false,"ruleId":"wat-data","reason":"',
  privilegedHead: '{"allow":false,"ruleId":"wat-privileged","reason":"privileged containers are denied by the WAT module (data: ',
  privilegedTail: ')',
  quoteBrace: '"}',
  allow: '{"allow":true,"ruleId":"wat-allow","reason":"allowed by the WAT module","module":"wat"}',
  locked: '{"allow":false,"ruleId":"wat-locked","reason":"the WAT module is locked"}'
} as const

type Name = keyof typeof STRINGS

/**
 * Assembles the test module.
 *
 * @example const wasm = await opaTestModule({ minor: 2 })
 */
export async function opaTestModule (options: OpaTestModuleOptions): Promise<Uint8Array> {
  return await assembleWat(opaTestWat(options))
}

/**
 * Any WAT text as a wasm binary (for variants of the test module that break the ABI).
 *
 * @example await assembleWat(opaTestWat({ minor: 2 }).replace('"opa_eval"', '"opa_evil"'))
 */
export async function assembleWat (text: string): Promise<Uint8Array> {
  const wabt = await createWabt()
  const module = wabt.parseWat('opa-test.wat', text)
  try {
    return module.toBinary({}).buffer
  } finally {
    module.destroy()
  }
}

/** The module's WAT text. */
export function opaTestWat ({ minor, locked = false }: OpaTestModuleOptions): string {
  // Static strings from byte 1024 (0 stays "no value"); the heap starts on page 1.
  const at = new Map<Name, { off: number, len: number }>()
  const segments: string[] = []
  let off = 1024
  for (const [name, text] of Object.entries(STRINGS) as Array<[Name, string]>) {
    const bytes = Buffer.from(text, 'utf8')
    at.set(name, { off, len: bytes.length })
    segments.push(`(data (i32.const ${off}) "${[...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('')}")`)
    off += bytes.length + 8
  }
  const s = (n: Name): string => `(i32.const ${at.get(n)!.off}) (i32.const ${at.get(n)!.len})`
  const has = (n: Name): string => `(call $contains (local.get $in) (local.get $inLen) ${s(n)})`
  const emit = (n: Name): string => `(call $emit ${s(n)})`

  const v11 = `
  (func (export "opa_eval_ctx_new") (result i32) (local $c i32)
    (local.set $c (call $alloc (i32.const 16)))
    (i32.store (local.get $c) (i32.const 0)) (i32.store offset=4 (local.get $c) (i32.const 0))
    (i32.store offset=8 (local.get $c) (i32.const 0)) (i32.store offset=12 (local.get $c) (i32.const 0))
    (local.get $c))
  (func (export "opa_eval_ctx_set_input") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "opa_eval_ctx_set_data") (param i32 i32) (i32.store offset=4 (local.get 0) (local.get 1)))
  (func (export "opa_eval_ctx_set_entrypoint") (param i32 i32) (i32.store offset=8 (local.get 0) (local.get 1)))
  (func (export "opa_eval_ctx_get_result") (param i32) (result i32) (i32.load offset=12 (local.get 0)))
  (func (export "eval") (param $c i32) (result i32) (local $start i32)
    (local.set $start (call $run (i32.load offset=8 (local.get $c))
      (call $textPtr (i32.load (local.get $c))) (call $textLen (i32.load (local.get $c)))
      (call $textPtr (i32.load offset=4 (local.get $c))) (call $textLen (i32.load offset=4 (local.get $c)))))
    (i32.store offset=12 (local.get $c) (call $value (local.get $start) (i32.sub (global.get $heap) (local.get $start))))
    (i32.const 0))`

  const v12 = `
  (func (export "opa_eval") (param $reserved i32) (param $ep i32) (param $data i32) (param $in i32) (param $inLen i32) (param $heapPtr i32) (param $format i32) (result i32)
    (local $start i32)
    (global.set $heap (local.get $heapPtr))
    (local.set $start (call $run (local.get $ep) (local.get $in) (local.get $inLen)
      (call $textPtr (local.get $data)) (call $textLen (local.get $data))))
    (call $put (i32.const 0))
    (local.get $start))`

  return `(module
  (import "env" "memory" (memory 2))
  (import "env" "opa_abort" (func $abort (param i32)))
  ${segments.join('\n  ')}
  (global $heap (mut i32) (i32.const 65536))
  (global (export "opa_wasm_abi_version") i32 (i32.const 1))
  (global (export "opa_wasm_abi_minor_version") i32 (i32.const ${minor}))

  ;; Makes sure bytes up to $end exist, growing the memory (a failed grow traps).
  (func $ensure (param $end i32)
    (local $have i32)
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535)) (i32.const 16))) (i32.const -1))
        (then unreachable)))))
  ;; Bump allocation, 8-aligned.
  (func $alloc (param $n i32) (result i32) (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (call $ensure (i32.add (local.get $p) (local.get $n)))
    (global.set $heap (i32.add (local.get $p) (local.get $n)))
    (local.get $p))
  ;; Output: bytes appended at the heap pointer, unaligned, so consecutive writes are contiguous.
  (func $put (param $b i32)
    (call $ensure (i32.add (global.get $heap) (i32.const 1)))
    (i32.store8 (global.get $heap) (local.get $b))
    (global.set $heap (i32.add (global.get $heap) (i32.const 1))))
  (func $emit (param $p i32) (param $n i32) (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $put (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  ;; As $emit, inside a JSON string: " and \\ get a backslash (JSON text has no raw control bytes).
  (func $emitEscaped (param $p i32) (param $n i32) (local $i i32) (local $b i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $b (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (if (i32.or (i32.eq (local.get $b) (i32.const 34)) (i32.eq (local.get $b) (i32.const 92)))
        (then (call $put (i32.const 92))))
      (call $put (local.get $b))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func $contains (param $h i32) (param $hl i32) (param $n i32) (param $nl i32) (result i32)
    (local $i i32) (local $j i32)
    (if (i32.gt_u (local.get $nl) (local.get $hl)) (then (return (i32.const 0))))
    (block $done (loop $outer
      (br_if $done (i32.gt_u (local.get $i) (i32.sub (local.get $hl) (local.get $nl))))
      (local.set $j (i32.const 0))
      (block $mismatch (loop $inner
        (if (i32.eq (local.get $j) (local.get $nl)) (then (return (i32.const 1))))
        (br_if $mismatch (i32.ne
          (i32.load8_u (i32.add (local.get $h) (i32.add (local.get $i) (local.get $j))))
          (i32.load8_u (i32.add (local.get $n) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $inner)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $outer)))
    (i32.const 0))

  (func $value (param $p i32) (param $n i32) (result i32) (local $v i32)
    (local.set $v (call $alloc (i32.const 8)))
    (i32.store (local.get $v) (local.get $p))
    (i32.store offset=4 (local.get $v) (local.get $n))
    (local.get $v))
  (func $textPtr (param $v i32) (result i32) (if (result i32) (local.get $v) (then (i32.load (local.get $v))) (else (i32.const 0))))
  (func $textLen (param $v i32) (result i32) (if (result i32) (local.get $v) (then (i32.load offset=4 (local.get $v))) (else (i32.const 0))))

  (func (export "opa_malloc") (param i32) (result i32) (call $alloc (local.get 0)))
  (func (export "opa_heap_ptr_get") (result i32) (global.get $heap))
  (func (export "opa_heap_ptr_set") (param i32) (global.set $heap (local.get 0)))
  ;; The text stays where the SDK wrote it; the value points at it.
  (func (export "opa_json_parse") (param i32 i32) (result i32) (call $value (local.get 0) (local.get 1)))
  (func (export "opa_json_dump") (param $v i32) (result i32) (local $start i32)
    (local.set $start (global.get $heap))
    (call $emit (call $textPtr (local.get $v)) (call $textLen (local.get $v)))
    (call $put (i32.const 0))
    (local.get $start))
  (func (export "builtins") (result i32) (call $value ${s('empty')}))
  (func (export "entrypoints") (result i32) (call $value ${s('entrypoints')}))

  ;; The result set text of entrypoint $ep at the heap pointer; returns where it starts.
  (func $run (param $ep i32) (param $in i32) (param $inLen i32) (param $data i32) (param $dataLen i32) (result i32)
    (local $start i32)
    (local.set $start (global.get $heap))
    (if (i32.eq (local.get $ep) (i32.const 0)) (then
      ${emit('open')}
      (if ${has('privileged')} (then ${emit('false')}) (else ${emit('true')}))
      ${emit('close')}
      (return (local.get $start))))
    (if (i32.eq (local.get $ep) (i32.const 2)) (then
      ${emit('open')} ${emit('dataHead')}
      (call $emitEscaped (local.get $data) (local.get $dataLen))
      ${emit('quoteBrace')} ${emit('close')}
      (return (local.get $start))))
    (if (i32.ne (local.get $ep) (i32.const 1)) (then unreachable))
    (if ${has('trap')} (then unreachable))
    (if ${has('abort')} (then (call $abort (i32.const ${at.get('abortMessage')!.off})) (return (local.get $start))))
    (if ${has('garbage')} (then ${emit('open')} ${emit('yes')} ${emit('close')} (return (local.get $start))))
    (if ${has('notjson')} (then ${emit('open')} (return (local.get $start))))
    (if ${has('undefined')} (then ${emit('none')} (return (local.get $start))))
    (if ${has('two')} (then ${emit('twoResults')} (return (local.get $start))))
    (if ${has('badallow')} (then ${emit('open')} ${emit('badAllowResult')} ${emit('close')} (return (local.get $start))))
    (if ${has('echo')} (then
      ${emit('open')} ${emit('echoHead')}
      (call $emitEscaped (local.get $in) (local.get $inLen))
      ${emit('quoteBrace')} ${emit('close')}
      (return (local.get $start))))
    (if ${has('privileged')} (then
      ${emit('open')} ${emit('privilegedHead')}
      (call $emitEscaped (local.get $data) (local.get $dataLen))
      ${emit('privilegedTail')} ${emit('quoteBrace')} ${emit('close')}
      (return (local.get $start))))
    ${emit('open')} ${emit(locked ? 'locked' : 'allow')} ${emit('close')}
    (local.get $start))
  ${minor === 1 ? v11 : v12}
)`
}

/**
 * The test module in a bundle laid out as `opa build -t wasm` writes one: `/policy.wasm`,
 * `/data.json`, `/.manifest`.
 *
 * @example writeFileSync(file, await opaTestBundle({ minor: 2 }, { team: 'blue' }))
 */
export async function opaTestBundle (options: OpaTestModuleOptions, data: unknown = {}, revision = 'test-1'): Promise<Buffer> {
  return tarGz([
    { name: '/policy.wasm', data: Buffer.from(await opaTestModule(options)) },
    { name: '/data.json', data: JSON.stringify(data) },
    { name: '/.manifest', data: JSON.stringify({ revision, roots: [''], wasm: TEST_ENTRYPOINTS.map((entrypoint) => ({ entrypoint, module: '/policy.wasm' })) }) }
  ])
}
