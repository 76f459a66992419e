import type { RequestFacts } from '../request-facts.ts'

/** Names of the facts that are lists of strings. */
export type ListFact = { [K in keyof RequestFacts]-?: NonNullable<RequestFacts[K]> extends string[] ? K : never }[keyof RequestFacts]

/**
 * The facts of one request while they are being collected. List facts keep the order values were
 * found in, without repeats. An operation declares the list facts it has up front (`lists`), so
 * that they are present, empty, when the request sets nothing: absent means "not this
 * operation's fact", never "none".
 */
export class FactSheet {
  readonly facts: RequestFacts = {}

  /**
   * Declares list facts (present and empty until something is added).
   *
   * @example sheet.lists('capAdd', 'capDrop')
   */
  lists (...names: ListFact[]): this {
    for (const name of names) this.facts[name] ??= []
    return this
  }

  /**
   * Appends values to a list fact, skipping ones it already holds.
   *
   * @example sheet.add('hostPaths', '/srv')
   */
  add (name: ListFact, ...values: string[]): this {
    const list = (this.facts[name] ??= [])
    for (const v of values) if (!list.includes(v)) list.push(v)
    return this
  }

  /**
   * Adds what another sheet found: list facts are joined (in their order, after this sheet's own
   * values) and boolean facts ORed, so a fact only ever widens. Other facts are not merged.
   *
   * @example sheet.merge({ privileged: true, hostPaths: ['/srv'] })
   */
  merge (from: RequestFacts): this {
    for (const [name, value] of Object.entries(from) as Array<[keyof RequestFacts, unknown]>) {
      if (Array.isArray(value)) this.add(name as ListFact, ...(value as string[]))
      else if (value === true) (this.facts as Record<string, unknown>)[name] = true
      else if (value === false) (this.facts as Record<string, unknown>)[name] ??= false
    }
    return this
  }

  /**
   * Records every item at once, each into a sheet of its own, then merges what they found in item
   * order: their engine lookups overlap, and list facts keep the order the items were written in.
   *
   * @example await sheet.recordAll(binds, (s, bind) => recordBind(s, bind, lookup))
   */
  async recordAll<T> (items: readonly T[], record: (sheet: FactSheet, item: T, index: number) => Promise<void>): Promise<this> {
    const found = await Promise.all(items.map(async (item, i) => {
      const sheet = new FactSheet()
      await record(sheet, item, i)
      return sheet.facts
    }))
    for (const facts of found) this.merge(facts)
    return this
  }
}
