/**
 * Incremental readers of a reply while it streams: fed text deltas, they give the deltas of each
 * output field as soon as its marker (chat adapter) or its JSON key (JSON adapter) has been read.
 * They follow the rules of the whole-reply readers: a leading think block is dropped, and a chat
 * marker counts only at the start of a line. They are live views only: the final prediction is
 * still read by the adapter from the whole text.
 */
import type { FieldChunk, FieldStreamParser } from "../Adapter.js"
import { findMarker, isLineBreak, isMarkerPrefix } from "./markers.js"
import * as ThinkBlock from "./thinkBlock.js"

export type { FieldChunk, FieldStreamParser } from "../Adapter.js"

const leadingSpace = /^\s+/
const trailingSpace = /\s+$/

/**
 * Drops a think block opened at the very start of a stream (`<think>` as the first non-blank
 * text) up to its `</think>`; passes everything else through. `closed` tells whether it dropped
 * one (after which a later `</think>` is text).
 */
const openedThinkFilter = () => {
  let phase: "start" | "think" | "body" = "start"
  let buffer = ""
  const self = {
    closed: false,
    push: (text: string): string => {
      if (phase === "body") return text
      buffer += text
      if (phase === "start") {
        const first = buffer.search(/\S/)
        if (first === -1) return ""
        const rest = buffer.slice(first)
        if (rest.length < ThinkBlock.open.length && ThinkBlock.open.startsWith(rest)) return ""
        if (!rest.startsWith(ThinkBlock.open)) {
          phase = "body"
          const out = buffer
          buffer = ""
          return out
        }
        phase = "think"
        buffer = rest.slice(ThinkBlock.open.length)
      }
      const end = buffer.indexOf(ThinkBlock.close)
      if (end === -1) {
        // keep what may be the start of a split `</think>`
        buffer = buffer.slice(Math.max(0, buffer.length - ThinkBlock.close.length + 1))
        return ""
      }
      phase = "body"
      self.closed = true
      const out = buffer.slice(end + ThinkBlock.close.length)
      buffer = ""
      return out
    },
    /** Text held at the end of the stream: blank text before anything else (an unclosed block holds no answer). */
    end: (): string => {
      const out = phase === "start" ? buffer : ""
      buffer = ""
      return out
    }
  }
  return self
}

/**
 * The chat adapter's reader. For each output field, the concatenated deltas equal the field's
 * section with surrounding whitespace trimmed, exactly what the adapter reads from the whole
 * reply (`ChatAdapter.sections`: think block dropped, line-start markers, first occurrence of a
 * name wins), however the text is split into deltas.
 */
export const markers = (outputFields: ReadonlyArray<string>): FieldStreamParser => {
  const wanted = new Set(outputFields)
  const seen = new Set<string>()
  const think = openedThinkFilter()
  let current: string | undefined = undefined
  let started = false
  let heldSpace = ""
  // text not yet read; `lineStart` says whether it begins a line
  let pending = ""
  let lineStart = true
  // before the first marker, a `</think>` with no opening tag ends a think block
  let preamble = true

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

  // Where the text that might still become a line-start marker (or, in the preamble, a split
  // `</think>`) starts: the last line, when it is blank or a marker prefix after its indent.
  const holdFrom = (): number => {
    let k = pending.length
    while (k > 0 && !isLineBreak(pending[k - 1])) k--
    let hold = pending.length
    if (k > 0 || lineStart) {
      let j = k
      while (j < pending.length && (pending[j] === " " || pending[j] === "\t")) j++
      if (j === pending.length || isMarkerPrefix(pending.slice(j))) hold = k
    }
    if (preamble && !think.closed) hold = Math.min(hold, Math.max(0, pending.length - ThinkBlock.close.length + 1))
    return hold
  }

  const read = (text: string, out: Array<FieldChunk>): void => {
    pending += text
    for (;;) {
      const found = pending.includes("[[ ## ") ? findMarker(pending, lineStart) : undefined
      if (preamble && !think.closed) {
        const close = pending.indexOf(ThinkBlock.close)
        if (close !== -1 && (found === undefined || close < found.index)) {
          // everything so far was thinking (no field had started, so nothing was emitted)
          pending = pending.slice(close + ThinkBlock.close.length)
          lineStart = true
          preamble = false
          continue
        }
      }
      if (found !== undefined) {
        emit(pending.slice(0, found.index), true, out)
        enter(found.name)
        preamble = false
        pending = pending.slice(found.end)
        lineStart = false
        continue
      }
      const hold = holdFrom()
      emit(pending.slice(0, hold), false, out)
      if (hold > 0) lineStart = isLineBreak(pending[hold - 1])
      pending = pending.slice(hold)
      return
    }
  }

  return {
    push: (text) => {
      const out: Array<FieldChunk> = []
      const body = think.push(text)
      if (body.length > 0) read(body, out)
      return out
    },
    end: () => {
      const out: Array<FieldChunk> = []
      const rest = think.end()
      if (rest.length > 0) read(rest, out)
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
 * (a leading think block, and text or a fence before the object, are skipped). For a string value the deltas are its decoded
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

  // A think block opened at the start is dropped; before the object, any other text (a
  // `</think>` with no opening tag included) is skipped anyway.
  const think = openedThinkFilter()
  return {
    push: (text) => {
      const body = think.push(text)
      return body.length === 0 ? [] : push(body)
    },
    end: () => {
      const rest = think.end()
      return rest.length === 0 ? [] : push(rest)
    }
  }
}
