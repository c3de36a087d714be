import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Either, Exit, Option } from "effect"
import { Simulator, SimulatorConfig } from "../src/index.js"

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

  it("fills in defaults", () => {
    const r = Either.getOrThrow(SimulatorConfig.resolve({ faults: { rateLimit: 0.5 }, apiKey: "" }))
    assert.strictEqual(r.faults.rateLimit, 0.5)
    assert.strictEqual(r.faults.serverError, 0)
    assert.strictEqual(r.faults.retryAfterSeconds, 1)
    assert.strictEqual(r.tokensPerSecond, undefined)
    assert.strictEqual(r.apiKey, undefined)
    assert.strictEqual(r.model, "sim-1")
    assert.deepStrictEqual(r.latency, { _tag: "Fixed", millis: 0 })
    assert.strictEqual(r.latencySampling, "sequence")
  })

  it("refuses options out of their range, naming the option (it clamped them before)", () => {
    const refused = (options: SimulatorConfig.SimulatorOptions) =>
      Either.match(SimulatorConfig.resolve(options), {
        onLeft: (error) => `${error._tag}: ${error.message}`,
        onRight: () => "accepted"
      })
    assert.strictEqual(
      refused({ faults: { rateLimit: 5 } }),
      "SimulatorConfigError: faults.rateLimit must be a fraction between 0 and 1, got 5"
    )
    assert.strictEqual(refused({ faults: { serverError: -0.1 } }), "SimulatorConfigError: faults.serverError must be a fraction between 0 and 1, got -0.1")
    assert.strictEqual(refused({ drift: NaN }), "SimulatorConfigError: drift must be a fraction between 0 and 1, got NaN")
    assert.strictEqual(refused({ tokensPerSecond: 0 }), "SimulatorConfigError: tokensPerSecond must be a finite number above 0, got 0")
    assert.strictEqual(refused({ limits: { maxConcurrent: 0 } }), "SimulatorConfigError: limits.maxConcurrent must be a whole number of at least 1, got 0")
    assert.strictEqual(
      refused({ latency: { _tag: "Uniform", minMillis: 300, maxMillis: 50 } }),
      "SimulatorConfigError: latency.maxMillis must be at least latency.minMillis (300), got 50"
    )
    assert.strictEqual(refused({ latency: { _tag: "Fixed", millis: -1 } }), "SimulatorConfigError: latency.millis must be a finite number of at least 0, got -1")
    assert.strictEqual(refused({ seed: 1.5 }), "SimulatorConfigError: seed must be a whole number, got 1.5")
    // a misspelt fault is not dropped
    assert.include(refused({ faults: { rateLimits: 0.1 } as SimulatorConfig.Faults }), "unknown fault \"rateLimits\"")
    assert.strictEqual(refused({ faults: "realistic", drift: 1, limits: { requestsPerMinute: 60 } }), "accepted")
  })

  it.effect("a simulator made with options out of range dies with the error (the layer's type stays as it was)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Simulator.makeInstance({ faults: { truncate: 2 } }))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      if (Exit.isFailure(exit)) {
        const defect = Cause.squash(exit.cause)
        assert.instanceOf(defect, SimulatorConfig.SimulatorConfigError)
        assert.strictEqual((defect as SimulatorConfig.SimulatorConfigError).option, "faults.truncate")
      }
    }))

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

  it.effect("refuses a variable out of its range, naming the variable", () =>
    Effect.gen(function*() {
      const read = (name: string, value: string) =>
        Effect.flip(SimulatorConfig.config.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([[name, value]])))))
      assert.include(String(yield* read("SIM_FAULT_RATE_LIMIT", "1.5")), "SIM_FAULT_RATE_LIMIT must be a fraction between 0 and 1, got 1.5")
      assert.include(String(yield* read("SIM_MAX_CONCURRENT", "0")), "SIM_MAX_CONCURRENT must be a whole number of at least 1, got 0")
      assert.include(String(yield* read("SIM_PORT", "70000")), "SIM_PORT must be a port number (0 to 65535), got 70000")
      assert.include(String(yield* read("SIM_TOKENS_PER_SECOND", "-3")), "SIM_TOKENS_PER_SECOND must be a finite number above 0, got -3")
    }))
})
