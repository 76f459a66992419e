/**
 * Why a name, tenant or group cannot be used, or null when it can. Policies match on these and
 * logs print them, so nothing invisible or line-breaking is allowed: no C0/C1 controls, no line or
 * paragraph separators, no format characters (bidi overrides, zero-width joiners), no lone
 * surrogates, no surrounding spaces, not empty.
 *
 * @example labelProblem('team-a') // null
 * @example labelProblem('admin\u202e') // 'has control, format or invisible characters'
 */
export function labelProblem (value: string): string | null {
  if (value === '') return 'is empty'
  if (value.trim() !== value) return 'has surrounding spaces'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\p{Cf}]/u.test(value) || !isWellFormed(value)) return 'has control characters or format or invisible characters'
  return null
}

// String.prototype.isWellFormed is in Node 20; typed by hand for the ES2023 lib.
function isWellFormed (value: string): boolean {
  return (value as unknown as { isWellFormed: () => boolean }).isWellFormed()
}
