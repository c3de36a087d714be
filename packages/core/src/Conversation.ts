/**
 * Multi-turn conversations. A `Conversation` is a value holding its own history (an `@effect/ai`
 * `Prompt` owned by the value): `ask` streams the model's reply token by token and appends the turn to
 * the history once the reply is complete; `askWith` runs a signature-based module per turn with
 * the history rendered into one of its inputs. Turns of one conversation run one at a time.
 * The history exports to JSON and imports back, checked by `Snapshot`.
 *
 * Every turn is a module call (kind `Predict`, signature `Chat`), so it gets the usual spans,
 * events and usage.
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Adapter from "./Adapter.js"
import type { InvalidInput } from "./DspyError.js"
import { assistantText, userText } from "./internal/messages.js"
import type * as Module from "./Module.js"
import * as Predict from "./Predict.js"
import * as Signature from "./Signature.js"
import * as StreamPredict from "./StreamPredict.js"

/**
 * The signature of a plain chat turn: the user's message in, the model's reply out.
 *
 * @since 0.1.0
 */
export const Chat = Signature.make("Chat", {
  instructions: "Reply to the user's message.",
  input: { message: Schema.String },
  output: { reply: Schema.String }
})

/**
 * The output of a plain chat turn.
 *
 * @since 0.1.0
 */
export type Reply = Signature.Output<typeof Chat>

/**
 * A turn was asked with `ifBusy: "fail"` while another turn of the conversation was running.
 *
 * @since 0.1.0
 */
export class ConversationBusy extends Schema.TaggedError<ConversationBusy>("@effect-dspy/core/ConversationBusy")(
  "ConversationBusy",
  {}
) {
  override get message(): string {
    return "the conversation is already answering a message"
  }
}

/**
 * A conversation snapshot could not be imported.
 *
 * @since 0.1.0
 */
export class InvalidConversation
  extends Schema.TaggedError<InvalidConversation>("@effect-dspy/core/InvalidConversation")(
    "InvalidConversation",
    { reason: Schema.String }
  )
{
  override get message(): string {
    return `invalid conversation snapshot: ${this.reason}`
  }
}

/**
 * The exported form of a conversation: a version and the history.
 *
 * @since 0.1.0
 */
export const Snapshot = Schema.Struct({
  version: Schema.Literal(1),
  history: Prompt.Prompt
})

/**
 * A decoded snapshot.
 *
 * @since 0.1.0
 */
export type Snapshot = typeof Snapshot.Type

/**
 * A snapshot as JSON-safe data.
 *
 * @since 0.1.0
 */
export type SnapshotEncoded = typeof Snapshot.Encoded

/**
 * Options of a conversation.
 *
 * @since 0.1.0
 */
export interface Options {
  /** A system message put first in the history. */
  readonly system?: string | undefined
  /** The history to start from (a system message in it wins over `system`). */
  readonly history?: Prompt.Prompt | undefined
  /** Keep at most this many user/assistant messages (oldest dropped; system messages kept). */
  readonly maxMessages?: number | undefined
  /** Module name of the turns, for spans and events (default `Conversation`). */
  readonly name?: string | undefined
}

/**
 * Options of one turn.
 *
 * @since 0.1.0
 */
export interface AskOptions {
  /** When another turn is running: wait for it (default) or fail with `ConversationBusy`. */
  readonly ifBusy?: "wait" | "fail" | undefined
  /** A semaphore held for the whole turn (see `StreamPredict.withPermit`). */
  readonly semaphore?: Effect.Semaphore | undefined
}

/**
 * How `askWith` maps a turn onto a module.
 *
 * @since 0.1.0
 */
export interface Turn<I, O> {
  /** What the user says this turn (appended to the history). */
  readonly message: string
  /** The module's input, given the history so far rendered as text (see `renderHistory`). */
  readonly input: (history: string) => I
  /** The assistant's text to append to the history, from the module's output. */
  readonly reply: (output: O) => string
}

/**
 * A conversation.
 *
 * @since 0.1.0
 */
