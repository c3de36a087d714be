/**
 * The idle deadline of a streamed attempt (`Resilience`'s timeout: the longest wait for the
 * next part, the first included), and the providers that enforce it where they wait.
 *
 * Why: a wrapper can only time out a stream it does not own by running it in another fiber and
 * handing every chunk over (a fiber wake-up per token), since nothing else can end a pull that
 * waits on a socket. A provider that reads its own response can instead abort its request when
 * the deadline passes, which ends that wait with a failure it reports as the timeout. Such a
 * provider registers its stream function for its service object here; `Resilience` looks the
 * exact object up (a wrapper that copies the service does not inherit the registration, so its
 * own `streamText` is never bypassed). Only a provider whose HTTP client is known to honour the
 * abort may register (an abort a client ignores would leave the wait, and the stream, hanging);
 * the running timer is `IdleWatch` (`idleWatch.ts`).
 *
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import type * as Stream from "effect/Stream"

/** @internal */
export interface IdleDeadline<E> {
  readonly millis: number
  /** The failure of an attempt that waited longer than `millis`. */
  readonly onTimeout: () => E
}

/** The options of a streamed call without a toolkit (the calls a provider's fast path serves). @internal */
export type PlainStreamOptions =
  & Pick<LanguageModel.GenerateTextOptions<{}>, "prompt" | "concurrency">
  & { readonly toolChoice?: unknown }

/** A provider's `streamText` for calls without a toolkit, enforcing the deadline itself. @internal */
export type StreamWithDeadline = <E>(
  options: PlainStreamOptions,
  deadline: IdleDeadline<E>
) => Stream.Stream<Response.StreamPart<{}>, AiError.AiError | E>

// Keyed by the service object itself and never enumerable: an association, not configuration.
const registry = new WeakMap<LanguageModel.Service, StreamWithDeadline>()

/** Records that `service` streams with a deadline through `stream`; returns the service. @internal */
export const register = <S extends LanguageModel.Service>(service: S, stream: StreamWithDeadline): S => {
  registry.set(service, stream)
  return service
}

/** The deadline-enforcing stream of exactly this service object, if it registered one. @internal */
export const get = (service: LanguageModel.Service): StreamWithDeadline | undefined => registry.get(service)
