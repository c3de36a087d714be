import { Usage } from "@effect-dspy/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Store } from "../Checkpoint.js"
import { CheckpointError, CheckpointMismatch } from "../OptimizeError.js"

// The format of the envelope and of every optimizer's state in it. Bump it when either changes,
// so that a checkpoint of another format is refused by name rather than as unreadable.
const FORMAT = 1

// Only the format, read first: another format's envelope may not decode as this one's.
const Header = Schema.parseJson(Schema.Struct({ version: Schema.Number }))

// The envelope every optimizer's checkpoint is saved in: which optimizer, a fingerprint of its
// options, data and program (a state of another run is refused), the usage spent so far and the
// optimizer's own state.
const Envelope = Schema.parseJson(Schema.Struct({
  version: Schema.Literal(FORMAT),
  optimizer: Schema.String,
  fingerprint: Schema.String,
  // core's usage (checkpoints saved before it counted cached calls read them as 0)
  usage: Usage.Usage,
  state: Schema.Unknown
}))

/** A run's handle on its checkpoint (a no-op without a store). */
export interface Checkpointer<S> {
  /** The state saved by an earlier run of the same optimizer, options, data and program. */
  readonly resume: Effect.Effect<Option.Option<{ readonly state: S; readonly usage: Usage.Usage }>, CheckpointError | CheckpointMismatch>
  readonly save: (state: S, usage: Usage.Usage) => Effect.Effect<void, CheckpointError>
}

export const checkpointer = <S, SI>(
  store: Store | undefined,
  optimizer: string,
  fingerprint: string,
  schema: Schema.Schema<S, SI>
): Checkpointer<S> => {
  if (store === undefined) return { resume: Effect.succeed(Option.none()), save: () => Effect.void }
  const decodeHeader = Schema.decodeUnknown(Header)
  const decodeEnvelope = Schema.decodeUnknown(Envelope)
  const decodeState = Schema.decodeUnknown(schema)
  const encodeState = Schema.encode(schema)
  const corrupt = (error: ParseResult.ParseError) =>
    new CheckpointError({
      location: store.location,
      reason: `unreadable, so not resumed (delete it to start over): ${ParseResult.TreeFormatter.formatErrorSync(error)}`
    })
  return {
    resume: store.load.pipe(
      Effect.flatMap(Option.match({
        onNone: (): Effect.Effect<
          Option.Option<{ readonly state: S; readonly usage: Usage.Usage }>,
          CheckpointError | CheckpointMismatch
        > => Effect.succeed(Option.none()),
        onSome: (text) =>
          decodeHeader(text).pipe(
            Effect.mapError(corrupt),
            Effect.filterOrFail(
              (header) => header.version === FORMAT,
              (header) =>
                new CheckpointMismatch({
                  location: store.location,
                  reason: `it is in checkpoint format ${header.version}, and this version of @effect-dspy/optimize reads format ${FORMAT}`
                })
            ),
            Effect.zipRight(Effect.mapError(decodeEnvelope(text), corrupt)),
            Effect.flatMap((envelope): Effect.Effect<
              Option.Option<{ readonly state: S; readonly usage: Usage.Usage }>,
              CheckpointError | CheckpointMismatch
            > => {
              if (envelope.optimizer !== optimizer) {
                return new CheckpointMismatch({
                  location: store.location,
                  reason: `it was saved by ${envelope.optimizer}, not ${optimizer}`
                })
              }
              if (envelope.fingerprint !== fingerprint) {
                return new CheckpointMismatch({
                  location: store.location,
                  reason: "it was saved with other options, data or program"
                })
              }
              return decodeState(envelope.state).pipe(
                Effect.mapError(corrupt),
                Effect.map((state) => Option.some({ state, usage: envelope.usage }))
              )
            })
          )
      }))
    ),
    save: (state, usage) =>
      encodeState(state).pipe(
        Effect.mapError((error) =>
          new CheckpointError({ location: store.location, reason: `cannot encode: ${ParseResult.TreeFormatter.formatErrorSync(error)}` })
        ),
        Effect.flatMap((encoded) =>
          store.save(JSON.stringify({ version: FORMAT, optimizer, fingerprint, usage, state: encoded }))
        )
      )
  }
}
