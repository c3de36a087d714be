/**
 * Generates a plausible instance of a JSON schema (draft-07 as emitted by
 * `JSONSchema.make`, plus the common 2020-12 keywords): `$ref`/`$defs`,
 * `allOf`/`anyOf`/`oneOf`, `enum`/`const`, string formats and patterns,
 * numeric bounds, tuples, records. Property names shape the strings.
 */
import * as FastCheck from "effect/FastCheck"
import type { JsonSchema } from "../../Script.js"
import type { Rng } from "../rng.js"
import * as Text from "./text.js"
import { BoundedCache } from "./BoundedCache.js"
import { isRecord } from "../json.js"

type Node = JsonSchema | boolean

/** Resolves a JSON pointer (`#/$defs/Name`) against the root schema. */
const resolvePointer = (root: JsonSchema, ref: string): JsonSchema | undefined => {
  if (ref === "#") return root
  if (!ref.startsWith("#/")) return undefined
  let cur: unknown = root
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~")
    if (!isRecord(cur)) return undefined
    cur = cur[key]
  }
  return isRecord(cur) ? cur : undefined
}

/** Follows `$ref`s (merging sibling keywords over the target) and flattens `allOf`. */
export const deref = (root: JsonSchema, node: JsonSchema): JsonSchema => {
  let cur = node
  for (let hops = 0; hops < 32; hops++) {
    const ref = cur["$ref"]
    if (typeof ref === "string") {
      const target = resolvePointer(root, ref)
      if (target === undefined) {
        const { $ref: _, ...rest } = cur
        return rest
      }
      const { $ref: _, ...siblings } = cur
      cur = Object.keys(siblings).length === 0 ? target : mergeSchemas(target, siblings)
      continue
    }
    const allOf = cur["allOf"]
    if (Array.isArray(allOf)) {
      const { allOf: _, ...rest } = cur
      let merged: JsonSchema = rest
      for (const part of allOf) if (isRecord(part)) merged = mergeSchemas(merged, deref(root, part))
      cur = merged
      continue
    }
    return cur
  }
  return cur
}

const mergeSchemas = (a: JsonSchema, b: JsonSchema): JsonSchema => {
  const out: Record<string, unknown> = { ...a, ...b }
  if (isRecord(a["properties"]) && isRecord(b["properties"])) {
    out["properties"] = { ...a["properties"], ...b["properties"] }
  }
  if (Array.isArray(a["required"]) && Array.isArray(b["required"])) {
    out["required"] = [...new Set([...a["required"], ...b["required"]])]
  }
  return out
}

/** True when values of the schema are plain strings (written raw in field-marker answers). */
export const isTextSchema = (root: JsonSchema, node: JsonSchema): boolean => {
  const s = deref(root, node)
  if (s["type"] === "string") return true
  if (typeof s["const"] === "string") return true
  const en = s["enum"]
  if (Array.isArray(en) && en.length > 0 && s["type"] === undefined) return en.every((v) => typeof v === "string")
  const alts = s["anyOf"] ?? s["oneOf"]
  if (Array.isArray(alts) && alts.length > 0) return alts.every((a) => isRecord(a) && isTextSchema(root, a))
  return false
}

/** Strings matching a pattern, drawn from the request's generator, and the pattern's test. */
interface Pattern {
  readonly generate: (rng: Rng) => string
  readonly test: (s: string) => boolean
}

const regExp = (pattern: string, flags: string): RegExp | undefined => {
  try {
    return new RegExp(pattern, flags)
  } catch {
    return undefined
  }
}

/**
 * A pattern's generator: fast-check's `stringMatching` (shipped with Effect), sampled with a seed
 * drawn from `rng` so that answers stay deterministic; undefined for a pattern that is not a valid
 * RegExp or that fast-check cannot generate (lookarounds, backreferences, `\b`, `\p{…}`).
 */
