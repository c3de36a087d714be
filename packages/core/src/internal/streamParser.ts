/**
 * Incremental readers of a reply while it streams: fed text deltas, they give the deltas of each
 * output field as soon as its marker (chat adapter) or its JSON key (JSON adapter) has been read.
 * They are live views only: the final prediction is still read by the adapter from the whole text.
 */

/** Part of one output field's value. */
export interface FieldChunk {
  readonly field: string
  readonly delta: string
}

/** A reader of one reply. Each call of a streamed LM gets its own (no shared state). */
export interface FieldStreamParser {
  /** Consumes a text delta; returns the field deltas it made certain, in order. */
  readonly push: (text: string) => ReadonlyArray<FieldChunk>
  /** The reply ended: returns what was held back. */
  readonly end: () => ReadonlyArray<FieldChunk>
}

/** A reader that finds no field (adapters without an incremental reader). */
export const none: FieldStreamParser = { push: () => [], end: () => [] }

const markerPattern = /\[\[ ## ([A-Za-z_][A-Za-z0-9_]*) ## \]\]/
const markerHead = "[[ ## "
const markerTail = /^[A-Za-z_][A-Za-z0-9_]*(?: (?:#(?:#(?: (?:\])?)?)?)?)?$/
const leadingSpace = /^\s+/
const trailingSpace = /\s+$/

/** Whether `s` may grow into a `[[ ## name ## ]]` marker (it is a proper prefix of one). */
export const isMarkerPrefix = (s: string): boolean => {
  if (s.length <= markerHead.length) return markerHead.startsWith(s)
  return s.startsWith(markerHead) && markerTail.test(s.slice(markerHead.length))
}

// Where the text that might still become a marker starts. A marker prefix holds `[[` only at its
// start, so the only candidates are the last `[[` and a lone trailing `[`.
const holdFrom = (text: string): number => {
  const k = text.lastIndexOf("[[")
  if (k >= 0 && isMarkerPrefix(text.slice(k))) return k
  return text.endsWith("[") ? text.length - 1 : text.length
}

/**
 * The chat adapter's reader. For each output field, the concatenated deltas equal the field's
 * section with surrounding whitespace trimmed, exactly what `ChatAdapter.sections` gives
 * (first occurrence of a name wins), however the text is split into deltas.
 */
export const markers = (outputFields: ReadonlyArray<string>): FieldStreamParser => {
  const wanted = new Set(outputFields)
  const seen = new Set<string>()
  let current: string | undefined = undefined
  let started = false
  let heldSpace = ""
  let pending = ""

  const emit = (content: string, sectionEnds: boolean, out: Array<FieldChunk>): void => {
    if (current !== undefined && content.length > 0) {
      let text = content
      if (!started) {
        text = text.replace(leadingSpace, "")
        if (text.length > 0) started = true
      }
      if (started && text.length > 0) {
        // trailing whitespace is held back: it belongs to the value only if more text follows
        const combined = heldSpace + text
        const trailing = trailingSpace.exec(combined)
        const body = trailing === null ? combined : combined.slice(0, trailing.index)
        heldSpace = trailing === null ? "" : trailing[0]
        if (body.length > 0) out.push({ field: current, delta: body })
      }
    }
    if (sectionEnds) heldSpace = ""
  }

  const enter = (name: string): void => {
    current = wanted.has(name) && !seen.has(name) ? name : undefined
    seen.add(name)
    started = false
    heldSpace = ""
  }

  return {
    push: (text) => {
      const out: Array<FieldChunk> = []
      pending += text
      for (;;) {
        const match = markerPattern.exec(pending)
        if (match !== null) {
          emit(pending.slice(0, match.index), true, out)
          enter(match[1]!)
          pending = pending.slice(match.index + match[0].length)
          continue
        }
        const hold = holdFrom(pending)
        emit(pending.slice(0, hold), false, out)
        pending = pending.slice(hold)
        return out
      }
    },
    end: () => {
      const out: Array<FieldChunk> = []
      emit(pending, true, out)
      pending = ""
      current = undefined
      return out
    }
  }
}

type JsonState =
  | "before"
  | "key-or-end"
  | "key"
  | "colon"
  | "value"
  | "string"
  | "nested"
  | "primitive"
  | "after-value"
  | "done"

const simpleEscapes: Readonly<Record<string, string>> = {
  "\"": "\"",
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t"
}

const isSpace = (c: string): boolean => c === " " || c === "\n" || c === "\r" || c === "\t"

/**
 * The JSON adapter's reader: an incremental scanner of the first top-level object of the reply
 * (text or a fence before it is skipped). For a string value the deltas are its decoded
 * characters; for any other value, its JSON text as written. Keys that are not output fields,
 * and repeated keys, give no deltas.
 */
export const json = (outputFields: ReadonlyArray<string>): FieldStreamParser => {
  const wanted = new Set(outputFields)
  const seen = new Set<string>()
  let state: JsonState = "before"
  let key = ""
  let field: string | undefined = undefined
  // escape in progress inside a key or a string value: "" (none), "\\", or "\\u" + hex digits
  let escape = ""
  // nested objects/arrays: depth and whether we are inside one of their strings
  let depth = 0
  let nestedString = false
  let nestedEscape = false

  const decodeEscape = (c: string): { readonly done: boolean; readonly text: string } => {
    if (escape === "\\") {
      if (c === "u") {
        escape = "\\u"
        return { done: false, text: "" }
      }
      escape = ""
      return { done: true, text: simpleEscapes[c] ?? c }
    }
    escape += c
    if (escape.length < 6) return { done: false, text: "" }
    const code = Number.parseInt(escape.slice(2), 16)
    escape = ""
    return { done: true, text: Number.isNaN(code) ? "" : String.fromCharCode(code) }
  }

  const push = (text: string): ReadonlyArray<FieldChunk> => {
    const out: Array<FieldChunk> = []
    let delta = ""
    const flush = () => {
      if (field !== undefined && delta.length > 0) out.push({ field, delta })
      delta = ""
    }
    const endValue = () => {
      flush()
      field = undefined
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!
      switch (state) {
        case "before":
          if (c === "{") state = "key-or-end"
          break
        case "key-or-end":
          if (c === "\"") {
            state = "key"
            key = ""
          } else if (c === "}") state = "done"
          break
        case "key":
          if (escape !== "") key += decodeEscape(c).text
          else if (c === "\\") escape = "\\"
          else if (c === "\"") state = "colon"
          else key += c
          break
        case "colon":
          if (c === ":") {
            state = "value"
            field = wanted.has(key) && !seen.has(key) ? key : undefined
            seen.add(key)
          }
          break
        case "value":
          if (isSpace(c)) break
          if (c === "\"") state = "string"
          else if (c === "{" || c === "[") {
            state = "nested"
            depth = 1
            nestedString = false
            nestedEscape = false
            delta += c
          } else {
            state = "primitive"
            delta += c
          }
          break
        case "string":
          if (escape !== "") delta += decodeEscape(c).text
          else if (c === "\\") escape = "\\"
          else if (c === "\"") {
            endValue()
            state = "after-value"
          } else delta += c
          break
        case "nested":
          delta += c
          if (nestedString) {
            if (nestedEscape) nestedEscape = false
            else if (c === "\\") nestedEscape = true
            else if (c === "\"") nestedString = false
          } else if (c === "\"") nestedString = true
          else if (c === "{" || c === "[") depth++
          else if (c === "}" || c === "]") {
            depth--
            if (depth === 0) {
              endValue()
              state = "after-value"
            }
          }
          break
        case "primitive":
          if (c === ",") {
            endValue()
            state = "key-or-end"
          } else if (c === "}") {
            endValue()
            state = "done"
          } else if (isSpace(c)) {
            endValue()
            state = "after-value"
          } else delta += c
          break
        case "after-value":
          if (c === ",") state = "key-or-end"
          else if (c === "}") state = "done"
          break
        case "done":
          i = text.length
          break
      }
    }
    flush()
    return out
  }

  return { push, end: () => [] }
}
