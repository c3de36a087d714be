/**
 * Splits a stream of bytes into lines of bytes (on `\n`), keeping a line cut across chunks, so
 * that each line can be decoded on its own: a line that is not valid UTF-8 is then reported as
 * such instead of being turned into U+FFFD by a decoder running over the whole file.
 */
const NEWLINE = 10

export class LineSplitter {
  private partial: Array<Uint8Array> = []
  private partialBytes = 0

  /** Bytes held of a line not yet ended by a newline. */
  get pendingBytes(): number {
    return this.partialBytes
  }

  /** The complete lines of a chunk (each without its newline), in order. */
  push(chunk: Uint8Array): Array<Uint8Array> {
    const lines: Array<Uint8Array> = []
    let start = 0
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl)
      if (this.partial.length === 0) lines.push(piece)
      else {
        this.partial.push(piece)
        lines.push(join(this.partial, this.partialBytes + piece.length))
        this.partial = []
        this.partialBytes = 0
      }
      start = nl + 1
    }
    if (start < chunk.length) {
      // copied: the chunk's buffer may be reused by the reader
      const rest = chunk.slice(start)
      this.partial.push(rest)
      this.partialBytes += rest.length
    }
    return lines
  }

  /** The last line, when the input did not end with a newline. */
  end(): Uint8Array | undefined {
    if (this.partial.length === 0) return undefined
    const last = join(this.partial, this.partialBytes)
    this.partial = []
    this.partialBytes = 0
    return last
  }
}

const join = (pieces: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  if (pieces.length === 1) return pieces[0]!
  const out = new Uint8Array(size)
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const lenient = new TextDecoder("utf-8", { ignoreBOM: true })

/** A line's text, or `undefined` text when its bytes are not valid UTF-8 (`shown` has U+FFFD for them). */
export const decodeLine = (bytes: Uint8Array): { readonly text: string | undefined; readonly shown: string } => {
  try {
    const text = strict.decode(bytes)
    return { text, shown: text }
  } catch {
    return { text: undefined, shown: lenient.decode(bytes) }
  }
}
