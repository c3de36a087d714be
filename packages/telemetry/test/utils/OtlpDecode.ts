/**
 * A minimal decoder of OTLP export requests, from the field numbers of the official
 * opentelemetry-proto definitions (wire format read by hand, only the fields the tests
 * assert): traces in protobuf and JSON into one shape, metrics in protobuf.
 */

export interface DecodedSpan {
  readonly traceId: string
  readonly spanId: string
  /** Empty for a root span. */
  readonly parentSpanId: string
  readonly name: string
  readonly kind: number
  readonly attributes: Record<string, unknown>
  readonly status: { readonly code: number; readonly message: string }
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, unknown> }>
  readonly scope: string
  readonly resource: Record<string, unknown>
}

class Reader {
  pos = 0
  constructor(readonly buf: Uint8Array) {}
  done() {
    return this.pos >= this.buf.length
  }
  varint(): bigint {
    let result = 0n
    let shift = 0n
    for (;;) {
      const byte = this.buf[this.pos++]!
      result |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return result
      shift += 7n
    }
  }
  bytes(): Uint8Array {
    const length = Number(this.varint())
    const out = this.buf.subarray(this.pos, this.pos + length)
    this.pos += length
    return out
  }
  fixed64(): bigint {
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8)
    this.pos += 8
    return view.getBigUint64(0, true)
  }
  double(): number {
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8)
    this.pos += 8
    return view.getFloat64(0, true)
  }
  skip(wireType: number) {
    if (wireType === 0) this.varint()
    else if (wireType === 1) this.pos += 8
    else if (wireType === 2) this.bytes()
    else if (wireType === 5) this.pos += 4
    else throw new Error(`unsupported wire type ${wireType}`)
  }
}

const fields = (buf: Uint8Array, onField: (field: number, wireType: number, reader: Reader) => void) => {
  const reader = new Reader(buf)
  while (!reader.done()) {
    const key = Number(reader.varint())
    const before = reader.pos
    onField(key >> 3, key & 7, reader)
    if (reader.pos === before) reader.skip(key & 7)
  }
}

const utf8 = new TextDecoder()
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const anyValue = (buf: Uint8Array): unknown => {
  let value: unknown = undefined
  fields(buf, (field, _wire, r) => {
    if (field === 1) value = utf8.decode(r.bytes())
    else if (field === 2) value = r.varint() !== 0n
    else if (field === 3) value = Number(BigInt.asIntN(64, r.varint()))
    else if (field === 4) value = r.double()
    else if (field === 5) {
      const values: Array<unknown> = []
      fields(r.bytes(), (f, _w, rr) => {
        if (f === 1) values.push(anyValue(rr.bytes()))
      })
      value = values
    } else if (field === 6) {
      const kv: Record<string, unknown> = {}
      fields(r.bytes(), (f, _w, rr) => {
        if (f === 1) keyValue(rr.bytes(), kv)
      })
      value = kv
    } else if (field === 7) value = r.bytes()
  })
  return value
}

const keyValue = (buf: Uint8Array, into: Record<string, unknown>) => {
  let key = ""
  let value: unknown = undefined
  fields(buf, (field, _wire, r) => {
    if (field === 1) key = utf8.decode(r.bytes())
    else if (field === 2) value = anyValue(r.bytes())
  })
  into[key] = value
}

