/**
 * Exclusive holds on names, granted in arrival order. Several names are taken in sorted order, so
 * two holders that want the same names cannot each wait for the other.
 *
 * @example
 * const locks = new NameLocks()
 * const release = await locks.acquire(['data', 'cache'])
 * try { … } finally { release() }
 */
export class NameLocks {
  // Per name, the promise the next holder waits for: the last holder's release.
  readonly #tails = new Map<string, Promise<void>>()

  /** Resolves once every name is held; the function releases them all (more calls do nothing). */
  async acquire (names: Iterable<string>): Promise<() => void> {
    const releases: Array<() => void> = []
    for (const name of [...new Set(names)].sort()) releases.push(await this.#one(name))
    let released = false
    return () => {
      if (released) return
      released = true
      for (const release of releases) release()
    }
  }

  /** Names held or waited for now. */
  get size (): number { return this.#tails.size }

  async #one (name: string): Promise<() => void> {
    const previous = this.#tails.get(name) ?? Promise.resolve()
    let release!: () => void
    const held = new Promise<void>((resolve) => { release = resolve })
    const tail = previous.then(() => held)
    this.#tails.set(name, tail)
    await previous
    return () => {
      release()
      if (this.#tails.get(name) === tail) this.#tails.delete(name)
    }
  }
}
