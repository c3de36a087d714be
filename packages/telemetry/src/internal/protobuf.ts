/**
 * OTLP/protobuf encoding of an export request (`ExportTraceServiceRequest`), field for field
 * what `@opentelemetry/otlp-transformer`'s `ProtobufTraceSerializer` writes, used in its place
 * for `http/protobuf` (the SDK's JSON serializer is kept for `http/json`).
 *
 * Why our own: the SDK's writer copies strings one character at a time, twice (a size-estimation
 * pass, then the write), which made it the largest single cost of tracing a Predict call: a
 * prompt and a reply are kilobytes of text on the spans. This one writes strings and ids with
 * Buffer's native UTF-8 and hex encoders in one pass, and takes each span's deferred content
 * and the secret scrubber as it writes instead of copying every span first.
 */
import type { Attributes, AttributeValue, HrTime, Link, SpanContext } from "@opentelemetry/api"
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base"
import type { Scrubber } from "./redact.js"

/** Extra attributes of a span, written after (and instead of same-named) span attributes. */
export type ExtraAttributes = (span: ReadableSpan) => Readonly<Record<string, string>> | undefined

// Ids are hex: 0-9, a-f (A-F too).
const hexValue = (c: number): number => (c <= 57 ? c - 48 : (c | 0x20) - 87) & 0xf