const compile = (pattern: string): Pattern | undefined => {
  try {
    // JSON schema patterns are ECMA-262 ones; a few valid without the `u` flag are not with it
    const re = regExp(pattern, "u") ?? new RegExp(pattern)
    const strings = FastCheck.stringMatching(re)
    return { test: (s) => re.test(s), generate: (rng) => FastCheck.sample(strings, { seed: rng.int(0x7fffffff), numRuns: 1 })[0]! }
  } catch {
    return undefined
  }
}

/** Per-engine state of the generator (compiled patterns; undefined: a pattern it cannot generate). */
export interface GeneratorCaches {
  readonly patterns: BoundedCache<Pattern | undefined>
}

/** Makes the generator's caches. */
export const makeCaches = (): GeneratorCaches => ({ patterns: new BoundedCache(1024) })

interface Ctx {
  readonly root: JsonSchema
  readonly rng: Rng
  readonly text: Text.TextContext
  readonly caches: GeneratorCaches
}

/** Generates an instance of `schema`; `hint` is the field or property name it will be stored under. */
export const generate = (
  schema: JsonSchema,
  rng: Rng,
  text: Text.TextContext,
  caches: GeneratorCaches,
  hint?: string
): unknown => gen({ root: schema, rng, text, caches }, schema, hint, 0)

const typeOf = (s: JsonSchema, rng: Rng): string | undefined => {
  const t = s["type"]
  if (typeof t === "string") return t
  if (Array.isArray(t) && t.length > 0) {
    const nonNull = t.filter((x) => x !== "null")
    return String(nonNull.length > 0 && rng.chance(0.9) ? rng.pick(nonNull) : rng.pick(t))
  }
  if (s["properties"] !== undefined || s["additionalProperties"] !== undefined || s["required"] !== undefined) {
    return "object"
  }
  if (s["items"] !== undefined || s["prefixItems"] !== undefined) return "array"
  if (s["minimum"] !== undefined || s["maximum"] !== undefined || s["multipleOf"] !== undefined) return "number"
  return undefined
}

const isLeaf = (root: JsonSchema, n: unknown): boolean => {
  if (!isRecord(n)) return true
  const s = deref(root, n)
  const t = s["type"]
  return t !== "object" && t !== "array" && s["anyOf"] === undefined && s["oneOf"] === undefined &&
    s["properties"] === undefined && s["items"] === undefined
}

const isNullSchema = (root: JsonSchema, n: unknown): boolean =>
  isRecord(n) && deref(root, n)["type"] === "null"

const gen = (ctx: Ctx, node: Node, hint: string | undefined, depth: number): unknown => {
  if (node === true) return Text.phrase(ctx.rng, ctx.text)
  if (node === false) return null
  const s = deref(ctx.root, node)
  const rng = ctx.rng
  if ("const" in s) return s["const"]
  const en = s["enum"]
  if (Array.isArray(en) && en.length > 0) {
    if (hint === "next_tool_name" && en.includes("finish") && rng.chance(0.4)) return "finish"
    return rng.pick(en)
  }
  const alts = s["anyOf"] ?? s["oneOf"]
  if (Array.isArray(alts) && alts.length > 0) {
    let choices = alts
    const nonNull = alts.filter((a) => !isNullSchema(ctx.root, a))
    if (nonNull.length > 0 && nonNull.length < alts.length && rng.chance(0.85)) choices = nonNull
    if (depth > 4) {
      const leaves = choices.filter((a) => isLeaf(ctx.root, a))
      if (leaves.length > 0) choices = leaves
    }
    const picked = rng.pick(choices) as Node
    // keywords next to anyOf (e.g. a description) apply to the branch too
    const { anyOf: _a, oneOf: _o, ...rest } = s
    return gen(ctx, Object.keys(rest).length === 0 || !isRecord(picked) ? picked : mergeSchemas(rest, picked), hint, depth)
  }
  if (depth > 24) return null
  switch (typeOf(s, rng)) {
    case "string":
      return genString(ctx, s, hint, depth)
    case "integer":
      return genNumber(ctx, s, hint, true)
    case "number":
      return genNumber(ctx, s, hint, false)
    case "boolean":
      return rng.chance(0.5)
    case "null":
      return null
    case "array":
      return genArray(ctx, s, hint, depth)
    case "object":
      return genObject(ctx, s, depth)
    default:
      return Text.forName(hint, rng, ctx.text, depth > 0)
  }
}

