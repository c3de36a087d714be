import * as Schema from "effect/Schema"

// The shorthand signature grammar, read twice: by `parseShorthand` at runtime and by the types
// below at compile time, so that `Signature.fromString("question -> answer: int | None")` is
// typed `{ question: string } -> { answer: number | null }` with no cast at the call site, and a
// mistake (an unknown type, a duplicate field) is a compile-time error.
//
//   side    := field ("," field)*                      commas inside brackets or quotes do not split
//   field   := name (":" type)?                        no type: a string
//   type    := member ("|" member)*                    `None` among them: nullable
//   member  := base | member "[]" | "list[" type "]" | "dict[" ("str" | "string") "," type "]"
//            | "Optional[" type "]" | "Union[" type ("," type)* "]" | "Literal[" literal ("," literal)* "]"
//            | "None"
//   base    := string | str | number | float | int | integer | boolean | bool
//   literal := 'text' | "text" | number | True | False | None

// ---------------------------------------------------------------------------------------------
// Type level

type Space = " " | "\n" | "\t" | "\r"

type Trim<S extends string> = S extends `${Space}${infer R}` ? Trim<R>
  : S extends `${infer R}${Space}` ? Trim<R>
  : S

type Pop<T extends ReadonlyArray<unknown>> = T extends readonly [unknown, ...infer R] ? R : []

/** Splits `S` at each `Sep` outside brackets and quotes (one character at a time, tail-recursive). */
type SplitTop<
  S extends string,
  Sep extends string,
  Depth extends ReadonlyArray<unknown> = [],
  Quote extends string = "",
  Current extends string = "",
  Parts extends ReadonlyArray<string> = []
> = S extends `${infer C}${infer Rest}` ? Quote extends "" ? C extends Sep ? Depth extends [] ? SplitTop<Rest, Sep, Depth, "", "", [...Parts, Current]>
      : SplitTop<Rest, Sep, Depth, "", `${Current}${C}`, Parts>
    : C extends "[" ? SplitTop<Rest, Sep, [...Depth, 0], "", `${Current}${C}`, Parts>
    : C extends "]" ? SplitTop<Rest, Sep, Pop<Depth>, "", `${Current}${C}`, Parts>
    : C extends "'" | "\"" ? SplitTop<Rest, Sep, Depth, C, `${Current}${C}`, Parts>
    : SplitTop<Rest, Sep, Depth, "", `${Current}${C}`, Parts>
  : C extends Quote ? SplitTop<Rest, Sep, Depth, "", `${Current}${C}`, Parts>
  : SplitTop<Rest, Sep, Depth, Quote, `${Current}${C}`, Parts>
  : [...Parts, Current]

/** A parse: `[value type]`, or a message saying what is wrong. */
type Parsed = readonly [unknown] | string

type BaseType<M extends string> = M extends "string" | "str" ? [string]
  : M extends "number" | "float" | "int" | "integer" ? [number]
  : M extends "boolean" | "bool" ? [boolean]
  : M extends "None" ? [null]
  : undefined

type Map1<P extends Parsed, K extends "array" | "record" | "null"> = P extends readonly [infer V]
  ? [K extends "array" ? ReadonlyArray<V> : K extends "record" ? { readonly [x: string]: V } : V | null]
  : P

type ParseLiteral<L extends string> = L extends `'${infer T}'` | `"${infer T}"` ? [T]
  : L extends "True" ? [true]
  : L extends "False" ? [false]
  : L extends "None" ? [null]
  : L extends `${infer N extends number}` ? [N]
  : `"${L}" is not a literal (use 'text', "text", a number, True, False or None)`

type ParseAll<Parts extends ReadonlyArray<string>, K extends "type" | "literal", Acc = never> = Parts extends
  readonly [infer H extends string, ...infer R extends ReadonlyArray<string>]
  ? (K extends "type" ? ParseType<H> : ParseLiteral<Trim<H>>) extends infer P
    ? P extends readonly [infer V] ? ParseAll<R, K, Acc | V> : P
  : never
  : [Acc]

type ParseDict<A extends string> = SplitTop<A, ","> extends readonly [infer K extends string, infer V extends string]
  ? Trim<K> extends "str" | "string" ? Map1<ParseType<V>, "record">
  : `dict keys must be str, not "${Trim<K>}"`
  : `dict takes a key and a value type: dict[str, T]`

