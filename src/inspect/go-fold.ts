/**
 * How Go's encoding/json matches a JSON object key to a struct field when the key is not exactly a
 * field name: both are folded and compared. Go (1.21+, fold.go) folds ASCII letters to upper case
 * and every other rune to the smallest rune of its Unicode simple-fold orbit; older Go compared
 * with bytes.EqualFold, with the same outcome. The only non-ASCII runes whose orbit holds an ASCII
 * letter are U+017F 'ſ' (orbit S, s, ſ) and U+212A KELVIN SIGN (orbit K, k, K), so against the
 * engine's field names, which are all ASCII, those two are the only surprises. Any other non-ASCII
 * rune is kept as it is and can never equal an ASCII name: U+0131 'ı' has an orbit of its own, so
 * `privıleged` is not `Privileged`.
 */

const LONG_S = 0x17f
const KELVIN = 0x212a

/**
 * The form under which Go's encoding/json matches `key` against the engine's (ASCII) field names:
 * two keys reach the same field exactly when their folded forms are equal.
 *
 * @example
 * goFoldKey('ſecurityOpt') === goFoldKey('SecurityOpt') // both 'SECURITYOPT'
 */
export function goFoldKey (key: string): string {
  // Fast path: all ASCII, where Go's fold is plain upper case.
  if (/^[\x00-\x7f]*$/.test(key)) return key.toUpperCase()
  let out = ''
  for (const ch of key) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp < 0x80) out += ch.toUpperCase()
    else if (cp === LONG_S) out += 'S'
    else if (cp === KELVIN) out += 'K'
    else out += ch
  }
  return out
}