const pad2 = (n: number): string => String(n).padStart(2, "0")

const isoDate = (rng: Rng): string => `${rng.range(2019, 2025)}-${pad2(rng.range(1, 12))}-${pad2(rng.range(1, 28))}`
const isoTime = (rng: Rng): string => `${pad2(rng.range(0, 23))}:${pad2(rng.range(0, 59))}:${pad2(rng.range(0, 59))}`

const hexDigits = (rng: Rng, n: number): string => {
  let s = ""
  for (let i = 0; i < n; i++) s += "0123456789abcdef"[rng.int(16)]
  return s
}

const uuid = (rng: Rng): string => `${hexDigits(rng, 8)}-${hexDigits(rng, 4)}-4${hexDigits(rng, 3)}-a${hexDigits(rng, 3)}-${hexDigits(rng, 12)}`

const byFormat = (format: unknown, rng: Rng, text: Text.TextContext): string | undefined => {
  switch (format) {
    case "date-time":
      return `${isoDate(rng)}T${isoTime(rng)}Z`
    case "date":
      return isoDate(rng)
    case "time":
      return isoTime(rng)
    case "email":
    case "idn-email":
      return `user${rng.int(1000)}@example.com`
    case "uri":
    case "url":
    case "iri":
    case "uri-reference":
      return `https://example.com/${Text.phrase(rng, text).replace(/\W+/g, "-")}`
    case "uuid":
      return uuid(rng)
    case "hostname":
      return `host${rng.int(100)}.example.com`
    case "ipv4":
      return `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`
    case "ipv6":
      return `2001:db8::${rng.int(65536).toString(16)}`
    default:
      return undefined
  }
}

/** Strings that Effect schemas decode into other types (`JSONSchema.make` describes them). */
const byDescription = (description: unknown, rng: Rng): string | undefined => {
  if (typeof description !== "string") return undefined
  if (description.includes("decoded into a Date") || /\bvalid Date\b/.test(description)) {
    return `${isoDate(rng)}T${isoTime(rng)}.000Z`
  }
  if (/Universally Unique Identifier|\bUUID\b/.test(description)) {
    return uuid(rng)
  }
  if (description.includes("decoded into a number")) return String(rng.range(0, 1000))
  if (description.includes("decoded into a bigint")) return String(rng.range(0, 1_000_000))
  if (description.includes("decoded into a boolean")) return rng.chance(0.5) ? "true" : "false"
  if (description.includes("decoded into a URL")) return `https://example.com/${rng.int(1000)}`
  return undefined
}

const fitLength = (ctx: Ctx, value: string, min: number, max: number): string => {
  let v = value
  while (v.length < min) v = `${v} ${Text.sentence(ctx.rng, ctx.text)}`.trim()
  if (v.length > max) v = v.slice(0, max).trimEnd()
  while (v.length < min) v += "x"
  return v
}

const genString = (ctx: Ctx, s: JsonSchema, hint: string | undefined, depth: number): string => {
  const rng = ctx.rng
  const min = typeof s["minLength"] === "number" ? s["minLength"] : 0
  const max = typeof s["maxLength"] === "number" ? s["maxLength"] : Infinity
  let value = byFormat(s["format"], rng, ctx.text) ?? byDescription(s["description"], rng) ??
    Text.forName(hint, rng, ctx.text, depth > 0)
  value = fitLength(ctx, value, min, max)
  const pattern = s["pattern"]
  if (typeof pattern === "string") {
    const g = ctx.caches.patterns.get(pattern, compile)
    if (g !== undefined && !g.test(value)) {
      for (let tries = 0; tries < 4; tries++) {
        const candidate = g.generate(rng)
        value = candidate
        if (candidate.length >= min && candidate.length <= max) break
      }
    }
  }
  return value
}

