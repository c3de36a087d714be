/**
 * Generates strings matching simple regular expressions (the kind JSON
 * schemas carry: character classes, groups, alternation, quantifiers).
 * Unsupported constructs (lookarounds, backreferences) are skipped; callers
 * check the result against the real RegExp.
 */
import type { Rng } from "../rng.js"

type Node =
  | { readonly _tag: "Chars"; readonly ranges: ReadonlyArray<readonly [number, number]>; readonly negate: boolean }
  | { readonly _tag: "Group"; readonly alternatives: ReadonlyArray<Sequence> }
  | { readonly _tag: "Empty" }

interface Item {
  readonly node: Node
  readonly min: number
  readonly max: number
}

type Sequence = ReadonlyArray<Item>

const DIGIT: ReadonlyArray<readonly [number, number]> = [[48, 57]]
const WORD: ReadonlyArray<readonly [number, number]> = [[48, 57], [65, 90], [95, 95], [97, 122]]
const SPACE: ReadonlyArray<readonly [number, number]> = [[32, 32]]
const LETTERS: ReadonlyArray<readonly [number, number]> = [[97, 122]]

const classEscape = (c: string): { ranges: ReadonlyArray<readonly [number, number]>; negate: boolean } | undefined => {
  switch (c) {
    case "d":
      return { ranges: DIGIT, negate: false }
    case "D":
      return { ranges: LETTERS, negate: false }
    case "w":
      return { ranges: WORD, negate: false }
    case "W":
      return { ranges: [[45, 45]], negate: false }
    case "s":
      return { ranges: SPACE, negate: false }
    case "S":
      return { ranges: LETTERS, negate: false }
    default:
      return undefined
  }
}

const literalEscape = (c: string): number => {
  switch (c) {
    case "n":
      return 10
    case "t":
      return 9
    case "r":
      return 13
    default:
      return c.charCodeAt(0)
  }
}

class Parser {
  i = 0
  constructor(readonly src: string) {}

  parseAlternatives(): ReadonlyArray<Sequence> {
    const alts: Array<Sequence> = [this.parseSequence()]
    while (this.src[this.i] === "|") {
      this.i++
      alts.push(this.parseSequence())
    }
    return alts
  }

  parseSequence(): Sequence {
    const items: Array<Item> = []
    while (this.i < this.src.length && this.src[this.i] !== "|" && this.src[this.i] !== ")") {
      const node = this.parseAtom()
      const [min, max] = this.parseQuantifier()
      items.push({ node, min, max })
    }
    return items
  }

  parseAtom(): Node {
    const c = this.src[this.i++] as string
    switch (c) {
      case "^":
      case "$":
        return { _tag: "Empty" }
      case ".":
        return { _tag: "Chars", ranges: LETTERS, negate: false }
      case "(": {
        if (this.src[this.i] === "?") {
          // (?:...) is a plain group; lookarounds generate nothing
          const kind = this.src[this.i + 1]
          this.i += 2
          if (kind === "<" && this.src[this.i] !== "=" && this.src[this.i] !== "!") {
            while (this.i < this.src.length && this.src[this.i] !== ">") this.i++
            this.i++
          } else if (kind !== ":") {
            if (kind === "<") this.i++
            this.parseAlternatives()
            this.i++
            return { _tag: "Empty" }
          }
        }
        const alternatives = this.parseAlternatives()
        this.i++ // ")"
        return { _tag: "Group", alternatives }
      }
      case "[":
        return this.parseClass()
      case "\\": {
        const e = this.src[this.i++] as string
        const cls = classEscape(e)
        if (cls !== undefined) return { _tag: "Chars", ...cls }
        if (e === "b" || e === "B") return { _tag: "Empty" }
        if (e === "u" && /^[0-9a-fA-F]{4}$/.test(this.src.slice(this.i, this.i + 4))) {
          const code = parseInt(this.src.slice(this.i, this.i + 4), 16)
          this.i += 4
          return { _tag: "Chars", ranges: [[code, code]], negate: false }
        }
        const code = literalEscape(e)
        return { _tag: "Chars", ranges: [[code, code]], negate: false }
      }
      default: {
        const code = c.charCodeAt(0)
        return { _tag: "Chars", ranges: [[code, code]], negate: false }
      }
    }
  }

