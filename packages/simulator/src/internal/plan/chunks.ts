/**
 * How a reply is cut into stream deltas: text in pieces of about one word (long "words", such
 * as JSON, in token-sized pieces), tool-call arguments in pieces of 12 characters.
 */

/** Splits text into stream deltas of about one word each. */
export const chunkText = (text: string): Array<string> => {
  const out: Array<string> = []
  const re = /\s*\S+/g
  let m: RegExpExecArray | null
  let end = 0
  while ((m = re.exec(text)) !== null) {
    let piece = m[0]
    // keep very long "words" (JSON) to token-sized pieces
    while (piece.length > 16) {
      out.push(piece.slice(0, 12))
      piece = piece.slice(12)
    }
    out.push(piece)
    end = re.lastIndex
  }
  if (end < text.length) {
    if (out.length === 0) out.push(text.slice(end))
    else out[out.length - 1] += text.slice(end)
  }
  return out
}

/** Splits tool-call arguments into stream deltas. */
export const chunkArguments = (args: string): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < args.length; i += 12) out.push(args.slice(i, i + 12))
  if (out.length === 0) out.push("")
  return out
}
