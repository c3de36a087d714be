import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import { SimulatorConfig } from "../src/index.js"

describe("SimulatorConfig", () => {
  it("parses latency specs", () => {
    assert.deepStrictEqual(SimulatorConfig.parseLatency("250"), Option.some({ _tag: "Fixed", millis: 250 }))
    assert.deepStrictEqual(SimulatorConfig.parseLatency("fixed:10"), Option.some({ _tag: "Fixed", millis: 10 }))
    assert.deepStrictEqual(
      SimulatorConfig.parseLatency("uniform:50-300"),
      Option.some({ _tag: "Uniform", minMillis: 50, maxMillis: 300 })
    )
    assert.deepStrictEqual(
      SimulatorConfig.parseLatency("lognormal:400,0.6"),
      Option.some({ _tag: "LogNormal", medianMillis: 400, sigma: 0.6 })
    )
    assert.isTrue(Option.isNone(SimulatorConfig.parseLatency("uniform:300-50")))
    assert.isTrue(Option.isNone(SimulatorConfig.parseLatency("gaussian:1")))
  })

  it("fills in defaults and clamps fractions", () => {
    const r = SimulatorConfig.resolve({ faults: { rateLimit: 2, serverError: -1 }, tokensPerSecond: 0 })
    assert.strictEqual(r.faults.rateLimit, 1)
    assert.strictEqual(r.faults.serverError, 0)
    assert.strictEqual(r.tokensPerSecond, undefined)
    assert.strictEqual(r.model, "sim-1")
    assert.deepStrictEqual(r.latency, { _tag: "Fixed", millis: 0 })
    assert.strictEqual(r.latencySampling, "sequence")
  })

  it.effect("reads options from configuration", () =>
    Effect.gen(function*() {
      const options = yield* SimulatorConfig.config.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([
            ["SIM_PORT", "8787"],
            ["SIM_LATENCY", "uniform:1-5"],
            ["SIM_LATENCY_SAMPLING", "request"],
            ["SIM_FAULT_RATE_LIMIT", "0.1"],
            ["SIM_MAX_CONCURRENT", "8"],
            ["SIM_API_KEY", "sk-x"]
          ])
        ))
      )
      assert.deepStrictEqual(options, {
        port: 8787,
        latency: { _tag: "Uniform", minMillis: 1, maxMillis: 5 },
        latencySampling: "request",
        faults: { rateLimit: 0.1 },
        limits: { maxConcurrent: 8 },
        apiKey: "sk-x"
      })
    }))

  it.effect("reads the realistic profile, a single fault over it, and drift", () =>
    Effect.gen(function*() {
      const options = yield* SimulatorConfig.config.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([["SIM_FAULTS", "realistic"], ["SIM_FAULT_TRUNCATE", "0.5"], ["SIM_DRIFT", "0.2"]])
        ))
      )
      assert.deepStrictEqual(options, {
        faults: { ...SimulatorConfig.realistic, truncate: 0.5 },
        drift: 0.2,
        limits: {}
      })
      const bad = yield* Effect.either(SimulatorConfig.config.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SIM_FAULTS", "chaos"]])))
      ))
      assert.isTrue(bad._tag === "Left")
    }))
})