type ParseMember<M extends string> = BaseType<M> extends readonly [unknown] ? BaseType<M>
  : M extends `${infer E}[]` ? Map1<ParseType<E>, "array">
  : M extends `list[${infer E}]` ? Map1<ParseType<E>, "array">
  : M extends `Optional[${infer E}]` ? Map1<ParseType<E>, "null">
  : M extends `Union[${infer E}]` ? ParseAll<SplitTop<E, ",">, "type">
  : M extends `dict[${infer A}]` ? ParseDict<A>
  : M extends `Literal[${infer A}]` ? ParseAll<SplitTop<A, ",">, "literal">
  : `unknown type "${M}" (use str, int, float, bool, list[T], T[], dict[str, T], Optional[T], T | None, Literal[...])`

/** The value type a shorthand type stands for, or a message saying what is wrong. */
export type ParseType<T extends string> = SplitTop<T, "|"> extends readonly [infer One extends string] ? ParseMember<Trim<One>>
  : ParseAll<SplitTop<T, "|">, "type">

type FieldName<P extends string> = P extends `${infer N}:${string}` ? Trim<N> : P
type FieldType<P extends string> = P extends `${string}:${infer T}` ? Trim<T> : "string"

type FieldsOf<Parts extends ReadonlyArray<string>, Acc = {}> = Parts extends
  readonly [infer P extends string, ...infer R extends ReadonlyArray<string>]
  ? Trim<P> extends "" ? FieldsOf<R, Acc>
  : FieldName<Trim<P>> extends infer N extends string ? N extends keyof Acc ? `field "${N}" is declared twice`
    : ParseType<FieldType<Trim<P>>> extends infer V ? V extends readonly [infer T]
        ? FieldsOf<R, Acc & { readonly [K in N]: Schema.Schema<T> }>
      : V extends string ? `${V} for field "${N}"`
      : never
    : never
  : never
  : { readonly [K in keyof Acc]: Acc[K] }

/** The struct fields a comma-separated shorthand field list declares, or a message. */
export type ShorthandFields<S extends string> = FieldsOf<SplitTop<S, ",">>

type DynamicFields = { readonly [x: string]: Schema.Schema<unknown> }

type Side<S extends string, Which extends 0 | 1> = string extends S ? DynamicFields
  : S extends `${infer I}->${infer O}` ? ShorthandFields<Which extends 0 ? I : O> extends infer F
      ? F extends string ? never : F
    : never
  : never

/** Input side of `"a, b: int -> c"`. */
export type ShorthandInput<S extends string> = Side<S, 0>
/** Output side of `"a, b: int -> c"`. */
export type ShorthandOutput<S extends string> = Side<S, 1>

/** What is wrong with a shorthand signature, or `never` when nothing is (or it is not a literal). */
export type ShorthandError<S extends string> = string extends S ? never
  : S extends `${infer I}->${infer O}` ? O extends `${string}->${string}` ? `expected exactly one "->" between inputs and outputs`
    : ShorthandFields<I> extends infer FI ? ShorthandFields<O> extends infer FO ? FI extends string ? FI
        : FO extends string ? FO
        : Extract<keyof FI, keyof FO> extends infer Both extends string
          ? [Both] extends [never] ? never : `field "${Both}" is both an input and an output`
        : never
      : never
    : never
  : `expected "->" between inputs and outputs`

/** `unknown` for a valid shorthand; else a type no string is assignable to, carrying the message. */
export type ValidShorthand<S extends string> = [ShorthandError<S>] extends [never] ? unknown
  : { readonly "invalid shorthand signature": ShorthandError<S> }

// ---------------------------------------------------------------------------------------------
// Runtime

type Fields = Record<string, Schema.Schema.Any>
type Result<A> = { readonly _tag: "Right"; readonly value: A } | { readonly _tag: "Left"; readonly message: string }

const right = <A>(value: A): Result<A> => ({ _tag: "Right", value })
const left = <A>(message: string): Result<A> => ({ _tag: "Left", message })

/** Splits `text` at each `separator` outside brackets and quotes. */
export const splitTop = (text: string, separator: string): Array<string> => {
  const parts: Array<string> = []
  let depth = 0
  let quote: string | undefined
  let current = ""
  for (const c of text) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined
    } else if (c === separator && depth === 0) {
      parts.push(current)
      current = ""
      continue
    } else if (c === "[") depth++
    else if (c === "]") depth = Math.max(0, depth - 1)
    else if (c === "'" || c === "\"") quote = c
    current += c
  }
  parts.push(current)
  return parts
}

const baseTypes: Readonly<Record<string, Schema.Schema.Any>> = {
  string: Schema.String,
  str: Schema.String,
  number: Schema.Number,
  float: Schema.Number,
  int: Schema.Int,
  integer: Schema.Int,
  boolean: Schema.Boolean,
  bool: Schema.Boolean,
  None: Schema.Null
}

const unknownType = (name: string): string =>
  `unknown type "${name}" (use str, int, float, bool, list[T], T[], dict[str, T], Optional[T], T | None, Literal[...])`