  parseClass(): Node {
    let negate = false
    if (this.src[this.i] === "^") {
      negate = true
      this.i++
    }
    const ranges: Array<readonly [number, number]> = []
    let first = true
    while (this.i < this.src.length && (this.src[this.i] !== "]" || first)) {
      first = false
      let c = this.src[this.i++] as string
      let lo: number
      if (c === "\\") {
        const e = this.src[this.i++] as string
        const cls = classEscape(e)
        if (cls !== undefined) {
          if (!cls.negate) ranges.push(...cls.ranges)
          continue
        }
        lo = literalEscape(e)
      } else {
        lo = c.charCodeAt(0)
      }
      if (this.src[this.i] === "-" && this.src[this.i + 1] !== "]" && this.i + 1 < this.src.length) {
        this.i++
        c = this.src[this.i++] as string
        const hi = c === "\\" ? literalEscape(this.src[this.i++] as string) : c.charCodeAt(0)
        ranges.push([lo, Math.max(lo, hi)])
      } else {
        ranges.push([lo, lo])
      }
    }
    this.i++ // "]"
    return { _tag: "Chars", ranges, negate }
  }

  parseQuantifier(): [number, number] {
    const c = this.src[this.i]
    let q: [number, number] = [1, 1]
    if (c === "?") q = [0, 1]
    else if (c === "*") q = [0, Infinity]
    else if (c === "+") q = [1, Infinity]
    else if (c === "{") {
      const m = /^\{(\d*)(,?)(\d*)\}/.exec(this.src.slice(this.i))
      if (m === null) return q
      const min = m[1] === "" ? 0 : Number(m[1])
      const max = m[2] === "" ? min : m[3] === "" ? Infinity : Number(m[3])
      this.i += m[0].length
      if (this.src[this.i] === "?") this.i++
      return [min, max]
    } else return q
    this.i++
    if (this.src[this.i] === "?" || this.src[this.i] === "+") this.i++
    return q
  }
}

const inRanges = (code: number, ranges: ReadonlyArray<readonly [number, number]>): boolean => {
  for (const [lo, hi] of ranges) if (code >= lo && code <= hi) return true
  return false
}

const genChar = (node: Extract<Node, { _tag: "Chars" }>, rng: Rng): string => {
  if (!node.negate) {
    let total = 0
    for (const [lo, hi] of node.ranges) total += hi - lo + 1
    if (total === 0) return ""
    let k = rng.int(total)
    for (const [lo, hi] of node.ranges) {
      const size = hi - lo + 1
      if (k < size) return String.fromCharCode(lo + k)
      k -= size
    }
    return ""
  }
  for (let tries = 0; tries < 40; tries++) {
    const code = 97 + rng.int(26) - (tries > 20 ? 64 : 0)
    if (code >= 32 && !inRanges(code, node.ranges)) return String.fromCharCode(code)
  }
  for (let code = 33; code < 127; code++) if (!inRanges(code, node.ranges)) return String.fromCharCode(code)
  return ""
}

const genSequence = (seq: Sequence, rng: Rng, out: Array<string>): void => {
  for (const item of seq) {
    const max = Math.min(item.max, item.min + 4)
    const n = item.min + rng.int(max - item.min + 1)
    for (let k = 0; k < n; k++) genNode(item.node, rng, out)
  }
}

const genNode = (node: Node, rng: Rng, out: Array<string>): void => {
  switch (node._tag) {
    case "Empty":
      return
    case "Chars":
      out.push(genChar(node, rng))
      return
    case "Group":
      genSequence(rng.pick(node.alternatives), rng, out)
      return
  }
}

/** A parsed pattern, ready to generate from. */
export interface Generator {
  readonly generate: (rng: Rng) => string
  readonly test: (s: string) => boolean
}

/** Compiles a pattern into a generator (undefined when the pattern is not a valid RegExp). */
export const compile = (pattern: string): Generator | undefined => {
  let re: RegExp
  try {
    re = new RegExp(pattern, "u")
  } catch {
    try {
      re = new RegExp(pattern)
    } catch {
      return undefined
    }
  }
  let alternatives: ReadonlyArray<Sequence>
  try {
    alternatives = new Parser(pattern).parseAlternatives()
  } catch {
    alternatives = [[]]
  }
  return {
    test: (s) => re.test(s),
    generate: (rng) => {
      let last = ""
      for (let tries = 0; tries < 8; tries++) {
        const out: Array<string> = []
        genSequence(rng.pick(alternatives), rng, out)
        last = out.join("")
        if (re.test(last)) return last
      }
      return last
    }
  }
}
