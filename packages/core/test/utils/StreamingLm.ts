import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

/** Counters a test reads: streams opened, open now, most open at once, how they ended. */
export interface Counters {
  calls: number
  open: number
  maxOpen: number
  interrupted: number
  completed: number
  /** Text deltas sent so far, over all streams. */
  sent: number
  readonly prompts: Array<Prompt.Prompt>
}

/** Splits text into word-sized deltas that keep their leading whitespace (like the simulator). */
export const words = (text: string): Array<string> => text.match(/\s*\S+|\s+$/g) ?? [text]

export interface Options {
  /** Pause before the first delta (TestClock). */
  readonly firstTokenMillis?: number
  /** Pause before each later delta (TestClock). */
  readonly perTokenMillis?: number
  /** How the reply is cut into deltas (default: words). */
  readonly split?: (text: string) => ReadonlyArray<string>
}

/**
 * A scripted streaming LanguageModel: `respond` gives the reply text of each call, which
 * `streamText` sends delta by delta, pausing on Effect's Clock (drive it with TestClock).
 * Every stream is counted from its start until it ends, fails or is interrupted.
 */
export const make = (
  respond: (prompt: Prompt.Prompt, call: number) => string,
  options: Options = {}
): { readonly layer: Layer.Layer<LanguageModel.LanguageModel>; readonly counters: Counters } => {
  const counters: Counters = { calls: 0, open: 0, maxOpen: 0, interrupted: 0, completed: 0, sent: 0, prompts: [] }
  const split = options.split ?? words
  const first = Duration.millis(options.firstTokenMillis ?? 0)
  const per = Duration.millis(options.perTokenMillis ?? 0)
  const usage = (text: string) => ({
    inputTokens: 10,
    outputTokens: Math.ceil(text.length / 4),
    totalTokens: 10 + Math.ceil(text.length / 4)
  })

  const streamText = (options: LanguageModel.ProviderOptions): Stream.Stream<Response.StreamPartEncoded> =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const text = yield* Effect.acquireRelease(
        Effect.sync(() => {
          counters.calls++
          counters.prompts.push(options.prompt)
          counters.open++
          counters.maxOpen = Math.max(counters.maxOpen, counters.open)
          return respond(options.prompt, counters.calls)
        }),
        (_, exit) =>
          Effect.sync(() => {
            counters.open--
            if (Exit.isInterrupted(exit)) counters.interrupted++
            else if (Exit.isSuccess(exit)) counters.completed++
          })
      )
      const deltas = split(text)
      const parts = Stream.fromIterable(deltas).pipe(
        Stream.zipWithIndex,
        Stream.mapEffect(([delta, i]) =>
          Effect.sleep(i === 0 ? first : per).pipe(
            Effect.zipRight(Effect.sync(() => counters.sent++)),
            Effect.as<Response.StreamPartEncoded>({ type: "text-delta", id: "t", delta })
          )
        )
      )
      return Stream.concat(
        Stream.make<Array<Response.StreamPartEncoded>>({ type: "text-start", id: "t" }),
        Stream.concat(
          parts,
          Stream.make<Array<Response.StreamPartEncoded>>(
            { type: "text-end", id: "t" },
            { type: "finish", reason: "stop", usage: usage(text) }
          )
        )
      )
    }))

  const generateText = (options: LanguageModel.ProviderOptions) =>
    Effect.sync((): Array<Response.PartEncoded> => {
      counters.calls++
      counters.prompts.push(options.prompt)
      const text = respond(options.prompt, counters.calls)
      return [{ type: "text", text }, { type: "finish", reason: "stop", usage: usage(text) }]
    })

  return {
    layer: Layer.effect(LanguageModel.LanguageModel, LanguageModel.make({ generateText, streamText })),
    counters
  }
}
