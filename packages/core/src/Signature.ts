/**
 * A signature declares what a module takes and gives: named input and output fields, each an
 * `effect/Schema`, plus instructions. Field descriptions are Schema `description` annotations.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import { pipeArguments, type Pipeable } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import { InvalidSignature } from "./DspyError.js"
import { type FieldInfo, fieldsOf } from "./internal/fieldInfo.js"
import { MediaAnnotationId } from "./internal/media.js"
import {
  parseShorthand,
  type ShorthandError,
  type ShorthandInput,
  type ShorthandOutput,
  type ValidShorthand
} from "./internal/shorthand.js"

export type {
  /**
   * What an adapter knows of a signature field: name, description, JSON schema, type label.
   *
   * @since 0.1.0
   */
  FieldInfo,
  /**
   * How a field's value is written into and read from prompt text (`text` or `json`).
   *
   * @since 0.1.0
   */
  FieldKind
} from "./internal/fieldInfo.js"
export type {
  /**
   * The compile-time error a malformed shorthand signature string produces.
   *
   * @since 0.2.0
   */
  ShorthandError,
  /**
   * The input fields' types inferred from a shorthand signature string.
   *
   * @since 0.1.0
   */
  ShorthandInput,
  /**
   * The output fields' types inferred from a shorthand signature string.
   *
   * @since 0.1.0
   */
  ShorthandOutput,
  /**
   * A shorthand signature string that parses at compile time (else its `ShorthandError`).
   *
   * @since 0.2.0
   */
  ValidShorthand
}

/**
 * The symbol that marks a value as a signature.
 *
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("@effect-dspy/core/Signature")
/**
 * The type of `TypeId`.
 *
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * A typed declaration of a module's inputs and outputs.
 *
 * @since 0.1.0
 */
export interface Signature<I extends Schema.Struct.Fields, O extends Schema.Struct.Fields> extends Pipeable {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly instructions: string
  readonly input: Schema.Struct<I>
  readonly output: Schema.Struct<O>
  readonly inputFields: ReadonlyArray<FieldInfo>
  readonly outputFields: ReadonlyArray<FieldInfo>
}

/**
 * A struct schema of any fields (structs are invariant in their fields, so `Any` widens this way).
 *
 * @since 0.1.0
 */
export interface AnyStruct extends Schema.Schema.Any {
  readonly fields: Schema.Struct.Fields
}

/**
 * Any signature.
 *
 * @since 0.1.0
 */
export interface Any extends Pipeable {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly instructions: string
  readonly input: AnyStruct
  readonly output: AnyStruct
  readonly inputFields: ReadonlyArray<FieldInfo>
  readonly outputFields: ReadonlyArray<FieldInfo>
}

/**
 * The input type (decoded) of a signature.
 *
 * @since 0.1.0
 */
export type Input<S> = S extends { readonly input: { readonly Type: infer A } } ? A : never
/**
 * The output type (decoded) of a signature.
 *
 * @since 0.1.0
 */
export type Output<S> = S extends { readonly output: { readonly Type: infer A } } ? A : never

const reservedNames = new Set(["completed"])
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/

const SignatureProto = {
  [TypeId]: TypeId,
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  },
  toJSON(this: Any) {
    return {
      _id: "Signature",
      name: this.name,
      instructions: this.instructions,
      input: this.inputFields.map((f) => f.name),
      output: this.outputFields.map((f) => f.name)
    }
  }
}

