import * as JSONSchema from "effect/JSONSchema"
import * as AST from "effect/SchemaAST"

/** How a field's value is written into and read from prompt text. */
export type FieldKind = "text" | "json"

/** What an adapter needs to know about one signature field. */
export interface FieldInfo {
  readonly name: string
  readonly description: string | undefined
  readonly optional: boolean
  readonly kind: FieldKind
  /** The field's JSON schema, references inlined, for prompts and structured output. */
  readonly jsonSchema: JSONSchema.JsonSchema7
  /** A short human label such as `string`, `number` or `string, one of: "a", "b"`. */
  readonly typeLabel: string
  /** The prompt's one-line JSON schema note, for fields that are not plain strings. */
  readonly schemaNote: string | undefined
}

const isStringLike = (ast: AST.AST): boolean => {
  switch (ast._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return true
    case "Literal":
      return typeof ast.literal === "string"
    case "Union":
      return ast.types.every(isStringLike)
    case "Refinement":
      return isStringLike(ast.from)
    case "Transformation":
      return isStringLike(ast.from)
    case "Suspend":
      return false
    default:
      return false
  }
}

type JsonDefs = Record<string, JSONSchema.JsonSchema7>

// Inline `$ref`s so that each field's schema stands alone on one prompt line.
// Recursive definitions cannot be inlined: those keep their `$ref` and carry `$defs`.
const inline = (schema: unknown, defs: JsonDefs, seen: ReadonlySet<string>): unknown => {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, defs, seen))
  if (schema === null || typeof schema !== "object") return schema
  const record = schema as Record<string, unknown>
  const ref = record["$ref"]
  if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
    const id = ref.slice("#/$defs/".length)
    const target = defs[id]
    if (target !== undefined && !seen.has(id)) {
      return inline(target, defs, new Set([...seen, id]))
    }
    return record
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record)) {
    if (key === "$schema" || key === "$defs") continue
    out[key] = inline(value, defs, seen)
  }
  return out
}

const hasRef = (schema: unknown): boolean =>
  JSON.stringify(schema).includes("\"$ref\"")

const jsonSchemaOf = (ast: AST.AST): JSONSchema.JsonSchema7 => {
  const definitions: JsonDefs = {}
  const raw = JSONSchema.fromAST(ast, { definitions, topLevelReferenceStrategy: "skip" })
  const inlined = inline(raw, definitions, new Set()) as JSONSchema.JsonSchema7
  return hasRef(inlined) ? { ...inlined, $defs: definitions } as unknown as JSONSchema.JsonSchema7 : inlined
}

const labelOf = (ast: AST.AST, kind: FieldKind, jsonSchema: JSONSchema.JsonSchema7): string => {
  const encoded = AST.encodedAST(ast)
  if (kind === "text") {
    const literals = collectStringLiterals(encoded)
    return literals === undefined || literals.length === 0
      ? "string"
      : `string, one of: ${literals.map((l) => JSON.stringify(l)).join(", ")}`
  }
  const type = (jsonSchema as { readonly type?: unknown }).type
  if (typeof type === "string") {
    return type === "integer" ? "integer" : type === "array" ? "array" : type
  }
  return "json"
}

const collectStringLiterals = (ast: AST.AST): ReadonlyArray<string> | undefined => {
  switch (ast._tag) {
    case "Literal":
      return typeof ast.literal === "string" ? [ast.literal] : undefined
    case "Union": {
      const all: Array<string> = []
      for (const member of ast.types) {
        const inner = collectStringLiterals(member)
        if (inner === undefined) return undefined
        all.push(...inner)
      }
      return all
    }
    case "Refinement":
      return collectStringLiterals(ast.from)
    default:
      return undefined
  }
}

const descriptionOf = (ast: AST.AST): string | undefined => {
  const direct = AST.getDescriptionAnnotation(ast)
  if (direct._tag === "Some") return direct.value
  if (AST.isTransformation(ast)) {
    const to = AST.getDescriptionAnnotation(ast.to)
    if (to._tag === "Some") return to.value
  }
  return undefined
}

/** Reads the adapter-facing facts of every property of a struct schema, in declaration order. */
export const fieldsOf = (struct: { readonly ast: AST.AST }): ReadonlyArray<FieldInfo> => {
  const ast = struct.ast
  const typeLiteral = AST.isTypeLiteral(ast) ? ast : undefined
  if (typeLiteral === undefined) return []
  const encodedLiteral = AST.encodedAST(ast)
  const encodedProps = AST.isTypeLiteral(encodedLiteral) ? encodedLiteral.propertySignatures : []
  return typeLiteral.propertySignatures.map((property) => {
    const name = String(property.name)
    const encodedProp = encodedProps.find((p) => p.name === property.name)
    const valueAst = encodedProp?.type ?? property.type
    const stripped = stripUndefined(valueAst)
    const kind: FieldKind = isStringLike(stripped) ? "text" : "json"
    // The JSON schema comes from the declared type, refinements included (integer, bounds,
    // formats); JSONSchema uses the encoded side of transformations by itself.
    const jsonSchema = jsonSchemaOf(stripUndefined(property.type))
    const propertyDescription = AST.getDescriptionAnnotation(property)
    const typeLabel = labelOf(stripped, kind, jsonSchema)
    return {
      name,
      description: propertyDescription._tag === "Some" ? propertyDescription.value : descriptionOf(property.type),
      optional: property.isOptional,
      kind,
      jsonSchema,
      typeLabel,
      schemaNote: kind === "text" && typeLabel === "string"
        ? undefined
        : `# note: the value you produce must adhere to the JSON schema: ${JSON.stringify(jsonSchema)}`
    }
  })
}

// `Schema.optional(X)` encodes as `X | undefined`; prompts speak of X.
const stripUndefined = (ast: AST.AST): AST.AST => {
  if (AST.isUnion(ast)) {
    const kept = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
    if (kept.length === 1 && kept[0] !== undefined) return kept[0]
    if (kept.length !== ast.types.length) return AST.Union.make(kept)
  }
  return ast
}