const span = (buf: Uint8Array, scope: string, resource: Record<string, unknown>): DecodedSpan => {
  let traceId = ""
  let spanId = ""
  let parentSpanId = ""
  let name = ""
  let kind = 0
  const attributes: Record<string, unknown> = {}
  let status = { code: 0, message: "" }
  const events: Array<{ name: string; attributes: Record<string, unknown> }> = []
  fields(buf, (field, _wire, r) => {
    switch (field) {
      case 1:
        traceId = hex(r.bytes())
        break
      case 2:
        spanId = hex(r.bytes())
        break
      case 4:
        parentSpanId = hex(r.bytes())
        break
      case 5:
        name = utf8.decode(r.bytes())
        break
      case 6:
        kind = Number(r.varint())
        break
      case 9:
        keyValue(r.bytes(), attributes)
        break
      case 11: {
        const event = { name: "", attributes: {} as Record<string, unknown> }
        fields(r.bytes(), (f, _w, rr) => {
          if (f === 2) event.name = utf8.decode(rr.bytes())
          else if (f === 3) keyValue(rr.bytes(), event.attributes)
        })
        events.push(event)
        break
      }
      case 15: {
        const s = { code: 0, message: "" }
        fields(r.bytes(), (f, _w, rr) => {
          if (f === 2) s.message = utf8.decode(rr.bytes())
          else if (f === 3) s.code = Number(rr.varint())
        })
        status = s
        break
      }
    }
  })
  return { traceId, spanId, parentSpanId, name, kind, attributes, status, events, scope, resource }
}

/** Decodes a protobuf `ExportTraceServiceRequest`. */
export const decodeProtobuf = (body: Uint8Array): Array<DecodedSpan> => {
  const spans: Array<DecodedSpan> = []
  fields(body, (field, _wire, r) => {
    if (field !== 1) return
    const resource: Record<string, unknown> = {}
    const scopeSpans: Array<Uint8Array> = []
    fields(r.bytes(), (f, _w, rr) => {
      if (f === 1) {
        fields(rr.bytes(), (ff, _ww, rrr) => {
          if (ff === 1) keyValue(rrr.bytes(), resource)
        })
      } else if (f === 2) scopeSpans.push(rr.bytes())
    })
    for (const ss of scopeSpans) {
      let scope = ""
      const raw: Array<Uint8Array> = []
      fields(ss, (f, _w, rr) => {
        if (f === 1) {
          fields(rr.bytes(), (ff, _ww, rrr) => {
            if (ff === 1) scope = utf8.decode(rrr.bytes())
          })
        } else if (f === 2) raw.push(rr.bytes())
      })
      for (const s of raw) spans.push(span(s, scope, resource))
    }
  })
  return spans
}

interface JsonAnyValue {
  readonly stringValue?: string
  readonly boolValue?: boolean
  readonly intValue?: number | string
  readonly doubleValue?: number
  readonly arrayValue?: { readonly values?: ReadonlyArray<JsonAnyValue> }
}
interface JsonKeyValue {
  readonly key: string
  readonly value: JsonAnyValue
}

const jsonValue = (v: JsonAnyValue): unknown => {
  if (v.stringValue !== undefined) return v.stringValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsonValue)
  return undefined
}

const jsonAttributes = (kvs: ReadonlyArray<JsonKeyValue> | undefined): Record<string, unknown> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, jsonValue(kv.value)]))

interface JsonRequest {
  readonly resourceSpans?: ReadonlyArray<{
    readonly resource?: { readonly attributes?: ReadonlyArray<JsonKeyValue> }
    readonly scopeSpans?: ReadonlyArray<{
      readonly scope?: { readonly name?: string }
      readonly spans?: ReadonlyArray<{
        readonly traceId: string
        readonly spanId: string
        readonly parentSpanId?: string
        readonly name: string
        readonly kind: number
        readonly attributes?: ReadonlyArray<JsonKeyValue>
        readonly status?: { readonly code?: number; readonly message?: string }
        readonly events?: ReadonlyArray<{ readonly name: string; readonly attributes?: ReadonlyArray<JsonKeyValue> }>
      }>
    }>
  }>
}

/** Decodes a JSON `ExportTraceServiceRequest`. */
export const decodeJson = (body: Uint8Array): Array<DecodedSpan> => {
  const request = JSON.parse(utf8.decode(body)) as JsonRequest
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const resource = jsonAttributes(rs.resource?.attributes)
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s): DecodedSpan => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? "",
        name: s.name,
        kind: s.kind,
        attributes: jsonAttributes(s.attributes),
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? "" },
        events: (s.events ?? []).map((e) => ({ name: e.name, attributes: jsonAttributes(e.attributes) })),
        scope: ss.scope?.name ?? "",
        resource
      }))
    )
  })
}

