import * as Schema from "effect/Schema"

// Type-level mirror of `parseShorthand`, so that `Signature.fromString("question -> answer: number")`
// gives `{ question: string } -> { answer: number }` with no cast at the call site.

type Trim<S extends string> = S extends ` ${infer R}` | `\n${infer R}` ? Trim<R>
  : S extends `${infer R} ` | `${infer R}\n` ? Trim<R>
  : S

type SplitComma<S extends string> = S extends `${infer Head},${infer Tail}` ? [Trim<Head>, ...SplitComma<Tail>]
  : Trim<S> extends "" ? []
  : [Trim<S>]

/** The Schema a shorthand type name stands for. */
export type ShorthandType<T extends string> = T extends "string" | "str" ? typeof Schema.String
  : T extends "number" | "float" ? typeof Schema.Number
  : T extends "int" | "integer" ? typeof Schema.Int
  : T extends "boolean" | "bool" ? typeof Schema.Boolean
  : T extends `${infer E}[]` ? Schema.Array$<ShorthandType<Trim<E>>>
  : T extends `list[${infer E}]` ? Schema.Array$<ShorthandType<Trim<E>>>
  : never

type FieldName<P extends string> = P extends `${infer N}:${string}` ? Trim<N> : P
type FieldType<P extends string> = P extends `${string}:${infer T}` ? Trim<T> : "string"

/** The struct fields a comma-separated shorthand field list declares. */
export type ShorthandFields<S extends string> = {
  readonly [P in SplitComma<S>[number] as FieldName<P>]: ShorthandType<FieldType<P>>
}

/** Input side of `"a, b: int -> c"`. */
export type ShorthandInput<S extends string> = S extends `${infer I}->${string}` ? ShorthandFields<I> : never
/** Output side of `"a, b: int -> c"`. */
export type ShorthandOutput<S extends string> = S extends `${string}->${infer O}` ? ShorthandFields<O> : never

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The runtime parser: a message describing the first problem, or the two field maps. */
export const parseShorthand = (
  source: string
):
  | { readonly _tag: "Left"; readonly message: string }
  | {
    readonly _tag: "Right"
    readonly input: Record<string, Schema.Schema.Any>
    readonly output: Record<string, Schema.Schema.Any>
  } =>
{
  const sides = source.split("->")
  if (sides.length !== 2) {
    return { _tag: "Left", message: `expected exactly one "->" between inputs and outputs in "${source}"` }
  }
  const input = parseSide(sides[0] ?? "", "input")
  if (typeof input === "string") return { _tag: "Left", message: input }
  const output = parseSide(sides[1] ?? "", "output")
  if (typeof output === "string") return { _tag: "Left", message: output }
  return { _tag: "Right", input, output }
}

const parseSide = (side: string, which: string): Record<string, Schema.Schema.Any> | string => {
  const out: Record<string, Schema.Schema.Any> = {}
  const parts = side.split(",").map((p) => p.trim()).filter((p) => p.length > 0)
  if (parts.length === 0) return `the ${which} side declares no field`
  for (const part of parts) {
    const colon = part.indexOf(":")
    const name = (colon === -1 ? part : part.slice(0, colon)).trim()
    const typeName = (colon === -1 ? "string" : part.slice(colon + 1)).trim()
    if (!identifier.test(name)) return `"${name}" is not a valid ${which} field name`
    const schema = typeOf(typeName)
    if (schema === undefined) {
      return `unknown type "${typeName}" for field "${name}" (use string, number, int, boolean, or T[])`
    }
    out[name] = schema
  }
  return out
}

const typeOf = (name: string): Schema.Schema.Any | undefined => {
  switch (name) {
    case "string":
    case "str":
      return Schema.String
    case "number":
    case "float":
      return Schema.Number
    case "int":
    case "integer":
      return Schema.Int
    case "boolean":
    case "bool":
      return Schema.Boolean
  }
  const element = name.endsWith("[]")
    ? name.slice(0, -2).trim()
    : name.startsWith("list[") && name.endsWith("]")
    ? name.slice(5, -1).trim()
    : undefined
  if (element === undefined) return undefined
  const inner = typeOf(element)
  return inner === undefined ? undefined : Schema.Array(inner)
}