const NAME_RANGES: ReadonlyArray<readonly [RegExp, number, number]> = [
  [/(^|_)(confidence|probability|prob|likelihood|certainty)$/, 0, 1],
  [/(^|_)age$/, 18, 80],
  [/(^|_)year$/, 1990, 2025],
  [/(^|_)(count|quantity|qty|number|num|n)$/, 1, 10],
  [/(^|_)(rating|stars)$/, 1, 5],
  [/(^|_)(score|percent|percentage)$/, 0, 100]
]

const genNumber = (ctx: Ctx, s: JsonSchema, hint: string | undefined, integer: boolean): number => {
  const rng = ctx.rng
  const num = (k: string): number | undefined => (typeof s[k] === "number" ? (s[k] as number) : undefined)
  // draft-04 boolean exclusive bounds
  const exMinFlag = s["exclusiveMinimum"] === true
  const exMaxFlag = s["exclusiveMaximum"] === true
  let lo = num("minimum")
  let hi = num("maximum")
  let loExclusive = exMinFlag
  let hiExclusive = exMaxFlag
  const exMin = num("exclusiveMinimum")
  const exMax = num("exclusiveMaximum")
  if (exMin !== undefined && (lo === undefined || exMin >= lo)) {
    lo = exMin
    loExclusive = true
  }
  if (exMax !== undefined && (hi === undefined || exMax <= hi)) {
    hi = exMax
    hiExclusive = true
  }
  const description = typeof s["description"] === "string" ? s["description"] : ""
  if (lo === undefined && hi === undefined && description !== "") {
    // lossy schemas still describe their refinements ("a number between 1 and 5")
    const between = /between (-?\d+(?:\.\d+)?) and (-?\d+(?:\.\d+)?)/.exec(description)
    const atLeast = /greater than or equal to (-?\d+(?:\.\d+)?)/.exec(description)
    const above = /greater than (-?\d+(?:\.\d+)?)/.exec(description)
    const atMost = /less than or equal to (-?\d+(?:\.\d+)?)/.exec(description)
    const below = /less than (-?\d+(?:\.\d+)?)/.exec(description)
    if (between !== null) {
      lo = Number(between[1])
      hi = Number(between[2])
    }
    if (atLeast !== null) lo = Number(atLeast[1])
    else if (above !== null) {
      lo = Number(above[1])
      loExclusive = true
    }
    if (atMost !== null) hi = Number(atMost[1])
    else if (below !== null) {
      hi = Number(below[1])
      hiExclusive = true
    }
    if (/\bpositive\b/.test(description) && lo === undefined) {
      lo = 0
      loExclusive = true
    }
    if (/\b(integer|int)\b/.test(description)) integer = true
  }
  if (lo === undefined && hi === undefined && hint !== undefined) {
    const h = hint.toLowerCase()
    for (const [re, a, b] of NAME_RANGES) {
      if (re.test(h)) {
        lo = a
        hi = b
        break
      }
    }
  }
  if (lo === undefined) lo = hi === undefined ? 0 : Math.min(0, hi - 100)
  if (hi === undefined) hi = lo + 100
  const multipleOf = num("multipleOf")
  if (integer || multipleOf !== undefined) {
    const step = multipleOf !== undefined && multipleOf > 0 ? multipleOf : 1
    const unit = integer && !Number.isInteger(step) ? Math.ceil(step) : step
    let kLo = Math.ceil(lo / unit)
    let kHi = Math.floor(hi / unit)
    if (loExclusive && kLo * unit <= lo) kLo++
    if (hiExclusive && kHi * unit >= hi) kHi--
    if (kHi < kLo) return kLo * unit
    const v = rng.range(kLo, kHi) * unit
    return Number.isInteger(unit) ? v : Number(v.toPrecision(12))
  }
  // most numbers models write are whole; decimals only where the range is narrow
  if (hi - lo >= 4) {
    const kLo = loExclusive ? Math.floor(lo) + 1 : Math.ceil(lo)
    const kHi = hiExclusive ? Math.ceil(hi) - 1 : Math.floor(hi)
    if (kHi >= kLo) return rng.range(kLo, kHi)
  }
  let v = Math.round((lo + rng.next() * (hi - lo)) * 100) / 100
  if (v < lo || (loExclusive && v <= lo) || v > hi || (hiExclusive && v >= hi)) v = (lo + hi) / 2
  return v
}

