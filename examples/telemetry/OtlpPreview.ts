/**
 * A local stand-in for an OTLP collector: a loopback HTTP server that accepts OTLP/HTTP JSON
 * trace exports and keeps the spans. Pointing `Telemetry.layerOtlp` at it shows exactly what
 * the telemetry layer would send to a collector or to Langfuse (names, kinds, attributes,
 * times), because it is the same export path. The telemetry package has no in-memory exporter,
 * and exporting through the real pipeline is more faithful than one would be.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Effect, Either, Layer, ParseResult, Schema, type Scope } from "effect"
import { createServer } from "node:http"

// OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): only the fields
// the preview shows. 64-bit integers may arrive as strings.
const Int64 = Schema.Union(Schema.Number, Schema.NumberFromString)

const exact = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

interface AnyValue {
  readonly stringValue?: string
  readonly boolValue?: boolean
  readonly intValue?: number
  readonly doubleValue?: number
  readonly arrayValue?: { readonly values?: ReadonlyArray<AnyValue> }
}
interface AnyValueEncoded {
  readonly stringValue?: string
  readonly boolValue?: boolean
  readonly intValue?: number | string
  readonly doubleValue?: number
  readonly arrayValue?: { readonly values?: ReadonlyArray<AnyValueEncoded> }
}
const AnyValue: Schema.Schema<AnyValue, AnyValueEncoded> = Schema.Struct({
  stringValue: exact(Schema.String),
  boolValue: exact(Schema.Boolean),
  intValue: exact(Int64),
  doubleValue: exact(Schema.Number),
  arrayValue: exact(Schema.Struct({
    values: exact(Schema.Array(Schema.suspend((): Schema.Schema<AnyValue, AnyValueEncoded> => AnyValue)))
  }))
})

const KeyValues = Schema.Array(Schema.Struct({ key: Schema.String, value: AnyValue }))

const SpanJson = Schema.Struct({
  traceId: Schema.String,
  spanId: Schema.String,
  parentSpanId: Schema.optional(Schema.String),
  name: Schema.String,
  kind: Schema.optional(Schema.Number),
  startTimeUnixNano: Int64,
  endTimeUnixNano: Int64,
  attributes: Schema.optional(KeyValues),
  status: Schema.optional(Schema.Struct({ code: Schema.optional(Schema.Number), message: Schema.optional(Schema.String) }))
})

const ExportRequest = Schema.Struct({
  resourceSpans: Schema.Array(Schema.Struct({
    resource: Schema.optional(Schema.Struct({ attributes: Schema.optional(KeyValues) })),
    scopeSpans: Schema.Array(Schema.Struct({ spans: Schema.optional(Schema.Array(SpanJson)) }))
  }))
})
const decodeExport = Schema.decodeUnknownEither(Schema.parseJson(ExportRequest))

/** One exported span, decoded. */
export interface Span {
  readonly traceId: string
  readonly spanId: string
  /** Empty for a root span. */
  readonly parentSpanId: string
  readonly name: string
  readonly kind: "internal" | "server" | "client" | "producer" | "consumer" | "unspecified"
  readonly startMillis: number
  readonly durationMillis: number
  readonly attributes: Readonly<Record<string, unknown>>
  readonly resource: Readonly<Record<string, unknown>>
  readonly error: string | undefined
}

const kinds = ["unspecified", "internal", "server", "client", "producer", "consumer"] as const

const valueOf = (value: AnyValue): unknown =>
  value.stringValue ?? value.boolValue ?? value.intValue ?? value.doubleValue ??
    (value.arrayValue === undefined ? undefined : (value.arrayValue.values ?? []).map(valueOf))

const record = (pairs: ReadonlyArray<{ readonly key: string; readonly value: AnyValue }> | undefined) =>
  Object.fromEntries((pairs ?? []).map(({ key, value }) => [key, valueOf(value)]))

/** A running preview receiver. */
export interface Preview {
  /** The traces URL to export to. */
  readonly url: string
  /** The spans received so far. */
  readonly spans: Effect.Effect<ReadonlyArray<Span>>
}

/** Starts a receiver on 127.0.0.1 (a free port) for the lifetime of the scope. */
export const start: Effect.Effect<Preview, HttpServerError.ServeError, Scope.Scope> = Effect.gen(function*() {
  const spans: Array<Span> = []
  const receive = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* Effect.orElseSucceed(request.text, () => "")
    const decoded = decodeExport(body)
    if (Either.isLeft(decoded)) {
      // say what was wrong, as a collector would; the exporter logs it
      return HttpServerResponse.unsafeJson({ error: ParseResult.TreeFormatter.formatErrorSync(decoded.left) }, { status: 400 })
    }
    for (const resourceSpans of decoded.right.resourceSpans) {
      const resource = record(resourceSpans.resource?.attributes)
      for (const scopeSpans of resourceSpans.scopeSpans) {
        for (const span of scopeSpans.spans ?? []) {
          spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? "",
            name: span.name,
            kind: kinds[span.kind ?? 0] ?? "unspecified",
            startMillis: span.startTimeUnixNano / 1e6,
            durationMillis: (span.endTimeUnixNano - span.startTimeUnixNano) / 1e6,
            attributes: record(span.attributes),
            resource,
            error: span.status?.code === 2 ? span.status.message ?? "error" : undefined
          })
        }
      }
    }
    return HttpServerResponse.unsafeJson({})
  })
  const router = HttpRouter.empty.pipe(HttpRouter.post("/v1/traces", receive))
  const context = yield* Layer.build(
    HttpServer.serve(router).pipe(
      Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
    )
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  const port = address._tag === "TcpAddress" ? address.port : 0
  return { url: `http://127.0.0.1:${port}/v1/traces`, spans: Effect.sync(() => [...spans]) }
})
