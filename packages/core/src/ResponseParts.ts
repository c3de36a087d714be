/**
 * Builds decoded `@effect/ai` response parts from their encoded form without a Schema, for
 * the part types a plain answer has (text, reasoning, response metadata, finish).
 *
 * Why: `LanguageModel.make`'s generic path rebuilds its response Schema on every call and
 * decodes every part with it, which is most of a streamed token's cost. A provider (ours over
 * chat completions, the simulator) builds the common parts here exactly as that decoding would,
 * and decodes anything else (tool calls, files, sources) with a Schema it builds once.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Response from "@effect/ai/Response"
import type * as Telemetry from "@effect/ai/Telemetry"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

const metadataPart = (part: Response.ResponseMetadataPartEncoded) =>
  Response.makePart("response-metadata", {
    id: Option.fromNullable(part.id),
    modelId: Option.fromNullable(part.modelId),
    timestamp: part.timestamp === undefined ? Option.none() : DateTime.make(part.timestamp),
    metadata: part.metadata ?? {}
  })

const finishPart = (part: Response.FinishPartEncoded) =>
  Response.makePart("finish", {
    reason: part.reason,
    usage: new Response.Usage(part.usage, { disableValidation: true }),
    metadata: part.metadata ?? {}
  })

/**
 * The parts of a whole answer, or `undefined` when one of them is of a type not handled here
 * (decode those with `Response.Part`'s Schema).
 *
 * @example
 * ```ts
 * import { ResponseParts } from "@effect-dspy/core"
 *
 * const parts = ResponseParts.fromEncoded([{ type: "text", text: "Hello" }])
 * ```
 *
 * @since 0.1.0
 */
export const fromEncoded = (
  encoded: Iterable<Response.PartEncoded>
): Array<Response.Part<{}>> | undefined => {
  const parts: Array<Response.Part<{}>> = []
  for (const part of encoded) {
    switch (part.type) {
      case "text":
        parts.push(Response.makePart("text", { text: part.text, metadata: part.metadata ?? {} }))
        break
      case "reasoning":
        parts.push(Response.makePart("reasoning", { text: part.text, metadata: part.metadata ?? {} }))
        break
      case "response-metadata":
        parts.push(metadataPart(part))
        break
      case "finish":
        parts.push(finishPart(part))
        break
      default:
        return undefined
    }
  }
  return parts
}

/**
 * The parts of one chunk of a streamed answer, or `undefined` when one of them is of a type
 * not handled here (decode those with `Response.StreamPart`'s Schema).
 *
 * @example
 * ```ts
 * import { ResponseParts } from "@effect-dspy/core"
 *
 * const parts = ResponseParts.fromEncodedStream([{ type: "text-delta", id: "0", delta: "Hel" }])
 * ```
 *
 * @since 0.1.0
 */
export const fromEncodedStream = (
  encoded: Iterable<Response.StreamPartEncoded>
): Array<Response.StreamPart<{}>> | undefined => {
  // The parts made for every token are written as the objects `Response.makePart` builds. Not
  // `makePart` itself: its spread of the parameters plus a symbol key takes V8's slow path,
  // microseconds per part where a literal takes nanoseconds.
  const parts: Array<Response.StreamPart<{}>> = []
  for (const part of encoded) {
    switch (part.type) {
      case "text-delta": {
        const made: Response.TextDeltaPart = {
          [Response.PartTypeId]: Response.PartTypeId,
          type: part.type,
          id: part.id,
          delta: part.delta,
          metadata: part.metadata ?? {}
        }
        parts.push(made)
        break
      }
      case "text-start": {
        const made: Response.TextStartPart = {
          [Response.PartTypeId]: Response.PartTypeId,
          type: part.type,
          id: part.id,
          metadata: part.metadata ?? {}
        }
        parts.push(made)
        break
      }
      case "text-end": {
        const made: Response.TextEndPart = {
          [Response.PartTypeId]: Response.PartTypeId,
          type: part.type,
          id: part.id,
          metadata: part.metadata ?? {}
        }
        parts.push(made)
        break
      }
      case "reasoning-delta": {
        const made: Response.ReasoningDeltaPart = {
          [Response.PartTypeId]: Response.PartTypeId,
          type: part.type,
          id: part.id,
          delta: part.delta,
          metadata: part.metadata ?? {}
        }
        parts.push(made)
        break
      }
      case "reasoning-start": {
        const made: Response.ReasoningStartPart = {
          [Response.PartTypeId]: Response.PartTypeId,
          type: part.type,
          id: part.id,
          metadata: part.metadata ?? {}
        }
        parts.push(made)
        break
      }
      case "reasoning-end": {
        const made: Response.ReasoningEndPart = {
          [Response.PartTypeId]: Response.PartTypeId,
          type: part.type,
          id: part.id,
          metadata: part.metadata ?? {}
        }
        parts.push(made)
        break
      }
      case "response-metadata":
        parts.push(metadataPart(part))
        break
      case "finish":
        parts.push(finishPart(part))
        break
      default:
        return undefined
    }
  }
  return parts
}

/**
 * Hands a streamed answer's parts to `@effect/ai`'s span transformer once the stream ends (as
 * `LanguageModel.streamText` does), collecting them per chunk; without a transformer the
 * stream is returned as it is.
 *
 * @example
 * ```ts
 * import type * as LanguageModel from "@effect/ai/LanguageModel"
 * import type * as Response from "@effect/ai/Response"
 * import { ResponseParts } from "@effect-dspy/core"
 * import type { Stream } from "effect"
 *
 * const reported = (parts: Stream.Stream<Response.StreamPart<{}>>, options: LanguageModel.ProviderOptions) =>
 *   ResponseParts.reportStream(parts, undefined, options)
 * ```
 *
 * @since 0.1.0
 */
export const reportStream = <E, R>(
  parts: Stream.Stream<Response.StreamPart<{}>, E, R>,
  transformer: Telemetry.SpanTransformer | undefined,
  providerOptions: LanguageModel.ProviderOptions
): Stream.Stream<Response.StreamPart<{}>, E, R> => {
  if (transformer === undefined) return parts
  const content: Array<Response.StreamPart<{}>> = []
  return parts.pipe(
    Stream.mapChunks((chunk) => {
      for (const part of chunk) content.push(part)
      return chunk
    }),
    Stream.ensuring(Effect.sync(() => transformer({ ...providerOptions, response: content })))
  )
}