const defaultInstructions = (inputs: ReadonlyArray<string>, outputs: ReadonlyArray<string>): string =>
  `Given the fields ${inputs.map((n) => `\`${n}\``).join(", ")}, produce the fields ${
    outputs.map((n) => `\`${n}\``).join(", ")
  }.`

const validate = (name: string, input: Schema.Struct.Fields, output: Schema.Struct.Fields): string | undefined => {
  if (name.trim().length === 0) return "the name is empty"
  const inputNames = Object.keys(input)
  const outputNames = Object.keys(output)
  if (outputNames.length === 0) return "it declares no output field"
  for (const field of [...inputNames, ...outputNames]) {
    if (!identifier.test(field)) return `"${field}" is not a valid field name (letters, digits, _)`
    if (reservedNames.has(field)) return `"${field}" is reserved by the adapters`
  }
  const clash = inputNames.find((n) => outputNames.includes(n))
  if (clash !== undefined) return `"${clash}" is both an input and an output field`
  return undefined
}

/**
 * Builds a signature, or `Left(InvalidSignature)` describing what is wrong with the declaration.
 *
 * @since 0.1.0
 */
export const makeEither = <const I extends Schema.Struct.Fields, const O extends Schema.Struct.Fields>(
  name: string,
  options: { readonly instructions?: string | undefined; readonly input: I; readonly output: O }
): Either.Either<Signature<I, O>, InvalidSignature> => {
  const problem = validate(name, options.input, options.output)
  if (problem !== undefined) return Either.left(new InvalidSignature({ signature: name, reason: problem }))
  const input = Schema.Struct(options.input)
  const output = Schema.Struct(options.output)
  const outputFields = fieldsOf(output)
  const media = outputFields.find((f) => f.media !== undefined)
  if (media !== undefined) {
    return Either.left(
      new InvalidSignature({ signature: name, reason: `"${media.name}" is an output, but a ${media.typeLabel} can only be an input` })
    )
  }
  const self = Object.create(SignatureProto)
  self.name = name
  self.instructions = options.instructions ??
    defaultInstructions(Object.keys(options.input), Object.keys(options.output))
  self.input = input
  self.output = output
  self.inputFields = fieldsOf(input)
  self.outputFields = outputFields
  return Either.right(self as Signature<I, O>)
}

/**
 * Declares a signature. Throws `InvalidSignature` for a malformed declaration, which is a
 * programming mistake found when the module is defined (like a Schema constructor would).
 *
 * @example
 * ```ts
 * import { Signature } from "@effect-dspy/core"
 * import { Schema } from "effect"
 *
 * const Triage = Signature.make("Triage", {
 *   instructions: "Decide what to do for a coffee-shop customer.",
 *   input: { request: Schema.String, mood: Schema.Literal("happy", "neutral", "upset") },
 *   output: { reply: Schema.String.annotations({ description: "What to say to the customer" }) }
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = <const I extends Schema.Struct.Fields, const O extends Schema.Struct.Fields>(
  name: string,
  options: { readonly instructions?: string | undefined; readonly input: I; readonly output: O }
): Signature<I, O> => Either.getOrThrowWith(makeEither(name, options), (error) => error)

/**
 * Parses the shorthand form `"question: str, context: list[str] -> answer: int | None"`, DSPy's
 * everyday types with matching compile-time types: `str` (also `string`; a field without a type
 * is a string), `int`, `float` (`number`), `bool`, `list[T]` (`T[]`), `dict[str, T]`,
 * `Optional[T]`, `T | None`, `A | B` (`Union[A, B]`), `Literal['a', 'b']`. `Left(InvalidSignature)`
 * for an unknown type, a field declared twice, or a malformed declaration; use it for shorthand
 * built at runtime (a literal that is wrong is a compile-time error of `fromString`).
 *
 * @since 0.1.0
 */
export const decodeString = <const S extends string>(
  source: S,
  options?: { readonly name?: string | undefined; readonly instructions?: string | undefined }
): Either.Either<Signature<ShorthandInput<S>, ShorthandOutput<S>>, InvalidSignature> => {
  const parsed = parseShorthand(source)
  const name = options?.name ?? source
  if (parsed._tag === "Left") return Either.left(new InvalidSignature({ signature: name, reason: parsed.message }))
  // The runtime parser and the type-level parser read the same grammar; this cast joins them.
  return makeEither(name, {
    instructions: options?.instructions,
    input: parsed.input,
    output: parsed.output
  }) as unknown as Either.Either<Signature<ShorthandInput<S>, ShorthandOutput<S>>, InvalidSignature>
}

/**
 * Declares a signature from the shorthand form (see `decodeString` for the types). A literal
 * with an unknown type or a field declared twice does not compile; a string built at runtime
 * that is malformed throws `InvalidSignature`.
 *
 * @example
 * ```ts
 * import { Signature } from "@effect-dspy/core"
 *
 * const QA = Signature.fromString("question -> answer: number", { instructions: "Answer with a number." })
 * // outputs typed { team: "billing" | "tech"; tags: ReadonlyArray<string>; score: number | null }
 * const Route = Signature.fromString("ticket -> team: Literal['billing', 'tech'], tags: list[str], score: float | None")
 * ```
 *
 * @since 0.1.0
 */
export const fromString = <const S extends string>(
  source: S & ValidShorthand<S>,
  options?: { readonly name?: string | undefined; readonly instructions?: string | undefined }
): Signature<ShorthandInput<S>, ShorthandOutput<S>> =>
  Either.getOrThrowWith(decodeString<S>(source, options), (error) => error)

/**
 * Returns the signature with other instructions.
 *
 * @since 0.1.0
 */
export const withInstructions = <S extends Any>(self: S, instructions: string): S =>
  make(self.name, { instructions, input: self.input.fields, output: self.output.fields }) as unknown as S

/**
 * Returns the signature with another name.
 *
 * @since 0.1.0
 */
export const rename = <S extends Any>(self: S, name: string): S =>
  make(name, { instructions: self.instructions, input: self.input.fields, output: self.output.fields }) as unknown as S

/**
 * Which side of a signature a field is on.
 *
 * @since 0.2.0
 */
export type Role = "input" | "output"

/**
 * The names of a signature's fields, inputs and outputs.
 *
 * @since 0.2.0
 */
export type FieldName<S> = S extends Signature<infer I, infer O> ? Extract<keyof I | keyof O, string> : never

/**
 * The signature `S` with input `K` of type `F` added.
 *
 * @since 0.2.0
 */
export type WithInput<S, K extends string, F> = S extends Signature<infer I, infer O>
  ? Signature<Omit<I, K> & { readonly [P in K]: F }, O>
  : never

/**
 * The signature `S` with output `K` of type `F` added.
 *
 * @since 0.2.0
 */
export type WithOutput<S, K extends string, F> = S extends Signature<infer I, infer O>
  ? Signature<I, Omit<O, K> & { readonly [P in K]: F }>
  : never

/**
 * The signature `S` with a field `K` of type `F` added on side `Ro`.
 *
 * @since 0.2.0
 */
export type WithField<S, Ro extends Role, K extends string, F> = Ro extends "input" ? WithInput<S, K, F>
  : WithOutput<S, K, F>

/**
 * The signature `S` with output `K` added first.
 *
 * @since 0.1.0
 */
export type WithOutputFirst<S, K extends string, F> = WithOutput<S, K, F>

/**
 * The signature `S` with input `K` added last.
 *
 * @since 0.1.0
 */
export type WithInputLast<S, K extends string, F> = WithInput<S, K, F>

/**
 * The signature `S` without field `K`.
 *
 * @since 0.2.0
 */
export type Without<S, K extends string> = S extends Signature<infer I, infer O> ? Signature<Omit<I, K>, Omit<O, K>>
  : never

/**
 * The signature `S` whose field `K` now has type `F` (on the side it was on).
 *
 * @since 0.2.0
 */
export type WithUpdated<S, K extends string, F> = S extends Signature<infer I, infer O>
  ? K extends keyof I ? Signature<Omit<I, K> & { readonly [P in K]: F }, O>
  : Signature<I, Omit<O, K> & { readonly [P in K]: F }>
  : never

type Entries = ReadonlyArray<readonly [string, Schema.Struct.Field]>

// Rebuilds a signature from edited field lists, in the given order. Instructions that were the
// defaults derived from the old field names are derived again from the new ones.
const rebuild = (self: Any, input: Entries, output: Entries): unknown => {
  const derived = defaultInstructions(self.inputFields.map((f) => f.name), self.outputFields.map((f) => f.name))
  return make(self.name, {
    instructions: self.instructions === derived ? undefined : self.instructions,
    input: Object.fromEntries(input),
    output: Object.fromEntries(output)
  })
}

const entriesOf = (struct: AnyStruct): Entries => Object.entries(struct.fields)

// DSPy's index rule: 0 is first, a negative index counts from the end (-1 is after the last).
const insertAt = (entries: Entries, index: number, entry: readonly [string, Schema.Struct.Field]): Entries => {
  const without = entries.filter(([name]) => name !== entry[0])
  const at = index < 0 ? without.length + 1 + index : index
  const position = Math.min(Math.max(at, 0), without.length)
  return [...without.slice(0, position), entry, ...without.slice(position)]
}

/**
 * Adds a field at a position among the fields of its side (`index` 0 is first; a negative
 * index counts from the end, -1 being after the last one). A field of the same name on that
 * side is replaced. Throws `InvalidSignature` when the result is not a valid signature (the
 * name is taken by the other side, or is not an identifier).
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Signature } from "@effect-dspy/core"
 * import { Schema } from "effect"
 *
 * const QA = Signature.fromString("question -> answer")
 * // inputs { context: string[]; question: string }
 * const RAG = Signature.insert(QA, { role: "input", index: 0, name: "context", schema: Schema.Array(Schema.String) })
 * ```
 */
export const insert = <
  S extends Any,
  const Ro extends Role,
  const K extends string,
  F extends Schema.Struct.Field
>(
  self: S,
  field: { readonly role: Ro; readonly index: number; readonly name: K; readonly schema: F }
): WithField<S, Ro, K, F> => {
  const entry = [field.name, field.schema] as const
  // The runtime fields are exactly the ones the type describes.
  return (field.role === "input"
    ? rebuild(self, insertAt(entriesOf(self.input), field.index, entry), entriesOf(self.output))
    : rebuild(self, entriesOf(self.input), insertAt(entriesOf(self.output), field.index, entry))) as WithField<
      S,
      Ro,
      K,
      F
    >
}

/**
 * Adds an output field before the others (ChainOfThought's `reasoning`).
 *
 * @since 0.1.0
 */
export const prependOutput = <S extends Any, const K extends string, F extends Schema.Struct.Field>(
  self: S,
  name: K,
  schema: F
): WithOutput<S, K, F> => insert(self, { role: "output", index: 0, name, schema })

/**
 * Adds an output field after the others.
 *
 * @since 0.2.0
 */
export const appendOutput = <S extends Any, const K extends string, F extends Schema.Struct.Field>(
  self: S,
  name: K,
  schema: F
): WithOutput<S, K, F> => insert(self, { role: "output", index: -1, name, schema })

/**
 * Adds an input field before the others.
 *
 * @since 0.2.0
 */
export const prependInput = <S extends Any, const K extends string, F extends Schema.Struct.Field>(
  self: S,
  name: K,
  schema: F
): WithInput<S, K, F> => insert(self, { role: "input", index: 0, name, schema })

/**
 * Adds an input field after the others (ReAct's `trajectory`).
 *
 * @since 0.1.0
 */
export const appendInput = <S extends Any, const K extends string, F extends Schema.Struct.Field>(
  self: S,
  name: K,
  schema: F
): WithInput<S, K, F> => insert(self, { role: "input", index: -1, name, schema })

const requireField = (self: Any, name: string): void => {
  if (!(name in self.input.fields) && !(name in self.output.fields)) {
    throw new InvalidSignature({ signature: self.name, reason: `it has no field "${name}"` })
  }
}

const delete_ = <S extends Any, const K extends FieldName<S>>(self: S, name: K): Without<S, K> => {
  requireField(self, name)
  return rebuild(
    self,
    entriesOf(self.input).filter(([n]) => n !== name),
    entriesOf(self.output).filter(([n]) => n !== name)
  ) as Without<S, K>
}

export {
  /**
   * Removes a field (input or output). Throws `InvalidSignature` when the signature has no such
   * field or it was the last output.
   *
   * @since 0.2.0
   * @example
   * ```ts
   * import { Signature } from "@effect-dspy/core"
   *
   * const Full = Signature.fromString("question, hint -> answer, confidence: float")
   * const Bare = Signature.delete(Signature.delete(Full, "hint"), "confidence") // question -> answer
   * ```
   */
  delete_ as delete
}

/**
 * Changes a field in place: its type (`schema`), its description, or both. The field keeps its
 * side and position; the resulting signature's types follow the new schema.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Signature } from "@effect-dspy/core"
 * import { Schema } from "effect"
 *
 * const QA = Signature.fromString("question -> answer")
 * // answer: number, described
 * const Numeric = Signature.withUpdatedFields(QA, "answer", { schema: Schema.Number, description: "A number" })
 * ```
 */
export const withUpdatedFields: {
  <S extends Any, const K extends FieldName<S>, F extends Schema.Struct.Field>(
    self: S,
    name: K,
    update: { readonly schema: F; readonly description?: string | undefined }
  ): WithUpdated<S, K, F>
  <S extends Any, const K extends FieldName<S>>(
    self: S,
    name: K,
    update: { readonly description: string }
  ): S
} = (
  self: Any,
  name: string,
  update: { readonly schema?: Schema.Struct.Field | undefined; readonly description?: string | undefined }
): never => {
  const edit = (entries: Entries): Entries =>
    entries.map(([n, field]) => {
      if (n !== name) return [n, field] as const
      const next = update.schema ?? field
      return [n, update.description === undefined ? next : describe(next, update.description)] as const
    })
  requireField(self, name)
  return rebuild(self, edit(entriesOf(self.input)), edit(entriesOf(self.output))) as never
}

// Both a Schema and a property signature (`Schema.optional(...)`) take annotations.
const describe = (field: Schema.Struct.Field, description: string): Schema.Struct.Field =>
  field.annotations({ description })

/**
 * An input field holding a conversation: earlier turns, each a record of this signature's field
 * values (inputs and the outputs given back). The adapters show each turn as a user message
 * (its inputs) and an assistant message (its outputs) before the current inputs, as DSPy's
 * `dspy.History` does; a turn's field that is not in the signature is an `InvalidInput`.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Schema } from "effect"
 *
 * const Chat = Signature.make("Chat", {
 *   input: { history: Signature.History, question: Schema.String },
 *   output: { answer: Schema.String }
 * })
 * const chat = Predict.make(Chat)
 * const next = chat({
 *   history: [{ question: "What is the capital of France?", answer: "Paris" }],
 *   question: "And its population?"
 * })
 * ```
 */
export const History = Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown })).annotations({
  [MediaAnnotationId]: "history",
  identifier: "History"
})

