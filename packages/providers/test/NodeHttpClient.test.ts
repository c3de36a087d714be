/**
 * The lean `node:http` HttpClient: bodies of every kind sent, bodies read once with the same text on
 * every read, streamed bodies in order, statuses returned as they are, interruption and a closed
 * request scope aborting the request, transport failures as `RequestError`s, https. A raw loopback
 * server, because it must observe the socket.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import * as NodeHttpClient from "../src/internal/nodeHttpClient.js"

interface Stub {
  readonly url: string
  /** Resolves when a client closed a held request before its reply ended. */
  readonly clientClosed: Promise<void>
  /** Resolves when a request to /hold or /silent arrived. */
  readonly held: Promise<void>
  /** Resolves when every connection the server accepted has closed. */
  readonly connectionsClosed: () => Promise<void>
}

// /hold: headers and a partial body, never ended. /silent: no reply at all. /chunks: five
// writes, each after the previous one was flushed. /status/N: that status. Else: echoes the
// method, the content type and the body.
const handler = (onClosed: () => void, onHeld: () => void): Http.RequestListener => (req, res) => {
  const chunks: Array<Buffer> = []
  req.on("data", (data: Buffer) => chunks.push(data))
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString()
    const url = req.url ?? ""
    if (url === "/hold" || url === "/silent") {
      res.on("close", () => {
        if (!res.writableEnded) onClosed()
      })
      onHeld()
      if (url === "/hold") {
        res.writeHead(200, { "content-type": "text/plain" })
        res.write("partial")
      }
      return
    }
    if (url === "/bom") {
      res.writeHead(200, { "content-type": "application/json" })
      return res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ a: 1 }))]))
    }
    if (url === "/auth") {
      res.writeHead(200, { "content-type": "text/plain" })
      return res.end(req.headers.authorization ?? "none")
    }
    if (url === "/switch") {
      // a 101 the client did not ask for: node:http closes the request with neither response nor error
      req.socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: other\r\n\r\n")
      return
    }
    if (url === "/chunks") {
      res.writeHead(200, { "content-type": "text/event-stream" })
      const next = (i: number) => {
        if (i === 5) return res.end()
        res.write(`data: ${i}\n\n`, () => setImmediate(() => next(i + 1)))
      }
      return next(0)
    }
    const status = url.startsWith("/status/") ? Number(url.slice("/status/".length)) : 201
    res.writeHead(status, {
      "content-type": "application/json",
      "x-echo": req.method ?? "",
      "set-cookie": ["a=1; Path=/", "b=2; Path=/"]
    })
    res.end(JSON.stringify({ got: body, type: req.headers["content-type"] ?? null }))
  })
}

