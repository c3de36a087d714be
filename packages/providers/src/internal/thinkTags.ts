/**
 * Reasoning that models write into `content` between `<think>` and `</think>` (DeepSeek-R1 and
 * Qwen3 served without a reasoning parser by vLLM, Ollama or llama.cpp). Their chat templates
 * often open the block in the prompt, so the reply holds only the closing `</think>`: then
 * everything before it was reasoning. The text of a reply never includes either.
 *
 * @internal
 */

const OPEN = "<think>"
const CLOSE = "</think>"

/** A piece of content: reasoning or answer text. @internal */
export interface Segment {
  readonly reasoning: boolean
  readonly text: string
}

/**
 * Splits content as it streams in. A tag cut across two deltas is held back until it is whole.
 * `startsInReasoning`: the model is known to open its block in the prompt (it was seen closing
 * one it never opened), so its first words are reasoning.
 *
 * @internal
 */
export class ThinkSplitter {
  private inReasoning: boolean
  private pending = ""
  private sawTag = false
  // The answer after a `</think>` starts at its first visible character.
  private trimNext = false
  /** A `</think>` arrived that no `<think>` opened: the model opens its block in the prompt. */
  implicitOpen = false

  constructor(startsInReasoning: boolean) {
    this.inReasoning = startsInReasoning
  }

  push(delta: string): Array<Segment> {
    const out: Array<Segment> = []
    let text = this.pending + delta
    this.pending = ""
    while (text !== "") {
      const tag = this.inReasoning ? CLOSE : OPEN
      const at = text.indexOf(tag)
      const close = this.inReasoning ? -1 : text.indexOf(CLOSE)
      if (close !== -1 && !this.sawTag && (at === -1 || close < at)) {
        // A close without an open: what came before it was reasoning.
        this.implicitOpen = true
        this.emit(out, true, text.slice(0, close))
        this.sawTag = true
        this.trimNext = true
        text = text.slice(close + CLOSE.length)
        continue
      }
      if (at === -1) {
        // Hold back a possible start of a tag at the end.
        const keep = partialTagLength(text)
        this.emit(out, this.inReasoning, text.slice(0, text.length - keep))
        this.pending = text.slice(text.length - keep)
        break
      }
      this.emit(out, this.inReasoning, text.slice(0, at))
      this.sawTag = true
      this.trimNext = this.inReasoning
      this.inReasoning = !this.inReasoning
      text = text.slice(at + tag.length)
    }
    return out
  }

  /** The end of the content: whatever was held back. */
  end(): Array<Segment> {
    const out: Array<Segment> = []
    this.emit(out, this.inReasoning, this.pending)
    this.pending = ""
    return out
  }

  private emit(out: Array<Segment>, reasoning: boolean, text: string): void {
    const trimmed = !reasoning && this.trimNext ? text.trimStart() : text
    if (trimmed === "") return
    if (!reasoning) this.trimNext = false
    const last = out[out.length - 1]
    if (last !== undefined && last.reasoning === reasoning) out[out.length - 1] = { reasoning, text: last.text + trimmed }
    else out.push({ reasoning, text: trimmed })
  }
}

// How many characters at the end of `text` could begin `<think>` or `</think>`.
const partialTagLength = (text: string): number => {
  for (let n = Math.min(CLOSE.length - 1, text.length); n > 0; n--) {
    const tail = text.slice(text.length - n)
    if (OPEN.startsWith(tail) || CLOSE.startsWith(tail)) return n
  }
  return 0
}
