/**
 * The tracer provider's id generator. An Effect span takes its ids when it starts (its children
 * and the `traceparent` headers it sends name them at once), but its SDK span is made only when
 * it ends (`tracer.ts`); `handing` gives the SDK the ids the span already has, for the one
 * synchronous `startSpan` call that makes it. Any other span the provider makes gets fresh
 * random ids, as with the SDK's default generator.
 */
import { type IdGenerator, RandomIdGenerator } from "@opentelemetry/sdk-trace-base"

/** An id generator that hands the SDK known ids for the span it is making. */
export class HandedIds implements IdGenerator {
  private readonly random = new RandomIdGenerator()
  private traceId: string | undefined = undefined
  private spanId: string | undefined = undefined
  /** A new trace's id. */
  newTraceId(): string {
    return this.random.generateTraceId()
  }
  /** A new span's id. */
  newSpanId(): string {
    return this.random.generateSpanId()
  }
  /** Runs `make` (which makes one SDK span, synchronously) with the SDK given these ids. */
  handing<A>(traceId: string, spanId: string, make: () => A): A {
    this.traceId = traceId
    this.spanId = spanId
    try {
      return make()
    } finally {
      this.traceId = undefined
      this.spanId = undefined
    }
  }
  generateTraceId(): string {
    return this.traceId ?? this.random.generateTraceId()
  }
  generateSpanId(): string {
    return this.spanId ?? this.random.generateSpanId()
  }
}
