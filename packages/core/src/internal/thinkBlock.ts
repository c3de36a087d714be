// Reasoning models often start a reply with their thinking: `<think>…</think>`, or (when the
// provider strips the opening tag) the thinking then a lone `</think>`. That text is not the
// answer, and it is where a model rehearses the format, markers included, so it is dropped
// before a reply is read. The stream parsers apply the same rules incrementally.

/** The opening tag, when it is the first non-blank text of a reply. */
export const open = "<think>"
/** The closing tag. */
export const close = "</think>"

/** A reply with its think block dropped, or the sign that the block never closes. */
export type Stripped =
  | { readonly _tag: "Answer"; readonly text: string }
  | { readonly _tag: "Unclosed" }

/**
 * Drops a leading think block: from an opening `<think>` (the first non-blank text) to the
 * first `</think>`; or, with no opening tag, everything up to a `</think>` that comes before the
 * answer starts (`answerStart`: the first field marker, the first `{`). A `</think>` inside the
 * answer is text.
 */
export const strip = (text: string, answerStart: (text: string) => number): Stripped => {
  const first = text.search(/\S/)
  if (first !== -1 && text.startsWith(open, first)) {
    const end = text.indexOf(close, first + open.length)
    return end === -1 ? { _tag: "Unclosed" } : { _tag: "Answer", text: text.slice(end + close.length) }
  }
  const end = text.indexOf(close)
  if (end === -1) return { _tag: "Answer", text }
  const start = answerStart(text)
  return start !== -1 && start < end ? { _tag: "Answer", text } : { _tag: "Answer", text: text.slice(end + close.length) }
}

/** The issue reported for a reply whose think block never closes. */
export const unclosedIssue = "the reply opens a `<think>` block that never closes, so it holds no answer"
