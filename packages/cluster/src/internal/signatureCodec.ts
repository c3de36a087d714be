/**
 * Encoding and decoding values with a signature's Schemas, seen as plain values (signature
 * fields require no services). `@effect-dspy/batch` has the same encoder inside `Batch.ts`,
 * not exported; this is the copy the cluster needs (to be moved to batch at merge).
 */
import type * as Signature from "@effect-dspy/core/Signature"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

type Plain = Schema.Schema<unknown, unknown, never>
const plain = (schema: Signature.AnyStruct): Plain => schema as unknown as Plain

/** Encodes values with a Schema, falling back to the value itself. */
export const encoder = (schema: Signature.AnyStruct | undefined) => {
  if (schema === undefined) return (value: unknown): unknown => value
  const encode = Schema.encodeUnknownEither(plain(schema))
  return (value: unknown): unknown => Either.getOrElse(encode(value), () => value)
}

/** Decodes an encoded value with a Schema; the first issue as text on failure. */
export const decoder = (schema: Signature.AnyStruct | undefined) => {
  if (schema === undefined) return (value: unknown): Either.Either<unknown, string> => Either.right(value)
  const decode = Schema.decodeUnknownEither(plain(schema), { errors: "first" })
  return (value: unknown): Either.Either<unknown, string> =>
    Either.mapLeft(decode(value), (error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      if (issue === undefined) return ParseResult.TreeFormatter.formatErrorSync(error)
      return issue.path.length === 0 ? issue.message : `field "${issue.path.join(".")}": ${issue.message}`
    })
}
