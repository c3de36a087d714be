// The `[[ ## name ## ]]` field markers of the chat format. As in DSPy, a marker counts only at
// the start of a line (after optional spaces or tabs): one quoted in the middle of a line
// (`I will write [[ ## answer ## ]] next`) is text. The whole reply and the stream parser read
// markers with the same pattern, so that they split a reply the same way.

/** `[[ ## name ## ]]` */
export const marker = (name: string): string => `[[ ## ${name} ## ]]`

// `^` with the `m` flag: the start of the text or of any line.
const lineStartMarker = /^[ \t]*\[\[ ## ([A-Za-z_][A-Za-z0-9_]*) ## \]\]/gm

const findPattern = new RegExp(lineStartMarker.source, "gm")

/** Characters after which `^` (multiline) matches: a line starts after each. */
export const isLineBreak = (c: string | undefined): boolean =>
  c === "\n" || c === "\r" || c === "\u2028" || c === "\u2029"

/** A marker found in text: where its line starts, where it ends, and its name. */
export interface Found {
  readonly index: number
  readonly end: number
  readonly name: string
}

/**
 * The first marker at a line start in `text`; `atLineStart` says whether `text` itself begins a
 * line (a stream parser's buffer may begin mid-line).
 */
export const findMarker = (text: string, atLineStart: boolean): Found | undefined => {
  // one pattern object, reset here: a call runs to its end before any other can start
  const pattern = findPattern
  pattern.lastIndex = 0
  for (;;) {
    const match = pattern.exec(text)
    if (match === null) return undefined
    if (match.index === 0 && !atLineStart) {
      pattern.lastIndex = 1
      continue
    }
    return { index: match.index, end: match.index + match[0].length, name: match[1]! }
  }
}

/** Index of the first marker at a line start, or -1. */
export const firstMarkerIndex = (text: string): number => findMarker(text, true)?.index ?? -1

/** Splits text into its marked sections (raw, untrimmed); the first occurrence of a name wins. */
export const splitSections = (text: string): Map<string, string> => {
  const found = new Map<string, string>()
  const matches = [...text.matchAll(new RegExp(lineStartMarker.source, "gm"))]
  for (let i = 0; i < matches.length; i++) {
    const match = matches[i]!
    const name = match[1]!
    const end = i + 1 < matches.length ? matches[i + 1]!.index : text.length
    if (!found.has(name)) found.set(name, text.slice(match.index + match[0].length, end))
  }
  return found
}

const markerHead = "[[ ## "
const markerTail = /^[A-Za-z_][A-Za-z0-9_]*(?: (?:#(?:#(?: (?:\])?)?)?)?)?$/

/** Whether `s` may grow into a `[[ ## name ## ]]` marker (it is a proper prefix of one). */
export const isMarkerPrefix = (s: string): boolean => {
  if (s.length <= markerHead.length) return markerHead.startsWith(s)
  return s.startsWith(markerHead) && markerTail.test(s.slice(markerHead.length))
}