export interface Conversation {
  /** The history so far. */
  readonly history: Effect.Effect<Prompt.Prompt>
  /**
   * Streams the reply to a message; when the final event is emitted the message and the reply
   * are appended to the history. A failed or interrupted turn leaves the history unchanged.
   */
  readonly ask: (
    message: string,
    options?: AskOptions
  ) => Stream.Stream<
    StreamPredict.StreamEvent<Reply>,
    Predict.PredictError | ConversationBusy,
    LanguageModel.LanguageModel
  >
  /**
   * `ask` as an effect that starts the turn in the current scope and returns its events (a
   * stream needing no services): provide the model to this effect once rather than to the stream.
   */
  readonly start: (
    message: string,
    options?: AskOptions
  ) => Effect.Effect<
    Stream.Stream<StreamPredict.StreamEvent<Reply>, Predict.PredictError>,
    Predict.PredictError | ConversationBusy,
    LanguageModel.LanguageModel | Scope.Scope
  >
  /** Runs a module for one turn, its input built from the rendered history (see `Turn`). */
  readonly askWith: <I, O, E, R>(
    module: Module.Module<I, O, E, R>,
    turn: Turn<I, O>,
    options?: AskOptions
  ) => Stream.Stream<
    StreamPredict.StreamEvent<O>,
    E | InvalidInput | ConversationBusy,
    R | LanguageModel.LanguageModel
  >
  /** Whether a turn is running or waiting. */
  readonly busy: Effect.Effect<boolean>
  /** Forgets every message but the system message. */
  readonly clear: Effect.Effect<void>
  /** The history as JSON-safe data. */
  readonly snapshot: Effect.Effect<SnapshotEncoded>
  /** The history as a JSON string. */
  readonly toJson: Effect.Effect<string>
}

const textOf = (message: Prompt.Message): string => {
  switch (message.role) {
    case "system":
      return message.content
    case "user":
    case "assistant":
      return message.content.map((part) => (part.type === "text" ? part.text : "")).join("")
    case "tool":
      return ""
  }
}

/**
 * Renders the user and assistant messages of a history as text (`User: …` / `Assistant: …`,
 * separated by blank lines), for a module input.
 *
 * @since 0.1.0
 */
export const renderHistory = (history: Prompt.Prompt): string =>
  history.content
    .filter((m) => m.role === "user" || m.role === "assistant")
    .map((m) => `${m.role === "user" ? "User" : "Assistant"}: ${textOf(m)}`)
    .join("\n\n")

const trim = (history: Prompt.Prompt, maxMessages: number | undefined): Prompt.Prompt => {
  if (maxMessages === undefined) return history
  const others = history.content.filter((m) => m.role !== "system")
  if (others.length <= maxMessages) return history
  const keep = new Set(others.slice(others.length - Math.max(0, maxMessages)))
  return Prompt.fromMessages(history.content.filter((m) => m.role === "system" || keep.has(m)))
}

/**
 * The adapter of a plain chat turn: the prompt is the history plus the new message, and the
 * whole reply text is the `reply` field.
 */
const chatAdapter = (history: Prompt.Prompt): Adapter.Adapter => {
  const format = (request: Adapter.FormatRequest): Prompt.Prompt => {
    const message = request.inputs["message"]
    return Prompt.fromMessages([...history.content, userText(typeof message === "string" ? message : "")])
  }
  return {
    name: "ConversationAdapter",
    format,
    formatOutputs: (_signature, outputs) => {
      const reply = outputs["reply"]
      return typeof reply === "string" ? reply : ""
    },
    parse: (_signature, text) => Either.right({ values: { reply: text }, nearMisses: [] }),
    streamParser: () => Adapter.noFieldStream,
    generate: (_signature, prompt) =>
      Effect.map(LanguageModel.generateText({ prompt }), (response) => ({
        text: response.text,
        usage: response.usage,
        finishReason: response.finishReason
      }))
  }
}

const chatModule = (name: string) => Predict.make(Chat, { name, maxParseRetries: 0 })

/**
 * The module of every turn of a conversation with the default name: a module is an immutable
 * value, so conversations share one (~2.3 KiB each saved, measured over 10,000 conversations).
 */
const defaultChat = chatModule("Conversation")

