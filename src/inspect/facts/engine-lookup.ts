/**
 * What fact extraction may ask the engine. A request can name an object that already exists (a
 * named volume), and what it does then depends on how that object was made.
 */
export interface EngineLookup {
  /** An existing named volume as the engine reports it; null when it does not exist or is unknown. */
  volume: (name: string) => Promise<{ driver: string, options: Record<string, string> } | null>
}

/**
 * A lookup that knows nothing: every volume is unknown. For tests and for inspecting a request
 * without an engine (`policy explain`).
 *
 * @example await offlineLookup.volume('data') // null
 */
export const offlineLookup: EngineLookup = {
  volume: async () => null
}