const listen = (
  make: (listener: Http.RequestListener) => Http.Server,
  scheme: string
) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly stub: Stub }>((resume) => {
      let onClosed: () => void = () => {}
      const clientClosed = new Promise<void>((resolve) => {
        onClosed = resolve
      })
      let onHeld: () => void = () => {}
      const held = new Promise<void>((resolve) => {
        onHeld = resolve
      })
      const sockets = new Set<import("node:net").Socket>()
      const server = make(handler(onClosed, onHeld))
      server.on("connection", (socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.on("secureConnection", (socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      const connectionsClosed = () =>
        Promise.all([...sockets].map((socket) => new Promise<void>((resolve) => socket.once("close", () => resolve()))))
          .then(() => undefined)
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, stub: { url: `${scheme}://127.0.0.1:${port}`, clientClosed, held, connectionsClosed } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ stub }) => stub))

const stubServer = listen((listener) => Http.createServer(listener), "http")

const echoed = (text: string) => JSON.parse(text) as { readonly got: string; readonly type: string | null }

describe("node:http HttpClient", () => {
  it.live("reads a body once: text twice is the same text, json parses it, status, headers and cookies are the server's", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.bodyText(HttpClientRequest.post(`${stub.url}/echo`), "hello"))
      assert.strictEqual(response.status, 201)
      assert.strictEqual(response.headers["x-echo"], "POST")
      assert.deepStrictEqual(Object.keys(response.cookies.cookies).sort(), ["a", "b"])
      const first = yield* response.text
      const second = yield* response.text
      assert.deepStrictEqual(echoed(first), { got: "hello", type: "text/plain" })
      assert.strictEqual(second, first)
      assert.deepStrictEqual(yield* response.json, { got: "hello", type: "text/plain" })
      assert.strictEqual(new TextDecoder().decode(yield* response.arrayBuffer), first)
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("two concurrent reads of one body get the same text", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.post(`${stub.url}/echo`))
      const [a, b] = yield* Effect.all([response.text, response.text], { concurrency: 2 })
      assert.strictEqual(a, b)
      assert.deepStrictEqual(echoed(a), { got: "", type: null })
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("drops a UTF-8 byte order mark before decoding; a body read as a stream cannot be read whole after", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const withBom = yield* client.execute(HttpClientRequest.get(`${stub.url}/bom`))
      assert.deepStrictEqual(yield* withBom.json, { a: 1 })
      const streamed = yield* client.execute(HttpClientRequest.get(`${stub.url}/chunks`))
      const chunks = yield* Stream.runCollect(streamed.stream)
      assert.isAbove(Chunk.size(chunks), 0)
      const again = yield* Effect.flip(streamed.text)
      assert.strictEqual(again.reason, "Decode")
      assert.include(String(again.cause), "already read as a stream")
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("a request closed with neither response nor error fails (Transport); URL credentials go as Basic auth", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const switched = yield* Effect.flip(client.execute(HttpClientRequest.get(`${stub.url}/switch`)))
      assert.strictEqual(switched._tag, "RequestError")
      assert.strictEqual(switched.reason, "Transport")
      assert.include(String(switched.cause), "closed before a response")
      const url = new URL(`${stub.url}/auth`)
      url.username = "user"
      url.password = "p@ss"
      const auth = yield* client.execute(HttpClientRequest.get(url.toString()))
      assert.strictEqual(yield* auth.text, `Basic ${Buffer.from("user:p@ss").toString("base64")}`)
      const streamed = yield* client.execute(
        HttpClientRequest.post(url.toString()).pipe(HttpClientRequest.bodyStream(Stream.make(new TextEncoder().encode("x"))))
      )
      assert.strictEqual(yield* streamed.text, `Basic ${Buffer.from("user:p@ss").toString("base64")}`)
      const malformed = yield* Effect.flip(client.execute(HttpClientRequest.get(`${stub.url.replace("http://", "http://a%ZZ:p@")}/auth`)))
      assert.strictEqual(malformed.reason, "Encode")
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("returns a non-2xx status as a response, not an error", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.get(`${stub.url}/status/503`))
      assert.strictEqual(response.status, 503)
      assert.deepStrictEqual(yield* response.json, { got: "", type: null })
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("sends bytes, a stream and form data as bodies", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const send = (request: HttpClientRequest.HttpClientRequest) => Effect.flatMap(client.execute(request), (r) => r.text)
      const bytes = echoed(
        yield* send(HttpClientRequest.bodyUint8Array(HttpClientRequest.put(`${stub.url}/echo`), new TextEncoder().encode("bytes")))
      )
      assert.deepStrictEqual(bytes, { got: "bytes", type: "application/octet-stream" })
      const streamed = echoed(
        yield* send(
          HttpClientRequest.post(`${stub.url}/echo`).pipe(
            HttpClientRequest.setBody(HttpBody.stream(Stream.make("a", "b", "c").pipe(Stream.encodeText), "text/plain"))
          )
        )
      )
      assert.deepStrictEqual(streamed, { got: "abc", type: "text/plain" })
      const form = new FormData()
      form.append("field", "value")
      const formed = echoed(yield* send(HttpClientRequest.bodyFormData(HttpClientRequest.post(`${stub.url}/echo`), form)))
      assert.include(formed.got, "name=\"field\"")
      assert.include(formed.got, "value")
      assert.match(formed.type ?? "", /^multipart\/form-data; boundary=/)
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("a raw body that is neither a string nor bytes fails as an Encode RequestError", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const error = yield* client.execute(
        HttpClientRequest.post(`${stub.url}/echo`).pipe(HttpClientRequest.setBody(HttpBody.raw({ not: "bytes" })))
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "RequestError")
      assert(error._tag === "RequestError" && error.reason === "Encode")
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("streams a body: its chunks in order", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.get(`${stub.url}/chunks`))
      const chunks = yield* Stream.runCollect(Stream.decodeText(response.stream))
      assert.strictEqual(Chunk.join(chunks, ""), [0, 1, 2, 3, 4].map((i) => `data: ${i}\n\n`).join(""))
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("interrupting a read of a pending body aborts the request", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.get(`${stub.url}/hold`))
      assert.strictEqual(response.status, 200)
      const reading = yield* Effect.fork(response.text)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(reading)
      yield* Effect.promise(() => stub.clientClosed)
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("interrupting a request waiting for its response aborts it", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const sending = yield* Effect.fork(client.execute(HttpClientRequest.get(`${stub.url}/silent`)))
      yield* Effect.promise(() => stub.held)
      yield* Fiber.interrupt(sending)
      yield* Effect.promise(() => stub.clientClosed)
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("closing a request's scope ends a pending stream read with an error and closes the request", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const client = HttpClient.withScope(yield* HttpClient.HttpClient)
      const scope = yield* Scope.make()
      const response = yield* Scope.extend(client.execute(HttpClientRequest.get(`${stub.url}/hold`)), scope)
      // The first chunk is read; the next read waits on the socket until the scope closes.
      const reading = yield* Effect.fork(Stream.runCollect(response.stream))
      yield* Effect.yieldNow()
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.await(reading)
      assert(Exit.isFailure(exit), "the stream ends with an error")
      yield* Effect.promise(() => stub.clientClosed)
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("an unread response is aborted once collected: the exchange does not keep it alive", () =>
    Effect.gen(function*() {
      // Platform's client aborts a response nobody reads once it is garbage-collected; our
      // signal listener must not hold the response, or it never is (and its socket stays taken).
      V8.setFlagsFromString("--expose-gc")
      const gc = Vm.runInNewContext("gc") as () => void
      const stub = yield* stubServer
      const client = yield* HttpClient.HttpClient
      yield* Effect.suspend(() =>
        Effect.map(client.execute(HttpClientRequest.get(`${stub.url}/hold`)), (response) => response.status)
      )
      let closed = false
      void stub.clientClosed.then(() => {
        closed = true
      })
      for (let turn = 0; turn < 200 && !closed; turn++) {
        gc()
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      }
      assert.isTrue(closed, "the held request was aborted after its response was collected")
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("a refused connection is a Transport RequestError", () =>
    Effect.gen(function*() {
      // A port that was just free: listen, note it, close.
      const port = yield* Effect.async<number>((resume) => {
        const server = Http.createServer()
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          server.close(() => resume(Effect.succeed(port)))
        })
      })
      const client = yield* HttpClient.HttpClient
      const error = yield* client.execute(HttpClientRequest.get(`http://127.0.0.1:${port}/`)).pipe(Effect.flip)
      assert(error._tag === "RequestError" && error.reason === "Transport")
      assert.strictEqual((error.cause as NodeJS.ErrnoException).code, "ECONNREFUSED")
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.scoped))

  it.live("closing the layer's scope closes its kept-alive connections", () =>
    Effect.gen(function*() {
      const stub = yield* stubServer
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(NodeHttpClient.layer, scope)
      const client = context.unsafeMap.get(HttpClient.HttpClient.key) as HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.get(`${stub.url}/echo`))
      yield* response.text
      const closed = stub.connectionsClosed()
      yield* Scope.close(scope, Exit.void)
      yield* Effect.promise(() => closed)
    }).pipe(Effect.scoped))

  it.live.skipIf(!hasOpenssl())("speaks https", () =>
    Effect.gen(function*() {
      const { cert, key } = selfSigned()
      const stub = yield* listen((listener) => Https.createServer({ cert, key }, listener), "https")
      const agents = yield* NodeHttpClient.makeAgents
      const trusting = { http: agents.http, https: new Https.Agent({ keepAlive: true, ca: cert }) }
      yield* Effect.addFinalizer(() => Effect.sync(() => trusting.https.destroy()))
      const client = NodeHttpClient.make(trusting)
      const response = yield* client.execute(HttpClientRequest.bodyText(HttpClientRequest.post(`${stub.url}/echo`), "secret"))
      assert.strictEqual(response.status, 201)
      assert.deepStrictEqual(echoed(yield* response.text), { got: "secret", type: "text/plain" })
      // Without the certificate trusted, the handshake fails as a Transport error.
      const untrusted = yield* NodeHttpClient.make(agents).execute(HttpClientRequest.get(`${stub.url}/echo`)).pipe(Effect.flip)
      assert(untrusted._tag === "RequestError" && untrusted.reason === "Transport")
    }).pipe(Effect.scoped))
})

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

// A throwaway self-signed certificate for 127.0.0.1.
function selfSigned(): { readonly cert: string; readonly key: string } {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "node-http-client-"))
  try {
    const key = Path.join(dir, "key.pem")
    const cert = Path.join(dir, "cert.pem")
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"
    ], { stdio: "ignore" })
    return { cert: Fs.readFileSync(cert, "utf8"), key: Fs.readFileSync(key, "utf8") }
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}
