import { formValue } from '../inspect/go-query.ts'

/** Operations whose answer waits for the container to stop, up to their `t` (seconds). */
const WAITS_FOR_STOP = new Set(['ContainerStop', 'ContainerRestart'])

/**
 * How long the engine may take to start answering an operation: `base`, plus the stop timeout a
 * stop or restart asks for (`t`; the engine waits that long before it kills, then answers). A
 * negative `t` waits for the container forever, and so does dockward.
 *
 * @example answerTimeout('ContainerStop', { t: ['30'] }, 600_000) // 630_000
 */
export function answerTimeout (operation: string, query: Readonly<Record<string, readonly string[]>>, base: number): number | null {
  if (!WAITS_FOR_STOP.has(operation)) return base
  const t = Number.parseInt(formValue(query, 't'), 10)
  if (Number.isNaN(t)) return base
  if (t < 0) return null
  return base + t * 1000
}
