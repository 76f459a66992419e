import { LineCounter, parseDocument, type Document } from 'yaml'
import { ConfigError } from '../core/errors.ts'

/** A parsed YAML file and the line index that turns node offsets into `line:col`. */
export interface YamlText {
  readonly doc: Document
  readonly lines: LineCounter
}

/**
 * Parses the text of a config or policy file: syntax errors, duplicate keys and several
 * documents are a ConfigError at `file:line:col`. The yaml package parses nesting by recursion,
 * so a document nested some thousands deep exhausts the stack: that too is a ConfigError (found
 * by the policy fuzz test), not a crash at start-up or a failed reload with a RangeError.
 *
 * @example parseYamlText('a: 1\n', 'dockward.yaml').doc.contents // a YAMLMap
 */
export function parseYamlText (text: string, file: string): YamlText {
  const lines = new LineCounter()
  let doc: Document
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  } catch (err) {
    if (err instanceof RangeError) throw new ConfigError(`${file}:1:1: invalid YAML: nested too deeply to read`)
    throw err
  }
  const firstError = doc.errors[0]
  if (firstError !== undefined) {
    const p = lines.linePos(firstError.pos[0])
    throw new ConfigError(`${file}:${p.line}:${p.col}: invalid YAML: ${firstError.message.split('\n')[0]}`)
  }
  return { doc, lines }
}