const genArray = (ctx: Ctx, s: JsonSchema, hint: string | undefined, depth: number): Array<unknown> => {
  const rng = ctx.rng
  const minItems = typeof s["minItems"] === "number" ? s["minItems"] : 0
  const maxItems = typeof s["maxItems"] === "number" ? s["maxItems"] : Infinity
  const prefix = Array.isArray(s["prefixItems"]) ? s["prefixItems"] : Array.isArray(s["items"]) ? s["items"] : undefined
  const rest: Node | undefined = prefix !== undefined
    ? (Array.isArray(s["prefixItems"]) ? (s["items"] as Node | undefined) : (s["additionalItems"] as Node | undefined))
    : (s["items"] as Node | undefined) ?? true
  const itemHint = hint !== undefined && hint.endsWith("s") ? hint.slice(0, -1) : hint
  const out: Array<unknown> = []
  if (prefix !== undefined) {
    for (let i = 0; i < prefix.length && i < maxItems; i++) {
      // trailing tuple elements beyond minItems are optional
      if (i >= minItems && rng.chance(0.3)) return out
      out.push(gen(ctx, prefix[i] as Node, itemHint, depth + 1))
    }
  }
  const canExtend = rest !== undefined && rest !== false
  if (!canExtend) return out
  const wanted = depth > 3 ? minItems : Math.max(minItems, Math.min(maxItems, out.length + rng.range(prefix ? 0 : 1, 3)))
  const unique = s["uniqueItems"] === true
  const seen = unique ? new Set(out.map((x) => JSON.stringify(x))) : undefined
  let guard = 0
  while (out.length < wanted && guard++ < wanted * 5 + 5) {
    const item = gen(ctx, rest, itemHint, depth + 1)
    if (seen !== undefined) {
      const key = JSON.stringify(item)
      if (seen.has(key)) continue
      seen.add(key)
    }
    out.push(item)
  }
  return out
}

const KEY_WORDS = ["alpha", "beta", "gamma", "delta", "notes", "extra", "other", "misc"]

const genObject = (ctx: Ctx, s: JsonSchema, depth: number): Record<string, unknown> => {
  const rng = ctx.rng
  const out: Record<string, unknown> = {}
  const props = isRecord(s["properties"]) ? s["properties"] : {}
  const required = new Set(Array.isArray(s["required"]) ? s["required"].filter((x) => typeof x === "string") : [])
  for (const key of Object.keys(props)) {
    if (!required.has(key) && (depth > 3 || !rng.chance(0.5))) continue
    out[key] = gen(ctx, props[key] as Node, key, depth + 1)
  }
  // required keys without a property schema
  for (const key of required) if (!(key in out)) out[key] = Text.forName(key, rng, ctx.text, true)
  const additional = s["additionalProperties"]
  const patternProps = isRecord(s["patternProperties"]) ? s["patternProperties"] : undefined
  const minProps = typeof s["minProperties"] === "number" ? s["minProperties"] : 0
  const keysAreFree = Object.keys(props).length === 0
  if (patternProps !== undefined) {
    for (const pattern of Object.keys(patternProps)) {
      if (depth > 3 && Object.keys(out).length >= minProps) break
      const g = ctx.caches.patterns.get(pattern, compile)
      const key = g === undefined ? rng.pick(KEY_WORDS) : g.generate(rng) || rng.pick(KEY_WORDS)
      if (!(key in out)) out[key] = gen(ctx, patternProps[pattern] as Node, key, depth + 1)
    }
  }
  if (isRecord(additional) && keysAreFree) {
    const n = depth > 3 ? minProps : Math.max(minProps, rng.range(1, 3))
    const words = ctx.text.keywords.length > 0 ? ctx.text.keywords : KEY_WORDS
    for (let i = 0; Object.keys(out).length < n && i < n * 4; i++) {
      const key = i < words.length ? (words[i] as string) : `${rng.pick(KEY_WORDS)}${i}`
      if (!(key in out)) out[key] = gen(ctx, additional, key, depth + 1)
    }
  }
  return out
}
