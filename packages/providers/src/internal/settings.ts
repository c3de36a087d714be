/**
 * What every provider reads the same way: settings from `Config` (an empty variable counts as
 * unset), a base URL's credentials, and the per-call settings mapped onto a provider's own
 * `Config` service.
 *
 * @internal
 */
import { LmConfig } from "@effect-dspy/core"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { type Extras, RequestOptions } from "../RequestOptions.js"

/** @internal */
export const optionalRedacted = (name: string): Effect.Effect<Redacted.Redacted | undefined, ConfigError.ConfigError> =>
  Effect.map(Config.option(Config.redacted(name)), (o) =>
    Option.getOrUndefined(Option.filter(o, (r) => Redacted.value(r).trim() !== "")))

/** @internal */
export const optionalString = (name: string): Effect.Effect<string | undefined, ConfigError.ConfigError> =>
  Effect.map(Config.option(Config.string(name)), (o) => Option.getOrUndefined(Option.filter(o, (s) => s.trim() !== "")))

/**
 * A base URL split for joining: the user name and password it may carry
 * (`http://user:pass@proxy/v1`) become an `Authorization: Basic` header, so that they never
 * appear in a URL we show, and its query (`http://proxy/v1?tenant=a`) becomes parameters of
 * every request, so that a path joined to it (`/chat/completions`) lands before the query.
 *
 * @internal
 */
export const endpoint = (baseUrl: string): {
  readonly url: string
  readonly headers: Record<string, string>
  readonly urlParams: Record<string, string>
} => {
  if (!URL.canParse(baseUrl)) return { url: baseUrl, headers: {}, urlParams: {} }
  const url = new URL(baseUrl)
  const urlParams = Object.fromEntries(url.searchParams)
  url.search = ""
  url.hash = ""
  const headers: Record<string, string> = url.username === "" && url.password === ""
    ? {}
    : { authorization: `Basic ${Encoding.encodeBase64(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)}` }
  url.username = ""
  url.password = ""
  return { url: url.href.replace(/\/+$/, ""), headers, urlParams }
}

/**
 * Sets a provider's own `Config` service for each call from core's `LmConfig` and the request
 * extras in force, over the provider config already in context (which the call's settings win).
 *
 * @internal
 */
export const withCallConfig = <I, S extends object>(
  service: LanguageModel.Service,
  tag: Context.Tag<I, S>,
  toConfig: (settings: LmConfig.Settings, extras: Extras, current: S | undefined) => S
): LanguageModel.Service => {
  const perCall = Effect.map(
    Effect.all([Effect.serviceOption(tag), LmConfig.LmConfig, RequestOptions]),
    ([current, settings, extras]) => {
      const config = Option.getOrUndefined(current)
      return { ...config, ...toConfig(settings, extras, config) }
    }
  )
  return {
    generateText: (options) => Effect.flatMap(perCall, (config) => Effect.provideService(service.generateText(options), tag, config)),
    generateObject: (options) =>
      Effect.flatMap(perCall, (config) => Effect.provideService(service.generateObject(options), tag, config)),
    streamText: (options) =>
      Stream.unwrap(Effect.map(perCall, (config) => Stream.provideService(service.streamText(options), tag, config)))
  }
}

/** OpenAI's reasoning models (`o1`, `o3-mini`, `gpt-5`, …) take no `temperature` / `top_p`. @internal */
export const isReasoningModel = (model: string): boolean => /^(?:.*\/)?(?:o\d|gpt-5)/.test(model)

/** Drops the fields whose value is `undefined`. @internal */
export const defined = <T extends Record<string, unknown>>(record: T): { [K in keyof T]?: Exclude<T[K], undefined> } => {
  const out: { [K in keyof T]?: Exclude<T[K], undefined> } = {}
  for (const key of Object.keys(record) as Array<keyof T>) {
    const value = record[key]
    if (value !== undefined) out[key] = value as Exclude<T[keyof T], undefined>
  }
  return out
}
