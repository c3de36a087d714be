/**
 * The coffee shop, traced. With `OTEL_EXPORTER_OTLP_ENDPOINT` (any OTLP collector: Jaeger,
 * Tempo, Honeycomb, ...) or `LANGFUSE_PUBLIC_KEY` + `LANGFUSE_SECRET_KEY` set, spans go there
 * through `Telemetry.layerFromEnv`. Without them, the same spans are exported over OTLP/JSON to a
 * receiver on loopback and printed as a tree, so you see what would be sent.
 *
 *   pnpm exec tsx examples/telemetry/main.ts
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 pnpm exec tsx examples/telemetry/main.ts
 *   LANGFUSE_PUBLIC_KEY=pk-lf-... LANGFUSE_SECRET_KEY=sk-lf-... pnpm exec tsx examples/telemetry/main.ts
 *
 * Prompts, replies and module inputs and outputs are recorded on spans only when asked for
 * (they can hold personal data): `EFFECT_DSPY_CAPTURE_CONTENT=true` for the exporters from the
 * environment, `content: { capture: true }` in code, as the local preview below does.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import { NodeRuntime } from "@effect/platform-node"
import { Redaction } from "@effect-dspy/core"
import { SimulatorProvider } from "@effect-dspy/simulator"
import { Telemetry, TelemetryConfig } from "@effect-dspy/telemetry"
import { Console, Effect } from "effect"
import { customers, triage } from "../coffee-shop/CoffeeShop.js"
import { baristaScript } from "../coffee-shop/script.js"
import * as OtlpPreview from "./OtlpPreview.js"
import * as SpanTree from "./SpanTree.js"

// The traced program: one root span for the shift, one per customer, and inside each the
// module's span (ChainOfThought) and its LM call's span (chat {model}), made by core.
const shift: Effect.Effect<void, unknown, LanguageModel.LanguageModel> = Effect.forEach(
  customers,
  (customer) =>
    triage(customer).pipe(
      Effect.withSpan("serve customer", { attributes: { mood: customer.mood, timeOfDay: customer.timeOfDay } })
    ),
  { concurrency: 4, discard: true }
).pipe(
  Effect.withSpan("coffee-shop shift"),
  Telemetry.withSession({ sessionId: "shift-2026-11-29", userId: "barista-1", tags: ["example"] })
)

const Model = SimulatorProvider.layerFromEnvOrSimulator({
  simulator: { latency: { _tag: "Uniform", minMillis: 300, maxMillis: 600 }, seed: 7, script: baristaScript }
})

const program = Effect.gen(function*() {
  const settings = yield* TelemetryConfig.fromEnv
  if (settings.enabled && settings.destinations.length > 0) {
    // (a destination's URL may carry a password or a key: shown without them)
    const where = settings.destinations.map((d) => `${d.name} (${Redaction.url(d.url)})`).join(" and ")
    yield* Console.log(`Exporting spans to ${where}`)
    // the layer flushes what is queued when it closes, before the process exits
    yield* shift.pipe(Effect.provide(Telemetry.layer(settings)))
    yield* Console.log("Done (the telemetry layer flushed its queue when it closed).")
    return
  }
  yield* Console.log(
    "No OTEL_EXPORTER_OTLP_ENDPOINT or LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY: exporting to a local OTLP " +
      "receiver instead, to show what would be sent."
  )
  const preview = yield* OtlpPreview.start
  yield* shift.pipe(
    Effect.provide(Telemetry.layerOtlp({
      url: preview.url,
      protocol: "http/json",
      serviceName: "coffee-shop",
      // Content is opt-in; the preview stays on this machine, so it shows the prompts too.
      content: { capture: true }
    }))
  )
  const spans = yield* preview.spans
  yield* Console.log(`\n${spans.length} spans exported:\n${SpanTree.render(spans)}`)
}).pipe(Effect.scoped)

program.pipe(Effect.provide(Model), NodeRuntime.runMain)
