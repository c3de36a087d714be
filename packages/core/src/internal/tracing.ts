import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Tracer from "effect/Tracer"

const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * True when a span made on this fiber would reach nobody: tracing is disabled, or the
 * tracer is Effect's built-in one, which keeps spans in memory and exports nothing.
 * Modules then skip their spans (and the context swap that parents spans under them);
 * any installed tracer (OTLP, Langfuse, a test recorder) sees every span as before.
 */
export const spansUnobserved = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  !fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
  Context.get(fiber.currentDefaultServices, Tracer.Tracer) === nativeTracer
