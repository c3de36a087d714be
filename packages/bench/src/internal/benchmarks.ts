/**
 * The benchmarks the suite runs: each is a script of its own (owned by the package it measures)
 * started in a child process, and a parser that reads its figures back. Scripts that write a
 * JSON result (`--json FILE`) are read from it; the others from their printed lines, with
 * patterns loose enough to survive rewording, and the last lines are kept verbatim either way.
 */
import { existsSync, readFileSync } from "node:fs"

/** How to start one benchmark. */
export interface Invocation {
  readonly script: string
  readonly args: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  readonly nodeFlags?: ReadonlyArray<string>
  /** A soft `ulimit -n` to raise first (many sockets). */
  readonly openFiles?: number
}

/** What a benchmark's output says. */
export interface Figures {
  /** One line for the summary table. */
  readonly summary: string
  /** PASS / FAIL when the script states a target, undefined when it has none. */
  readonly target?: "PASS" | "FAIL" | undefined
  readonly figures: Readonly<Record<string, unknown>>
}

export interface Benchmark {
  readonly name: string
  readonly title: string
  /** Long runs (minutes): skipped by `--skip-long`. */
  readonly long?: boolean
  readonly timeoutMinutes: number
  /** `jsonFile`: where a script that can should write its result; `${jsonFile}.md`, if written, is appended to the report. */
  readonly invocation: (options: { readonly quick: boolean; readonly jsonFile: string; readonly updateReadme: boolean }) => Invocation
  readonly parse: (stdout: string, jsonFile: string) => Figures
}

const readJson = (file: string): unknown => (existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as unknown) : undefined)

const num = (s: string | undefined): number => Number(s)

/** The `target: ... -> PASS|FAIL` lines the batch scripts print. */
const targetOf = (stdout: string): "PASS" | "FAIL" | undefined => {
  const verdicts = [...stdout.matchAll(/target:.*?(PASS|FAIL)/g)].map((m) => m[1])
  if (verdicts.length === 0) return undefined
  return verdicts.every((v) => v === "PASS") ? "PASS" : "FAIL"
}

/** Finds the first line matching `pattern` and returns it trimmed (for summaries that quote the script). */
const lineWith = (stdout: string, pattern: RegExp): string | undefined =>
  stdout.split("\n").find((line) => pattern.test(line))?.trim()

interface OverheadRow {
  readonly name: string
  readonly cpuMicrosPerCall: number
  readonly callsPerSecond: number
  readonly vsFloor: number
}

/** The "variant  cpu µs/call  calls/s  vs floor" table of predict-overhead. */
const overheadRows = (stdout: string): Array<OverheadRow> =>
  [...stdout.matchAll(/^(\S.*?)\s{2,}(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)x\s*$/gm)].map((m) => ({
    name: m[1]!.trim(),
    cpuMicrosPerCall: num(m[2]),
    callsPerSecond: num(m[3]),
    vsFloor: num(m[4])
  }))

const isOverheadRow = (x: unknown): x is OverheadRow =>
  typeof x === "object" && x !== null && "name" in x && "cpuMicrosPerCall" in x && "vsFloor" in x

/** The target of the overhead scripts: the row named `prefix...` at most `ratio` times the floor's CPU. */
const overheadTarget = (rows: ReadonlyArray<OverheadRow>, prefix: string, ratio: number): "PASS" | "FAIL" | undefined => {
  const row = rows.find((r) => r.name.startsWith(prefix))
  return row === undefined ? undefined : row.vsFloor <= ratio ? "PASS" : "FAIL"
}