/** Builds a conversation value over an existing history. */
const fromHistory = (initial: Prompt.Prompt, options: Options): Effect.Effect<Conversation> =>
  Effect.gen(function*() {
    const maxMessages = options.maxMessages === undefined ? undefined : Math.max(0, Math.floor(options.maxMessages))
    // The history of this conversation: a plain variable, because a turn appends to it
    // synchronously as its final event passes (see `turn`), with no effect or stream layer.
    let history = trim(initial, maxMessages)
    const turns = yield* Effect.makeSemaphore(1)
    const chat = options.name === undefined ? defaultChat : chatModule(options.name)
    // turns running or waiting, to answer `busy` and `ifBusy: "fail"` without a race
    let claims = 0

    // Claims the turn lock for the scope: counted at once (so `busy` and `ifBusy: "fail"` see
    // a waiting turn too), then the permit, waited for interruptibly.
    const lock = (ifBusy: "wait" | "fail"): Effect.Effect<void, ConversationBusy, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          if (ifBusy === "fail" && claims > 0) return yield* new ConversationBusy()
          claims++
          yield* Effect.addFinalizer(() => Effect.sync(() => claims--))
          yield* restore(turns.take(1))
          yield* Effect.addFinalizer(() => turns.release(1))
        })
      )

    const append = (message: string, reply: string): void => {
      history = trim(
        Prompt.fromMessages([...history.content, userText(message), assistantText(reply)]),
        maxMessages
      )
    }

    // Takes the turn lock for the scope, starts the turn, and appends it to the history as its
    // final event passes downstream (tracked per chunk: no effect runs per event, and no extra
    // stream layer runs per turn).
    const turn = <O, E, R>(
      options: AskOptions | undefined,
      body: (history: Prompt.Prompt) => Effect.Effect<Stream.Stream<StreamPredict.StreamEvent<O>, E>, E, R | Scope.Scope>,
      onFinal: (output: O) => void
    ): Effect.Effect<Stream.Stream<StreamPredict.StreamEvent<O>, E>, E | ConversationBusy, R | Scope.Scope> =>
      Effect.gen(function*() {
        yield* lock(options?.ifBusy ?? "wait")
        const events = yield* body(history)
        return Stream.mapChunks(events, (chunk) => {
          const last = Chunk.last(chunk)
          if (Option.isSome(last) && last.value._tag === "Final") onFinal(last.value.prediction.output)
          return chunk
        })
      })

    const startChat: Conversation["start"] = (message, askOptions) =>
      turn(
        askOptions,
        (history) =>
          StreamPredict.start(chat, { message }, {
            adapter: chatAdapter(history),
            ...(askOptions?.semaphore === undefined ? {} : { semaphore: askOptions.semaphore })
          }),
        (output) => append(message, output.reply)
      )

    const ask: Conversation["ask"] = (message, askOptions) => Stream.unwrapScoped(startChat(message, askOptions))

    const askWith: Conversation["askWith"] = (module, spec, askOptions) =>
      Stream.unwrapScoped(turn(
        askOptions,
        (history) =>
          StreamPredict.start(
            module,
            spec.input(renderHistory(history)),
            askOptions?.semaphore === undefined ? {} : { semaphore: askOptions.semaphore }
          ),
        (output) => append(spec.message, spec.reply(output))
      ))

    const current = Effect.sync(() => history)
    const snapshot = Effect.flatMap(current, (history) => Effect.orDie(Schema.encode(Snapshot)({ version: 1, history })))

    return {
      history: current,
      ask,
      start: startChat,
      askWith,
      busy: Effect.sync(() => claims > 0),
      clear: Effect.sync(() => {
        history = Prompt.fromMessages(history.content.filter((m) => m.role === "system"))
      }),
      snapshot,
      toJson: Effect.map(snapshot, (s) => JSON.stringify(s))
    }
  })

/**
 * Makes a conversation with its own history.
 *
 * @example
 * ```ts
 * import { Conversation, StreamPredict } from "@effect-dspy/core"
 * import { Console, Effect, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const chat = yield* Conversation.make({ system: "You are a helpful barista." })
 *   yield* chat.ask("What is a flat white?").pipe(StreamPredict.tokens, Stream.runForEach(Console.log))
 *   yield* chat.ask("And a cortado?").pipe(StreamPredict.tokens, Stream.runForEach(Console.log))
 *   return yield* chat.toJson
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Conversation> => {
  const base = options.history ?? Prompt.empty
  const history = options.system === undefined || base.content.some((m) => m.role === "system")
    ? base
    : Prompt.setSystem(base, options.system)
  return fromHistory(history, options)
}

const describe = (error: ParseResult.ParseError): string => ParseResult.TreeFormatter.formatErrorSync(error)

/**
 * Makes a conversation from an exported snapshot (JSON-safe data), checking it first.
 *
 * @since 0.1.0
 */
export const fromSnapshot = (
  snapshot: unknown,
  options: Omit<Options, "history" | "system"> = {}
): Effect.Effect<Conversation, InvalidConversation> =>
  Schema.decodeUnknown(Snapshot)(snapshot).pipe(
    Effect.mapError((error) => new InvalidConversation({ reason: describe(error) })),
    Effect.flatMap((decoded) => fromHistory(decoded.history, options))
  )

/**
 * Makes a conversation from the JSON text of `toJson`, checking it first.
 *
 * @example
 * ```ts
 * import { Conversation } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const copy = Effect.gen(function*() {
 *   const chat = yield* Conversation.make()
 *   return yield* Conversation.fromJson(yield* chat.toJson)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const fromJson = (
  json: string,
  options: Omit<Options, "history" | "system"> = {}
): Effect.Effect<Conversation, InvalidConversation> =>
  Schema.decodeUnknown(Schema.parseJson(Snapshot))(json).pipe(
    Effect.mapError((error) => new InvalidConversation({ reason: describe(error) })),
    Effect.flatMap((decoded) => fromHistory(decoded.history, options))
  )
