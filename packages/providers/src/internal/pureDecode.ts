/**
 * Whether decoding with a schema can run no effect of its own.
 *
 * `Schema.decodeEither` runs a transformation's or declaration's effect on the default runtime
 * (not the caller's services, `Clock` or references), runs its side effects again if the caller
 * falls back to the Effect decoder, and leaves an async one running. So the synchronous fast
 * path is only taken for schemas whose decoding is plain checks: literals, keywords, structs,
 * tuples, unions and refinements (a filter is a synchronous predicate). A `transformOrFail`
 * (`FinalTransformation`) or a `declare` may return any effect, so either sends the schema
 * down the Effect decoder.
 *
 * @internal
 */
import * as SchemaAST from "effect/SchemaAST"

export const decodesWithoutEffects = (ast: SchemaAST.AST): boolean => walk(ast, new Set())

const walk = (ast: SchemaAST.AST, seen: Set<SchemaAST.AST>): boolean => {
  if (seen.has(ast)) return true
  seen.add(ast)
  switch (ast._tag) {
    case "Declaration":
      return false
    case "Transformation":
      return ast.transformation._tag !== "FinalTransformation" && walk(ast.from, seen) && walk(ast.to, seen)
    case "Refinement":
      return walk(ast.from, seen)
    case "Suspend":
      return walk(ast.f(), seen)
    case "Union":
      return ast.types.every((member) => walk(member, seen))
    case "TupleType":
      return ast.elements.every((element) => walk(element.type, seen)) && ast.rest.every((rest) => walk(rest.type, seen))
    case "TypeLiteral":
      return ast.propertySignatures.every((property) => walk(property.type, seen)) &&
        ast.indexSignatures.every((index) => walk(index.parameter, seen) && walk(index.type, seen))
    case "TemplateLiteral":
    case "Enums":
    case "Literal":
    case "UniqueSymbol":
    case "UndefinedKeyword":
    case "VoidKeyword":
    case "NeverKeyword":
    case "UnknownKeyword":
    case "AnyKeyword":
    case "StringKeyword":
    case "NumberKeyword":
    case "BooleanKeyword":
    case "BigIntKeyword":
    case "SymbolKeyword":
    case "ObjectKeyword":
      return true
  }
}
