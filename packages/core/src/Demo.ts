/**
 * Few-shot demonstrations: values for some or all fields of a signature, shown to the model
 * before the real inputs.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidState } from "./DspyError.js"
import { erase } from "./internal/erased.js"
import type * as Signature from "./Signature.js"

/**
 * A demo of signature `S`: any subset of its input and output fields, in their decoded form.
 *
 * @since 0.1.0
 */
export type Demo<S extends Signature.Any> = Partial<Signature.Input<S> & Signature.Output<S>>

/**
 * A demo in JSON-safe encoded form, as saved in program state.
 *
 * @since 0.1.0
 */
export type Encoded = Readonly<Record<string, unknown>>

const fieldsOf = (signature: Signature.Any): Schema.Struct.Fields => ({
  ...signature.input.fields,
  ...signature.output.fields
})

// Every field optional: a demo may carry any subset of the signature's fields.
const partialSchemaOf = (signature: Signature.Any) => erase(Schema.partial(Schema.Struct(fieldsOf(signature))))

/**
 * Encodes a demo to its JSON-safe form.
 *
 * @since 0.1.0
 */
export const encode = <S extends Signature.Any>(
  signature: S,
  demo: Demo<S>
): Either.Either<Encoded, InvalidState> =>
  Schema.encodeUnknownEither(partialSchemaOf(signature))(demo).pipe(
    Either.mapLeft((error) =>
      new InvalidState({
        reason: `demo for ${signature.name} does not fit its signature: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
      })
    )
  )

/**
 * Decodes a saved demo, rejecting unknown fields and values that do not fit the signature.
 *
 * @since 0.1.0
 */
export const decode = <S extends Signature.Any>(
  signature: S,
  encoded: unknown
): Either.Either<Demo<S>, InvalidState> =>
  Schema.decodeUnknownEither(partialSchemaOf(signature), { onExcessProperty: "error" })(encoded).pipe(
    Either.map((demo) => demo as Demo<S>),
    Either.mapLeft((error) =>
      new InvalidState({
        reason: `demo for ${signature.name} does not fit its signature: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
      })
    )
  )

/**
 * Encodes demos given in code when a module is defined; a demo that does not fit the signature
 * is a programming mistake and throws `InvalidState` naming its index.
 *
 * @since 0.1.0
 */
export const encodeAllOrThrow = <S extends Signature.Any>(
  signature: S,
  demos: ReadonlyArray<Demo<S>>
): ReadonlyArray<Encoded> =>
  demos.map((demo, index) => {
    const encoded = encode(signature, demo)
    if (Either.isLeft(encoded)) {
      throw new InvalidState({ reason: `demos[${index}]: ${encoded.left.reason}` })
    }
    return encoded.right
  })