class Writer {
  buf: Buffer
  pos = 0
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size)
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }
  varint(value: number): void {
    this.ensure(10)
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0
      while (v > 0x7f) {
        this.buf[this.pos++] = (v & 0x7f) | 0x80
        v >>>= 7
      }
      this.buf[this.pos++] = v
      return
    }
    // 64-bit, negative numbers as two's complement (10 bytes), as int64 is encoded.
    let v = BigInt.asUintN(64, BigInt(Math.trunc(value)))
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    this.buf[this.pos++] = Number(v)
  }
  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType)
  }
  string(text: string): void {
    const n = text.length
    if (n < 0x80) {
      // Short ASCII (keys, names, most values) in JS: a call into Buffer's native writer costs
      // more than copying a few dozen characters.
      this.ensure(n + 1)
      const buf = this.buf
      let at = this.pos + 1
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i)
        if (c >= 0x80) {
          at = -1
          break
        }
        buf[at++] = c
      }
      if (at >= 0) {
        buf[this.pos] = n
        this.pos = at
        return
      }
    }
    const length = Buffer.byteLength(text, "utf8")
    this.varint(length)
    this.ensure(length)
    this.pos += this.buf.write(text, this.pos, length, "utf8")
  }
  hex(id: string): void {
    const length = id.length >>> 1
    this.varint(length)
    this.ensure(length)
    const buf = this.buf
    for (let i = 0; i < length; i++) buf[this.pos++] = (hexValue(id.charCodeAt(2 * i)) << 4) | hexValue(id.charCodeAt(2 * i + 1))
  }
  fixed32(value: number): void {
    this.ensure(4)
    this.pos = this.buf.writeUInt32LE(value >>> 0, this.pos)
  }
  double(value: number): void {
    this.ensure(8)
    this.pos = this.buf.writeDoubleLE(value, this.pos)
  }
  /** An HrTime as fixed64 nanoseconds (exact, without BigInt). */
  time(time: HrTime): void {
    const [seconds, nanos] = time
    const lowSeconds = seconds & 0xffff
    const highSeconds = (seconds / 0x10000) >>> 0
    const fromLow = lowSeconds * 1e9
    const fromHigh = highSeconds * 1e9
    const low = (fromLow >>> 0) + (((fromHigh & 0xffff) * 0x10000) >>> 0) + nanos
    const high = Math.floor(fromLow / 0x100000000) + ((fromHigh / 0x10000) >>> 0) + Math.floor(low / 0x100000000)
    this.ensure(8)
    this.buf.writeUInt32LE(low >>> 0, this.pos)
    this.buf.writeUInt32LE(high >>> 0, this.pos + 4)
    this.pos += 8
  }
  /** Starts a length-delimited field; one byte is reserved for the length. */
  begin(field: number): number {
    this.tag(field, 2)
    this.ensure(1)
    return this.pos++
  }
  /** Ends it: writes the length, moving the content when it needs more than one byte. */
  end(start: number): void {
    const length = this.pos - start - 1
    if (length < 0x80) {
      this.buf[start] = length
      return
    }
    let size = 1
    for (let v = length; v > 0x7f; v >>>= 7) size++
    this.ensure(size - 1)
    this.buf.copyWithin(start + size, start + 1, this.pos)
    this.pos += size - 1
    let v = length
    let at = start
    while (v > 0x7f) {
      this.buf[at++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.buf[at] = v
  }
}

const maxInt64 = 2 ** 63

const writeAnyValue = (w: Writer, value: unknown, scrub: Scrubber | undefined): void => {
  switch (typeof value) {
    case "string":
      w.tag(1, 2)
      w.string(scrub === undefined ? value : scrub.apply(value))
      return
    case "boolean":
      w.tag(2, 0)
      w.varint(value ? 1 : 0)
      return
    case "number":
      if (Number.isInteger(value) && value >= -maxInt64 && value < maxInt64) {
        w.tag(3, 0)
        w.varint(value)
      } else {
        w.tag(4, 1)
        w.double(value)
      }
      return
  }
  if (value instanceof Uint8Array) {
    w.tag(7, 2)
    w.varint(value.length)
    w.ensure(value.length)
    w.buf.set(value, w.pos)
    w.pos += value.length
  } else if (Array.isArray(value)) {
    const array = w.begin(5)
    for (const item of value) {
      const at = w.begin(1)
      writeAnyValue(w, item, scrub)
      w.end(at)
    }
    w.end(array)
  } else if (typeof value === "object" && value !== null) {
    const list = w.begin(6)
    for (const [key, item] of Object.entries(value)) writeKeyValue(w, 1, key, item, scrub)
    w.end(list)
  }
}

const writeKeyValue = (w: Writer, field: number, key: string, value: unknown, scrub: Scrubber | undefined): void => {
  const kv = w.begin(field)
  w.tag(1, 2)
  w.string(key)
  const any = w.begin(2)
  writeAnyValue(w, value, scrub)
  w.end(any)
  w.end(kv)
}

const writeAttributes = (
  w: Writer,
  field: number,
  attributes: Attributes | undefined,
  extra: Readonly<Record<string, string>> | undefined,
  scrub: Scrubber | undefined
): void => {
  if (attributes !== undefined) {
    for (const key in attributes) {
      if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue
      if (extra !== undefined && Object.prototype.hasOwnProperty.call(extra, key)) continue
      writeKeyValue(w, field, key, attributes[key] satisfies AttributeValue | undefined, scrub)
    }
  }
  if (extra !== undefined) for (const key in extra) writeKeyValue(w, field, key, extra[key], scrub)
}

const hasIsRemote = 0x100
const isRemoteFlag = 0x200

const spanFlags = (traceFlags: number, isRemote: boolean | undefined): number =>
  (traceFlags & 0xff) | hasIsRemote | (isRemote === true ? isRemoteFlag : 0)

const text = (value: string, scrub: Scrubber | undefined) => (scrub === undefined ? value : scrub.apply(value))

const writeEvent = (w: Writer, event: TimedEvent, scrub: Scrubber | undefined): void => {
  const at = w.begin(11)
  w.tag(1, 1)
  w.time(event.time)
  w.tag(2, 2)
  w.string(text(event.name, scrub))
  writeAttributes(w, 3, event.attributes, undefined, scrub)
  w.tag(4, 0)
  w.varint(event.droppedAttributesCount ?? 0)
  w.end(at)
}

/** Fields 1-3 of a span and of a link: trace id, span id, trace state. */
const writeIds = (w: Writer, context: SpanContext): void => {
  w.tag(1, 2)
  w.hex(context.traceId)
  w.tag(2, 2)
  w.hex(context.spanId)
  const traceState = context.traceState?.serialize()
  if (traceState) {
    w.tag(3, 2)
    w.string(traceState)
  }
}

const writeLink = (w: Writer, link: Link, scrub: Scrubber | undefined): void => {
  const at = w.begin(13)
  const context = link.context
  writeIds(w, context)
  writeAttributes(w, 4, link.attributes, undefined, scrub)
  w.tag(5, 0)
  w.varint(link.droppedAttributesCount ?? 0)
  w.tag(6, 5)
  w.fixed32(spanFlags(context.traceFlags, context.isRemote))
  w.end(at)
}

const writeSpan = (w: Writer, span: ReadableSpan, extra: ExtraAttributes | undefined, scrub: Scrubber | undefined): void => {
  const at = w.begin(2)
  const context = span.spanContext()
  writeIds(w, context)
  const parentId = span.parentSpanContext?.spanId
  if (parentId) {
    w.tag(4, 2)
    w.hex(parentId)
  }
  w.tag(5, 2)
  w.string(text(span.name, scrub))
  const kind = span.kind == null ? 0 : span.kind + 1
  if (kind !== 0) {
    w.tag(6, 0)
    w.varint(kind)
  }
  w.tag(7, 1)
  w.time(span.startTime)
  w.tag(8, 1)
  w.time(span.endTime)
  writeAttributes(w, 9, span.attributes, extra?.(span), scrub)
  w.tag(10, 0)
  w.varint(span.droppedAttributesCount)
  for (const event of span.events) writeEvent(w, event, scrub)
  w.tag(12, 0)
  w.varint(span.droppedEventsCount)
  for (const link of span.links) writeLink(w, link, scrub)
  w.tag(14, 0)
  w.varint(span.droppedLinksCount)
  const status = w.begin(15)
  if (span.status.message) {
    w.tag(2, 2)
    w.string(text(span.status.message, scrub))
  }
  w.tag(3, 0)
  w.varint(span.status.code)
  w.end(status)
  w.tag(16, 5)
  w.fixed32(spanFlags(context.traceFlags, span.parentSpanContext?.isRemote))
  w.end(at)
}

/** An export request's bytes; spans grouped by resource, then by instrumentation scope. */
export const encodeSpans = (
  spans: ReadonlyArray<ReadableSpan>,
  extra: ExtraAttributes | undefined,
  scrub: Scrubber | undefined,
  sizeHint = 65536
): Uint8Array => {
  const byResource = new Map<ReadableSpan["resource"], Map<ReadableSpan["instrumentationScope"], Array<ReadableSpan>>>()
  for (const span of spans) {
    let byScope = byResource.get(span.resource)
    if (byScope === undefined) byResource.set(span.resource, byScope = new Map())
    let list = byScope.get(span.instrumentationScope)
    if (list === undefined) byScope.set(span.instrumentationScope, list = [])
    list.push(span)
  }
  const w = new Writer(Math.max(1024, sizeHint))
  for (const [resource, byScope] of byResource) {
    const resourceSpans = w.begin(1)
    const res = w.begin(1)
    writeAttributes(w, 1, resource.attributes, undefined, undefined)
    w.tag(2, 0)
    w.varint(0)
    w.end(res)
    for (const [scope, list] of byScope) {
      const scopeSpans = w.begin(2)
      const sc = w.begin(1)
      w.tag(1, 2)
      w.string(scope.name)
      if (scope.version) {
        w.tag(2, 2)
        w.string(scope.version)
      }
      w.end(sc)
      for (const span of list) writeSpan(w, span, extra, scrub)
      if (scope.schemaUrl) {
        w.tag(3, 2)
        w.string(scope.schemaUrl)
      }
      w.end(scopeSpans)
    }
    if (resource.schemaUrl) {
      w.tag(3, 2)
      w.string(resource.schemaUrl)
    }
    w.end(resourceSpans)
  }
  return w.buf.subarray(0, w.pos)
}
