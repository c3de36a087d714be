import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as AST from "effect/SchemaAST"

// The JSON schemas a prompt shows (and the structured output a provider is sent) are made from
// the field's Schema with Effect's built-in titles and descriptions removed: `"title": "int"`,
// `"title": "between(0, 1)"`, `"a number between 0 and 1"`, `"a string to be decoded into a
// number"` are Effect's names for its own combinators, not guidance for a model. The bounds
// themselves stay (`minimum`, `maximum`, …) and are also said in words in the field list.
//
// Built-in means: a keyword's default annotation (what `JSONSchema` itself skips); the title of
// a node carrying one of Effect's schema ids (every built-in filter sets one); and a description
// of the form Effect writes ("a …" / "an …") on such a node or on the encoded side of a
// transformation. A description a user puts on a built-in filter in that same form is dropped
// too; the field's own description is read from the property or the outer schema and kept.

const keywordDefaults: ReadonlyMap<string, AST.Annotations> = new Map(
  [
    AST.stringKeyword,
    AST.numberKeyword,
    AST.booleanKeyword,
    AST.bigIntKeyword,
    AST.symbolKeyword,
    AST.objectKeyword,
    AST.unknownKeyword,
    AST.anyKeyword,
    AST.neverKeyword,
    AST.undefinedKeyword,
    AST.voidKeyword
  ].map((k) => [k._tag, k.annotations])
)

const effectForm = /^an? /

/** Whether the node carries one of Effect's own schema ids (a built-in filter). */
const hasEffectSchemaId = (ast: AST.AST): boolean => {
  const id = AST.getSchemaIdAnnotation(ast)
  if (Option.isNone(id)) return false
  const key = typeof id.value === "symbol" ? Symbol.keyFor(id.value) : undefined
  return key !== undefined && key.startsWith("effect/")
}

const isBuiltInText = (ast: AST.AST, key: symbol, text: unknown, encodedSide: boolean): boolean => {
  if (typeof text !== "string") return false
  const defaults = keywordDefaults.get(ast._tag)
  if (defaults !== undefined && defaults[key] === text) return true
  if (key === AST.TitleAnnotationId) return hasEffectSchemaId(ast)
  return (encodedSide || hasEffectSchemaId(ast)) && effectForm.test(text)
}

/** The user's description of a node, if any (Effect's built-in descriptions are not the user's). */
export const userDescription = (ast: AST.AST): string | undefined => {
  const direct = AST.getDescriptionAnnotation(ast)
  if (Option.isSome(direct) && !isBuiltInText(ast, AST.DescriptionAnnotationId, direct.value, false)) return direct.value
  return undefined
}

const cleanAnnotations = (ast: AST.AST, encodedSide: boolean): AST.Annotations => {
  const out: Record<symbol, unknown> = { ...ast.annotations }
  for (const key of [AST.TitleAnnotationId, AST.DescriptionAnnotationId]) {
    if (isBuiltInText(ast, key, out[key], encodedSide)) delete out[key]
  }
  return out
}

/** The built-in title and description of a leaf, as overrides that unset them (none: the leaf is clean). */
const builtInOverrides = (ast: AST.AST, encodedSide: boolean): AST.Annotations | undefined => {
  let out: Record<symbol, undefined> | undefined
  for (const key of [AST.TitleAnnotationId, AST.DescriptionAnnotationId]) {
    if (isBuiltInText(ast, key, ast.annotations[key], encodedSide)) (out ??= {})[key] = undefined
  }
  return out
}

/** The AST with Effect's built-in titles and descriptions removed, for JSON schemas shown to a model. */
export const withoutBuiltInAnnotations = (root: AST.AST): AST.AST => {
  const done = new Map<AST.AST, AST.AST>()
  const go = (ast: AST.AST, encodedSide: boolean): AST.AST => {
    const cached = done.get(ast)
    if (cached !== undefined) return cached
    const result = rebuild(ast, encodedSide)
    done.set(ast, result)
    return result
  }
  const rebuild = (ast: AST.AST, encodedSide: boolean): AST.AST => {
    const annotations = cleanAnnotations(ast, encodedSide)
    switch (ast._tag) {
      case "Refinement":
        return new AST.Refinement(go(ast.from, encodedSide), ast.filter, annotations)
      case "Transformation":
        return new AST.Transformation(go(ast.from, true), go(ast.to, encodedSide), ast.transformation, annotations)
      case "TypeLiteral":
        return new AST.TypeLiteral(
          ast.propertySignatures.map((p) =>
            new AST.PropertySignature(p.name, go(p.type, encodedSide), p.isOptional, p.isReadonly, p.annotations)
          ),
          ast.indexSignatures.map((s) => new AST.IndexSignature(s.parameter, go(s.type, encodedSide), s.isReadonly)),
          annotations
        )
      case "TupleType":
        return new AST.TupleType(
          ast.elements.map((e) => new AST.OptionalType(go(e.type, encodedSide), e.isOptional, e.annotations)),
          ast.rest.map((r) => new AST.Type(go(r.type, encodedSide), r.annotations)),
          ast.isReadonly,
          annotations
        )
      case "Union":
        return AST.Union.make(ast.types.map((t) => go(t, encodedSide)), annotations)
      case "Suspend":
        return new AST.Suspend(() => go(ast.f(), encodedSide), annotations)
      default: {
        const overrides = builtInOverrides(ast, encodedSide)
        return overrides === undefined ? ast : AST.annotations(ast, overrides)
      }
    }
  }
  return go(root, false)
}

type JsonDefs = Record<string, JSONSchema.JsonSchema7>

// Inline `$ref`s so that each field's schema stands alone on one prompt line, and drop
// `$comment`s (Effect's `/schemas/enums` and the like). Recursive definitions cannot be
// inlined: those keep their `$ref` and carry `$defs`.
const inline = (schema: unknown, defs: JsonDefs, seen: ReadonlySet<string>): unknown => {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, defs, seen))
  if (schema === null || typeof schema !== "object") return schema
  const record = schema as Record<string, unknown>
  const ref = record["$ref"]
  if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
    const id = ref.slice("#/$defs/".length)
    const target = defs[id]
    if (target !== undefined && !seen.has(id)) return inline(target, defs, new Set([...seen, id]))
    return record
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record)) {
    if (key === "$schema" || key === "$defs" || key === "$comment") continue
    out[key] = inline(value, defs, seen)
  }
  return out
}

const hasRef = (schema: unknown): boolean => JSON.stringify(schema).includes("\"$ref\"")

/** The JSON schema of a type as a prompt shows it: no built-in annotations, references inlined. */
export const promptJsonSchema = (ast: AST.AST): JSONSchema.JsonSchema7 => {
  const definitions: JsonDefs = {}
  const raw = JSONSchema.fromAST(withoutBuiltInAnnotations(ast), { definitions, topLevelReferenceStrategy: "skip" })
  const inlined = inline(raw, definitions, new Set()) as JSONSchema.JsonSchema7
  if (!hasRef(inlined)) return inlined
  const defs: JsonDefs = {}
  for (const [id, def] of Object.entries(definitions)) defs[id] = inline(def, {}, new Set()) as JSONSchema.JsonSchema7
  return { ...inlined, $defs: defs } as unknown as JSONSchema.JsonSchema7
}