/** One data point of a metric (histograms: count, sum and buckets; sums and gauges: value). */
export interface DecodedMetric {
  readonly name: string
  readonly unit: string
  readonly kind: "histogram" | "sum" | "gauge" | "other"
  /** 1 delta, 2 cumulative (histograms and sums). */
  readonly temporality: number
  readonly attributes: Record<string, unknown>
  readonly count: number
  readonly sum: number
  readonly value: number
  readonly bounds: ReadonlyArray<number>
  readonly scope: string
  readonly resource: Record<string, unknown>
}

const packedDoubles = (bytes: Uint8Array): Array<number> => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true))
}

const dataPoints = (
  buf: Uint8Array,
  kind: DecodedMetric["kind"],
  base: Pick<DecodedMetric, "name" | "unit" | "scope" | "resource">
): Array<DecodedMetric> => {
  const points: Array<DecodedMetric> = []
  let temporality = 0
  fields(buf, (field, wire, r) => {
    if (field === 2 && wire === 0) temporality = Number(r.varint())
    if (field !== 1) return
    const attributes: Record<string, unknown> = {}
    let count = 0
    let sum = 0
    let value = 0
    let bounds: Array<number> = []
    // HistogramDataPoint: attributes 9, count 4 (fixed64), sum 5, explicit_bounds 7.
    // NumberDataPoint: attributes 7, as_double 4, as_int 6 (sfixed64).
    fields(r.bytes(), (f, w, rr) => {
      if (kind === "histogram") {
        if (f === 9) keyValue(rr.bytes(), attributes)
        else if (f === 4 && w === 1) count = Number(rr.fixed64())
        else if (f === 5 && w === 1) sum = rr.double()
        else if (f === 7 && w === 2) bounds = packedDoubles(rr.bytes())
      } else {
        if (f === 7) keyValue(rr.bytes(), attributes)
        else if (f === 4 && w === 1) value = rr.double()
        else if (f === 6 && w === 1) value = Number(BigInt.asIntN(64, rr.fixed64()))
      }
    })
    points.push({ ...base, kind, temporality: 0, attributes, count, sum, value, bounds })
  })
  return points.map((p) => ({ ...p, temporality }))
}

/** Decodes a protobuf `ExportMetricsServiceRequest` into its data points. */
export const decodeMetrics = (body: Uint8Array): Array<DecodedMetric> => {
  const out: Array<DecodedMetric> = []
  fields(body, (field, _wire, r) => {
    if (field !== 1) return
    const resource: Record<string, unknown> = {}
    const scopes: Array<Uint8Array> = []
    fields(r.bytes(), (f, _w, rr) => {
      if (f === 1) {
        fields(rr.bytes(), (ff, _ww, rrr) => {
          if (ff === 1) keyValue(rrr.bytes(), resource)
        })
      } else if (f === 2) scopes.push(rr.bytes())
    })
    for (const scopeMetrics of scopes) {
      let scope = ""
      const metrics: Array<Uint8Array> = []
      fields(scopeMetrics, (f, _w, rr) => {
        if (f === 1) {
          fields(rr.bytes(), (ff, _ww, rrr) => {
            if (ff === 1) scope = utf8.decode(rrr.bytes())
          })
        } else if (f === 2) metrics.push(rr.bytes())
      })
      for (const metric of metrics) {
        let name = ""
        let unit = ""
        const data: Array<{ readonly kind: DecodedMetric["kind"]; readonly bytes: Uint8Array }> = []
        fields(metric, (f, _w, rr) => {
          if (f === 1) name = utf8.decode(rr.bytes())
          else if (f === 3) unit = utf8.decode(rr.bytes())
          else if (f === 5) data.push({ kind: "gauge", bytes: rr.bytes() })
          else if (f === 7) data.push({ kind: "sum", bytes: rr.bytes() })
          else if (f === 9) data.push({ kind: "histogram", bytes: rr.bytes() })
        })
        for (const { bytes, kind } of data) out.push(...dataPoints(bytes, kind, { name, unit, scope, resource }))
      }
    }
  })
  return out
}
