/** An HTTP token (RFC 9110 §5.6.2): a method or a field name. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** What a field value must not hold: control characters other than tab (obs-text is fine). */
// eslint-disable-next-line no-control-regex
export const BAD_FIELD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/
