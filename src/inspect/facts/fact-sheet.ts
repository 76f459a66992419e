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
}
