import type * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as AST from "effect/SchemaAST"
import { choicesOf } from "./lenient.js"
import { type Media, mediaOf } from "./media.js"
import { promptJsonSchema, userDescription } from "./promptSchema.js"

/** How a field's value is written into and read from prompt text. */
export type FieldKind = "text" | "json"

/** What an adapter needs to know about one signature field. */
export interface FieldInfo {
  readonly name: string
  /** The user's description (a `description` annotation); Effect's built-in ones are not shown. */
  readonly description: string | undefined
  readonly optional: boolean
  /** Whether `null` is a value of the field (a missing nullable output reads as `null`). */
  readonly nullable: boolean
  readonly kind: FieldKind
  /** The field's JSON schema as a prompt shows it: references inlined, no built-in annotations. */
  readonly jsonSchema: JSONSchema.JsonSchema7
  /** A short human label such as `string`, `number` or `string, one of: "a", "b"`. */
  readonly typeLabel: string
  /** The field's bounds in plain words (`between 0 and 1`, `at most 3 items`). */
  readonly constraints: ReadonlyArray<string>
  /** The prompt's one-line JSON schema note, for fields that are not plain strings. */
  readonly schemaNote: string | undefined
  /** The encoded type of the value, `undefined` removed: what replies are read into. */
  readonly encoded: AST.AST
  /** Whether the value is a list of text (an input rendered as DSPy renders passages). */
  readonly textList: boolean
  /** A value shown other than as text: a conversation history (messages) or images (file parts). */
  readonly media: Media | undefined
}

/** Whether values of an encoded type are strings (text written raw); `null` does not count. */
export const isStringLike = (ast: AST.AST): boolean => {
  switch (ast._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return true
    case "Literal":
      return typeof ast.literal === "string"
    case "Enums":
      return ast.enums.length > 0 && ast.enums.every(([, value]) => typeof value === "string")
    case "Union": {
      const kept = ast.types.filter((t) => !isNull(t))
      return kept.length > 0 && kept.every(isStringLike)
    }
    case "Refinement":
    case "Transformation":
      return isStringLike(ast.from)
    default:
      return false
  }
}

const isNull = (ast: AST.AST): boolean => AST.isLiteral(ast) && ast.literal === null

const admitsNull = (ast: AST.AST): boolean => {
  switch (ast._tag) {
    case "Literal":
      return ast.literal === null
    case "Union":
      return ast.types.some(admitsNull)
    case "Refinement":
      return admitsNull(ast.from)
    case "Suspend":
      return false
    default:
      return false
  }
}

const labelOf = (encoded: AST.AST, kind: FieldKind, jsonSchema: JSONSchema.JsonSchema7, nullable: boolean): string => {
  const orNull = nullable ? " or null" : ""
  const choices = choicesOf(encoded)?.filter((c) => c.value !== null)
  if (choices !== undefined && choices.length > 0) {
    const base = kind === "text" ? "string" : typeof choices[0]!.value === "number" ? "number" : "value"
    return `${base}${orNull}, one of: ${choices.map((c) => JSON.stringify(c.value)).join(", ")}`
  }
  if (kind === "text") return `string${orNull}`
  const type = jsonTypeOf(nullable ? withoutNull(jsonSchema) : jsonSchema)
  return type === undefined ? "json" : `${type}${orNull}`
}

const jsonTypeOf = (schema: JSONSchema.JsonSchema7 | undefined): string | undefined => {
  const type = (schema as { readonly type?: unknown } | undefined)?.type
  return typeof type === "string" ? type : undefined
}