/**
 * A conversation, the value of a `History` field.
 *
 * @since 0.2.0
 */
export type History = typeof History.Type

const base64 = /^[A-Za-z0-9+/]*={0,2}$/

const ImageUrl = Schema.Struct({
  url: Schema.String.pipe(Schema.filter((url) => URL.canParse(url) || "not a URL")),
  mediaType: Schema.optional(Schema.String)
})
const ImageData = Schema.Struct({
  /** The image's bytes in base64. */
  data: Schema.String.pipe(Schema.filter((data) => base64.test(data) || "not base64")),
  mediaType: Schema.String
})

/**
 * An input field holding an image, for models that read images: a URL (`https:`, or a `data:`
 * URL) or base64 data with its media type. The adapters send it as an `@effect/ai` file part
 * where the field's value goes; a provider that takes no images refuses the call. A list of
 * images is `Schema.Array(Signature.Image)`. Make values with `imageUrl` and `imageBytes`.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Schema } from "effect"
 *
 * const Describe = Signature.make("Describe", {
 *   input: { photo: Signature.Image },
 *   output: { caption: Schema.String }
 * })
 * const caption = Predict.make(Describe)({ photo: Signature.imageUrl("https://example.com/cat.png") })
 * ```
 */
export const Image = Schema.Union(ImageUrl, ImageData).annotations({
  [MediaAnnotationId]: "image",
  identifier: "Image"
})

/**
 * An image, the value of an `Image` field.
 *
 * @since 0.2.0
 */
export type Image = typeof Image.Type

/**
 * An image at a URL (a `data:` URL carries its own bytes and media type).
 *
 * @since 0.2.0
 */
export const imageUrl = (url: string, mediaType?: string): Image =>
  mediaType === undefined ? { url } : { url, mediaType }

/**
 * An image from its bytes.
 *
 * @since 0.2.0
 */
export const imageBytes = (bytes: Uint8Array, mediaType: string): Image => ({
  data: Encoding.encodeBase64(bytes),
  mediaType
})

/**
 * Tells whether a value is a signature.
 *
 * @since 0.1.0
 */
export const isSignature = (u: unknown): u is Any => typeof u === "object" && u !== null && TypeId in u