const overheadSummary = (rows: ReadonlyArray<OverheadRow>): string =>
  rows.length === 0
    ? "no figures parsed (see output)"
    : rows.map((r) => `${r.name} ${r.cpuMicrosPerCall.toFixed(0)} µs (${r.vsFloor.toFixed(2)}x)`).join("; ")

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "predict-overhead",
    title: "Predict CPU per call vs bare fetch",
    timeoutMinutes: 15,
    invocation: ({ jsonFile, quick }) => ({
      script: "packages/bench/src/predict-overhead.ts",
      args: [...(quick ? ["--calls", "300", "--rounds", "1"] : ["--calls", "3000", "--rounds", "3"]), "--concurrency", "64", "--json", jsonFile]
    }),
    parse: (stdout, jsonFile) => {
      const json = readJson(jsonFile)
      const fromJson = typeof json === "object" && json !== null && "rows" in json && Array.isArray(json.rows)
        ? json.rows.filter(isOverheadRow)
        : []
      const rows = fromJson.length > 0 ? fromJson : overheadRows(stdout)
      return {
        summary: overheadSummary(rows),
        target: overheadTarget(rows, "Predict", 1.3), // the script's stated target
        figures: { rows, source: fromJson.length > 0 ? "json" : "stdout" }
      }
    }
  },
  {
    name: "core-overhead",
    title: "core's own CPU per Predict call (no HTTP)",
    timeoutMinutes: 10,
    invocation: ({ quick }) => ({ script: "packages/bench/src/core-overhead.ts", args: ["--calls", quick ? "2000" : "20000"] }),
    parse: (stdout) => {
      const rows = [...stdout.matchAll(/^(\S.*?)\s+(\d+(?:\.\d+)?)\s*µs\/call/gm)].map((m) => ({ name: m[1]!.trim(), microsPerCall: num(m[2]) }))
      return {
        summary: rows.length === 0 ? "no figures parsed (see output)" : rows.map((r) => `${r.name} ${r.microsPerCall} µs`).join("; "),
        figures: { rows }
      }
    }
  },
  {
    name: "telemetry-overhead",
    title: "tracing overhead, every span exported vs off",
    timeoutMinutes: 20,
    invocation: ({ quick }) => ({
      script: "packages/telemetry/bench/overhead.ts",
      args: quick ? ["300", "64", "1"] : ["3000", "64", "5"],
      nodeFlags: ["--expose-gc"]
    }),
    parse: (stdout) => {
      const rows: Array<{ scenario: string; mode: string; callsPerSecond: number; rateRatio: number; cpuMicrosPerCall: number; cpuRatio: number }> = []
      let scenario = ""
      for (const line of stdout.split("\n")) {
        const s = /^scenario:\s*(\S+)/.exec(line)
        if (s) scenario = s[1]!
        const m = /^(off|loopback|down)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)/.exec(line)
        if (m) rows.push({ scenario, mode: m[1]!, callsPerSecond: num(m[2]), rateRatio: num(m[3]), cpuMicrosPerCall: num(m[4]), cpuRatio: num(m[5]) })
      }
      const memory = lineWith(stdout, /spans: \d+ dropped/)
      const exporting = rows.filter((r) => r.mode === "loopback")
      return {
        // the README's target: exporting every span costs at most 3% (0.97x of off's CPU per call)
        target: exporting.length === 0 ? undefined : exporting.every((r) => r.cpuRatio >= 0.97) ? "PASS" : "FAIL",
        summary: rows.length === 0
          ? "no figures parsed (see output)"
          : `CPU ratio off/mode (1 = free): ${
            rows.filter((r) => r.mode !== "off").map((r) => `${r.scenario} ${r.mode} ${r.cpuRatio.toFixed(2)}x`).join("; ")
          }`,
        figures: { rows, memory }
      }
    }
  },
  {
    name: "batch-efficiency",
    title: "batch efficiency vs ideal (150 items @10, 100 ms)",
    timeoutMinutes: 10,
    invocation: ({ quick }) => ({ script: "packages/batch/bench/efficiency.ts", args: [], env: { REPEATS: quick ? "1" : "3" } }),
    parse: (stdout) => {
      const m = /best ([\d.]+) ms \(([-\d.]+)% over ideal\), median ([\d.]+) ms/.exec(stdout)
      const ideal = /ideal (\d+) ms/.exec(stdout)
      return {
        summary: m ? `best ${m[1]} ms vs ideal ${ideal?.[1] ?? "?"} ms (${m[2]}% over), median ${m[3]} ms` : lineWith(stdout, /best|wall/) ?? "see output",
        target: targetOf(stdout),
        figures: m ? { bestMillis: num(m[1]), overIdealPercent: num(m[2]), medianMillis: num(m[3]), idealMillis: num(ideal?.[1]) } : {}
      }
    }
  },
  {
    name: "batch-floor",
    title: "batch efficiency floor: bare node:http client and servers, no library code",
    timeoutMinutes: 5,
    invocation: () => ({ script: "packages/batch/bench/floor.ts", args: [] }),
    parse: (stdout) => {
      const best = (mode: string) => new RegExp(`server ${mode}\\s*:.*best ([\\d.]+) ms \\(([-\\d.]+)%\\)`).exec(stdout)
      const timer = best("timer")
      const onTime = best("on-time")
      return {
        summary: timer && onTime
          ? `best ${onTime[2]}% over ideal with a server that is never early, ${timer[2]}% with one on Node's timers (early by up to 1.5 ms)`
          : "see output",
        figures: { timerBestPercent: num(timer?.[2]), onTimeBestPercent: num(onTime?.[2]) }
      }
    }
  },
  {
    name: "batch-rate-limited",
    title: "batch under a server limit of 8",
    timeoutMinutes: 10,
    invocation: ({ quick }) => ({
      script: "packages/batch/bench/rate-limited.ts",
      args: [],
      env: quick ? { ITEMS: "80" } : {}
    }),
    parse: (stdout) => {
      const m = /wall (\d+) ms = ([\d.]+)x ideal; succeeded (\d+), failed (\d+)/.exec(stdout)
      return {
        summary: m ? `${m[2]}x ideal (${m[1]} ms), ${m[3]} succeeded, ${m[4]} failed` : lineWith(stdout, /wall/) ?? "see output",
        target: targetOf(stdout),
        figures: m ? { wallMillis: num(m[1]), vsIdeal: num(m[2]), succeeded: num(m[3]), failed: num(m[4]) } : {}
      }
    }
  },
  {
    name: "batch-faults",
    title: "batch with 20% faults, 1000 items",
    timeoutMinutes: 10,
    invocation: () => ({ script: "packages/batch/bench/faults.ts", args: [] }),
    parse: (stdout) => {
      const out = /output: (\d+) lines, (\d+) distinct ids, every line a success or a typed failure: (\w+)/.exec(stdout)
      const wall = /wall (\d+) ms; succeeded (\d+), failed (\d+)/.exec(stdout)
      return {
        summary: out
          ? `${out[1]} lines, ${out[2]} distinct, all typed: ${out[3]}${wall ? `; ${wall[2]} succeeded, ${wall[3]} failed in ${wall[1]} ms` : ""}`
          : lineWith(stdout, /output|wall/) ?? "see output",
        target: targetOf(stdout),
        figures: {
          ...(out ? { lines: num(out[1]), distinct: num(out[2]), typed: out[3] === "true" } : {}),
          ...(wall ? { wallMillis: num(wall[1]), succeeded: num(wall[2]), failed: num(wall[3]) } : {})
        }
      }
    }
  },
  {
    name: "simulator-throughput",
    title: "simulator server throughput (zero latency)",
    timeoutMinutes: 5,
    invocation: ({ quick }) => ({ script: "packages/simulator/bench/throughput.ts", args: quick ? ["300", "16"] : ["3000", "64"] }),
    parse: (stdout) => {
      const rows = [...stdout.matchAll(/^(json|stream)\s+(\d+) calls, concurrency (\d+): ([\d.]+) s, (\d+) req\/s, failures (\d+)/gm)].map((m) => ({
        kind: m[1]!,
        calls: num(m[2]),
        seconds: num(m[4]),
        requestsPerSecond: num(m[5]),
        failures: num(m[6])
      }))
      // the first json line is the warm-up
      const measured = rows.filter((r, i) => !(r.kind === "json" && i === 0))
      return {
        summary: measured.length === 0 ? "see output" : measured.map((r) => `${r.kind} ${r.requestsPerSecond} req/s (${r.failures} failures)`).join("; "),
        figures: { rows }
      }
    }
  },
  {
    name: "simulator-server-cpu",
    title: "simulator server CPU per request vs a bare node:http handler",
    timeoutMinutes: 5,
    invocation: ({ quick }) => ({ script: "packages/simulator/bench/server-cpu.ts", args: quick ? ["1000", "10"] : ["5000", "10"] }),
    parse: (stdout) => {
      const cpu = (name: string) => new RegExp(`${name}.*server CPU\\s+(\\d+) µs/request`).exec(stdout)?.[1]
      const simulator = cpu("simulator")
      const bare = cpu("bare node:http")
      return {
        summary: simulator !== undefined && bare !== undefined ? `simulator ${simulator} µs/request, bare handler ${bare}` : "see output",
        figures: { simulatorMicros: num(simulator), bareMicros: num(bare) }
      }
    }
  },
  {
    name: "simulator-streams",
    title: "simulator holding many paced streams",
    long: true,
    timeoutMinutes: 15,
    invocation: ({ quick }) => ({
      script: "packages/simulator/bench/streams.ts",
      args: quick ? ["500", "20"] : ["10000", "5"],
      nodeFlags: ["--expose-gc"],
      openFiles: 65536
    }),
    parse: (stdout) => {
      const m = /(\d+) streams at ([\d.]+) tokens\/s: ([\d.]+) s; peak in flight (\d+); heap ([\d.]+) MB -> ([\d.]+) MB at peak \(([\d.]+) KB per open stream\)/.exec(stdout)
      return {
        summary: m ? `${m[1]} streams in ${m[3]} s, peak ${m[4]} open, ${m[7]} KB heap per open stream` : "see output",
        figures: m ? { streams: num(m[1]), seconds: num(m[3]), peakInFlight: num(m[4]), kbPerStream: num(m[7]) } : {}
      }
    }
  },
  {
    name: "chat-server-load",
    title: "chat server, concurrent SSE conversations",
    long: true,
    timeoutMinutes: 30,
    invocation: ({ quick }) => ({
      script: "examples/chat-server/load.ts",
      args: quick ? ["--conversations", "200", "--words", "20", "--ttft", "50"] : ["--conversations", "10000"],
      openFiles: 65536
    }),
    parse: (stdout) => {
      const completed = /completed:\s+(\d+) \/ (\d+)/.exec(stdout)
      const rss = /server peak RSS:\s+([\d.]+ \w+)/.exec(stdout)
      const ttft = /TTFT, server:\s+p50 ([\d.]+ \w+), p99 ([\d.]+ \w+)/.exec(stdout)
      const loop = /server event loop:\s+delay p50 ([\d.]+ \w+), p99 ([\d.]+ \w+)/.exec(stdout)
      const parts = [
        completed && `${completed[1]}/${completed[2]} completed`,
        rss && `server peak RSS ${rss[1]}`,
        ttft && `server TTFT p50 ${ttft[1]}, p99 ${ttft[2]}`,
        loop && `event loop p99 ${loop[2]}`
      ].filter((p): p is string => typeof p === "string")
      return {
        summary: parts.length === 0 ? "see output" : parts.join("; "),
        target: completed ? (completed[1] === completed[2] ? "PASS" : "FAIL") : undefined,
        figures: {
          ...(completed ? { completed: num(completed[1]), conversations: num(completed[2]) } : {}),
          ...(rss ? { serverPeakRss: rss[1] } : {}),
          ...(ttft ? { serverTtftP50: ttft[1], serverTtftP99: ttft[2] } : {}),
          ...(loop ? { serverLoopDelayP50: loop[1], serverLoopDelayP99: loop[2] } : {})
        }
      }
    }
  },
  {
    name: "peers",
    title: "peer comparison (CPU per prediction, streams bounded)",
    timeoutMinutes: 30,
    invocation: ({ jsonFile, quick, updateReadme }) => ({
      script: "packages/bench/src/compare-peers.ts",
      args: [...(quick ? ["--quick"] : []), ...(updateReadme ? ["--update-readme"] : []), "--json", jsonFile, "--markdown", `${jsonFile}.md`]
    }),
    parse: (_stdout, jsonFile) => {
      const json = readJson(jsonFile)
      if (typeof json !== "object" || json === null || !("batch" in json) || !Array.isArray(json.batch)) {
        return { summary: "no result file (see output)", figures: {} }
      }
      const rows = json.batch as ReadonlyArray<{ readonly id: string; readonly cpuMicrosPerPrediction: number }>
      const stream = "stream" in json && Array.isArray(json.stream) ? (json.stream as ReadonlyArray<{ readonly id: string; readonly bounded: boolean }>) : []
      const ours = rows.filter((r) => r.id.startsWith("effect-dspy"))
      const others = rows.filter((r) => !r.id.startsWith("effect-dspy") && r.id !== "fetch")
      const best = Math.min(...ours.map((r) => r.cpuMicrosPerPrediction))
      const cheapestPeer = others.reduce<{ readonly id: string; readonly cpuMicrosPerPrediction: number } | undefined>(
        (a, r) => (a === undefined || r.cpuMicrosPerPrediction < a.cpuMicrosPerPrediction ? r : a),
        undefined
      )
      const unbounded = stream.filter((s) => !s.bounded).map((s) => s.id)
      return {
        summary: `${rows.map((r) => `${r.id} ${r.cpuMicrosPerPrediction} µs`).join("; ")}${
          unbounded.length > 0 ? `; streams NOT bounded: ${unbounded.join(", ")}` : stream.length > 0 ? "; every stream limit held" : ""
        }`,
        // The issue's target: less CPU per prediction than every peer.
        target: cheapestPeer === undefined || ours.length === 0 ? undefined : best < cheapestPeer.cpuMicrosPerPrediction ? "PASS" : "FAIL",
        figures: json
      }
    }
  }
]