// The member of `{anyOf: [X, {type: "null"}]}` that is not null, if there is exactly one.
const withoutNull = (schema: JSONSchema.JsonSchema7): JSONSchema.JsonSchema7 | undefined => {
  const anyOf = (schema as { readonly anyOf?: ReadonlyArray<JSONSchema.JsonSchema7> }).anyOf
  const kept = anyOf?.filter((s) => jsonTypeOf(s) !== "null")
  return kept?.length === 1 ? kept[0] : undefined
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`

const sizeWords = (min: unknown, max: unknown, unit: string): Array<string> => {
  const lo = typeof min === "number" ? min : undefined
  const hi = typeof max === "number" ? max : undefined
  if (lo !== undefined && hi !== undefined) {
    return [lo === hi ? `exactly ${plural(lo, unit)}` : `between ${lo} and ${plural(hi, unit)}`]
  }
  if (lo !== undefined && lo > 0) return [`at least ${plural(lo, unit)}`]
  if (hi !== undefined) return [`at most ${plural(hi, unit)}`]
  return []
}

/** The bounds of a JSON schema (its top level) in plain words. */
export const constraintWords = (schema: JSONSchema.JsonSchema7): ReadonlyArray<string> => {
  const s = schema as unknown as Record<string, unknown>
  const words: Array<string> = []
  const { exclusiveMaximum, exclusiveMinimum, maximum, minimum } = s
  if (typeof minimum === "number" && typeof maximum === "number") words.push(`between ${minimum} and ${maximum}`)
  else if (typeof minimum === "number") words.push(`at least ${minimum}`)
  else if (typeof maximum === "number") words.push(`at most ${maximum}`)
  if (typeof exclusiveMinimum === "number") words.push(`greater than ${exclusiveMinimum}`)
  if (typeof exclusiveMaximum === "number") words.push(`less than ${exclusiveMaximum}`)
  if (typeof s["multipleOf"] === "number") words.push(`a multiple of ${s["multipleOf"]}`)
  words.push(...sizeWords(s["minLength"], s["maxLength"], "character"))
  if (typeof s["pattern"] === "string") words.push(`matching the pattern ${s["pattern"]}`)
  if (typeof s["format"] === "string") words.push(`in ${s["format"]} format`)
  words.push(...sizeWords(s["minItems"], s["maxItems"], "item"))
  return words
}

const descriptionOf = (property: AST.PropertySignature): string | undefined => {
  const own = AST.getDescriptionAnnotation(property)
  if (Option.isSome(own)) return own.value
  const type = stripUndefined(property.type)
  const direct = userDescription(type)
  if (direct !== undefined) return direct
  return AST.isTransformation(type) ? userDescription(type.to) : undefined
}

// A text field with a fixed set of values (literals, a string enum) is shown as one plain
// `enum`, whatever Effect's JSON schema for it looks like (an enum's is an `anyOf` of members).
const textChoicesSchema = (encoded: AST.AST, kind: FieldKind, nullable: boolean): JSONSchema.JsonSchema7 | undefined => {
  if (kind !== "text") return undefined
  const values = choicesOf(encoded)?.flatMap((c) => (typeof c.value === "string" ? [c.value] : []))
  if (values === undefined || values.length === 0) return undefined
  const strings: JSONSchema.JsonSchema7 = { type: "string", enum: values }
  return nullable ? { anyOf: [strings, { type: "null" }] } : strings
}

const isTextList = (ast: AST.AST): boolean =>
  AST.isTupleType(ast) && ast.elements.length === 0 && ast.rest.length === 1 && isStringLike(ast.rest[0]!.type) &&
  !admitsNull(ast.rest[0]!.type)

/** Reads the adapter-facing facts of every property of a struct schema, in declaration order. */
export const fieldsOf = (struct: { readonly ast: AST.AST }): ReadonlyArray<FieldInfo> => {
  const ast = struct.ast
  const typeLiteral = AST.isTypeLiteral(ast) ? ast : undefined
  if (typeLiteral === undefined) return []
  const encodedLiteral = AST.encodedAST(ast)
  const encodedProps = AST.isTypeLiteral(encodedLiteral) ? encodedLiteral.propertySignatures : []
  return typeLiteral.propertySignatures.map((property): FieldInfo => {
    const name = String(property.name)
    const encodedProp = encodedProps.find((p) => p.name === property.name)
    const encoded = stripUndefined(encodedProp?.type ?? property.type)
    const kind: FieldKind = isStringLike(encoded) ? "text" : "json"
    const nullable = admitsNull(encoded)
    // The JSON schema comes from the declared type, refinements included (integer, bounds,
    // formats); JSONSchema uses the encoded side of transformations by itself.
    const jsonSchema = textChoicesSchema(encoded, kind, nullable) ?? promptJsonSchema(stripUndefined(property.type))
    const media = mediaOf(stripUndefined(property.type))
    const typeLabel = media === undefined ? labelOf(encoded, kind, jsonSchema, nullable) : mediaLabels[media]
    return {
      name,
      description: descriptionOf(property),
      optional: property.isOptional,
      nullable,
      kind,
      jsonSchema,
      typeLabel,
      constraints: constraintWords(jsonSchema),
      schemaNote: media !== undefined || (kind === "text" && typeLabel === "string")
        ? undefined
        : `# note: the value you produce must adhere to the JSON schema: ${JSON.stringify(jsonSchema)}`,
      encoded,
      textList: isTextList(encoded),
      media
    }
  })
}

const mediaLabels: Record<Media, string> = { history: "conversation history", image: "image", images: "list of images" }

// `Schema.optional(X)` encodes as `X | undefined`; prompts speak of X.
const stripUndefined = (ast: AST.AST): AST.AST => {
  if (AST.isUnion(ast)) {
    const kept = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
    if (kept.length === 1 && kept[0] !== undefined) return kept[0]
    if (kept.length !== ast.types.length) return AST.Union.make(kept)
  }
  return ast
}