const union = (members: ReadonlyArray<Schema.Schema.Any>): Schema.Schema.Any =>
  members.length === 1 ? members[0]! : Schema.Union(...members)

const parseAll = <A>(parts: ReadonlyArray<string>, parse: (part: string) => Result<A>): Result<Array<A>> => {
  const out: Array<A> = []
  for (const part of parts) {
    const result = parse(part)
    if (result._tag === "Left") return result
    out.push(result.value)
  }
  return right(out)
}

const literalOf = (text: string): Result<string | number | boolean | null> => {
  const t = text.trim()
  const quoted = /^'([^']*)'$|^"([^"]*)"$/.exec(t)
  if (quoted !== null) return right(quoted[1] ?? quoted[2] ?? "")
  if (t === "True") return right(true)
  if (t === "False") return right(false)
  if (t === "None") return right(null)
  // a number written the way it prints (`1`, `-2.5`), as the type-level reader requires
  if (t.length > 0 && String(Number(t)) === t) return right(Number(t))
  return left(`"${t}" is not a literal (use 'text', "text", a number, True, False or None)`)
}

const inside = (text: string, head: string): string | undefined =>
  text.startsWith(head) && text.endsWith("]") ? text.slice(head.length, -1) : undefined

const parseMember = (member: string): Result<Schema.Schema.Any> => {
  const m = member.trim()
  const base = baseTypes[m]
  if (base !== undefined) return right(base)
  const mapped = (inner: string, f: (s: Schema.Schema.Any) => Schema.Schema.Any): Result<Schema.Schema.Any> => {
    const parsed = parseType(inner)
    return parsed._tag === "Left" ? parsed : right(f(parsed.value))
  }
  if (m.endsWith("[]")) return mapped(m.slice(0, -2), (s) => Schema.Array(s))
  const list = inside(m, "list[")
  if (list !== undefined) return mapped(list, (s) => Schema.Array(s))
  const optional = inside(m, "Optional[")
  if (optional !== undefined) return mapped(optional, (s) => Schema.NullOr(s))
  const unionOf = inside(m, "Union[")
  if (unionOf !== undefined) {
    const members = parseAll(splitTop(unionOf, ","), parseType)
    return members._tag === "Left" ? members : right(union(members.value))
  }
  const dict = inside(m, "dict[")
  if (dict !== undefined) {
    const parts = splitTop(dict, ",")
    if (parts.length !== 2) return left("dict takes a key and a value type: dict[str, T]")
    const key = parts[0]!.trim()
    if (key !== "str" && key !== "string") return left(`dict keys must be str, not "${key}"`)
    return mapped(parts[1]!, (value) => Schema.Record({ key: Schema.String, value }))
  }
  const literal = inside(m, "Literal[")
  if (literal !== undefined) {
    const values = parseAll(splitTop(literal, ","), literalOf)
    return values._tag === "Left" ? values : right(Schema.Literal(...values.value))
  }
  return left(unknownType(m))
}

/** The Schema a shorthand type stands for. */
export const parseType = (text: string): Result<Schema.Schema.Any> => {
  const members = parseAll(splitTop(text, "|"), parseMember)
  return members._tag === "Left" ? members : right(union(members.value))
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/

const parseSide = (side: string, which: string): Result<Fields> => {
  const out: Fields = {}
  const parts = splitTop(side, ",").map((p) => p.trim()).filter((p) => p.length > 0)
  if (parts.length === 0) return left(`the ${which} side declares no field`)
  for (const part of parts) {
    const colon = part.indexOf(":")
    const name = (colon === -1 ? part : part.slice(0, colon)).trim()
    const typeName = (colon === -1 ? "string" : part.slice(colon + 1)).trim()
    if (!identifier.test(name)) return left(`"${name}" is not a valid ${which} field name`)
    if (name in out) return left(`field "${name}" is declared twice`)
    const schema = parseType(typeName)
    if (schema._tag === "Left") return left(`${schema.message} for field "${name}"`)
    out[name] = schema.value
  }
  return right(out)
}

/** The runtime parser: a message describing the first problem, or the two field maps. */
export const parseShorthand = (
  source: string
):
  | { readonly _tag: "Left"; readonly message: string }
  | { readonly _tag: "Right"; readonly input: Fields; readonly output: Fields } =>
{
  const sides = source.split("->")
  if (sides.length !== 2) {
    return { _tag: "Left", message: `expected exactly one "->" between inputs and outputs in "${source}"` }
  }
  const input = parseSide(sides[0] ?? "", "input")
  if (input._tag === "Left") return input
  const output = parseSide(sides[1] ?? "", "output")
  if (output._tag === "Left") return output
  return { _tag: "Right", input: input.value, output: output.value }
}
