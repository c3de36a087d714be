/**
 * Credentials in a telemetry destination's URL (a password, a key in the query) never show: not
 * in `Telemetry`'s destinations and `stats`, not in what the telemetry example prints.
 */
import { Telemetry } from "@effect-dspy/telemetry"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const secrets = ["hunter2hunter2", "querysecret123"]

/** An OTLP receiver that accepts everything, for the scope; its base URL with credentials in it. */
const receiver = Effect.acquireRelease(
  Effect.async<Http.Server>((resume) => {
    const server = Http.createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
).pipe(Effect.map((server) => `http://ada:hunter2hunter2@127.0.0.1:${(server.address() as AddressInfo).port}`))

describe("telemetry redaction", () => {
  it.scoped("Telemetry's destinations and stats show the URL without its credentials", () =>
    Effect.gen(function*() {
      const base = yield* receiver
      const telemetry = yield* Effect.provide(
        Telemetry.Telemetry,
        Telemetry.layerOtlp({ url: `${base}/v1/traces?api_key=querysecret123`, protocol: "http/json" })
      )
      const shown = JSON.stringify({ destinations: telemetry.destinations, stats: yield* telemetry.stats })
      assert.include(shown, "127.0.0.1")
      for (const secret of secrets) assert.notInclude(shown, secret)
    }))

  it.live("the telemetry example prints its destination without the credentials", () =>
    Effect.gen(function*() {
      const base = yield* receiver
      const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "" }
      env["OTEL_EXPORTER_OTLP_ENDPOINT"] = `${base}?api_key=querysecret123`
      env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json"
      const { stderr, stdout } = yield* Effect.promise(() =>
        promisify(execFile)(process.execPath, ["--import", "tsx", "examples/telemetry/main.ts"], { cwd: root, env, timeout: 120_000 })
      )
      assert.match(stdout, /Exporting spans to otlp \(http:\/\/\[REDACTED\]@127\.0\.0\.1:\d+/)
      for (const secret of secrets) assert.notInclude(stdout + stderr, secret)
    }).pipe(Effect.scoped), 120_000)
})
