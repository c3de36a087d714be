/**
 * The benchmark suite: runs every benchmark of the project, each in a child process (its own
 * script, listed by its area in `src/<area>/benchmarks.ts`), and writes one JSON file and one
 * markdown report.
 *
 *   pnpm bench [--quick] [--only name,name] [--skip name,name] [--skip-long] [--out bench-results] [--list]
 *     [--update-readme]
 *
 * `--quick` runs small sizes (a smoke run of a few minutes); `--skip-long` leaves out the run of
 * 10,000 conversations (`chat-server-load`). Writes `<out>/latest.json`, `<out>/latest.md`, and
 * each benchmark's full output in `<out>/raw/`. `--update-readme` (full sizes only) records the
 * figures of the benchmarks that ran in `packages/bench/results.json` and rewrites the README's
 * table from it (see `suite/readme.ts`). Prints figures and asserts nothing; a benchmark that
 * fails or times out is reported as such and the others still run (the exit code is 1 if any
 * failed to run).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import type { Figures, Invocation } from "./suite/Benchmark.js"
import { type ChildResult, runChild } from "./suite/child.js"
import { describeMachine, machine } from "./suite/machine.js"
import * as Readme from "./suite/readme.js"
import { benchmarks } from "./suite/registry.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const resultsFile = Path.join(root, "packages", "bench", "results.json")

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    skip: { type: "string" },
    "skip-long": { type: "boolean", default: false },
    out: { type: "string", default: "bench-results" },
    "update-readme": { type: "boolean", default: false },
    list: { type: "boolean", default: false }
  }
})

const names = (s: string | undefined) => (s === undefined ? [] : s.split(",").map((n) => n.trim()).filter((n) => n !== ""))
const known = new Set(benchmarks.map((b) => b.name))
for (const n of [...names(values.only), ...names(values.skip)]) {
  if (!known.has(n)) {
    console.error(`unknown benchmark "${n}"; known: ${[...known].join(", ")}`)
    process.exit(2)
  }
}
if (values["update-readme"] && values.quick) {
  console.error("--update-readme records full-size figures only: drop --quick")
  process.exit(2)
}
if (values.list) {
  for (const b of benchmarks) console.log(`${b.name.padEnd(22)} ${b.title}${b.long === true ? " (long)" : ""}`)
  process.exit(0)
}
const only = names(values.only)
const skip = new Set(names(values.skip))
const selected = benchmarks.filter((b) =>
  (only.length === 0 || only.includes(b.name)) && !skip.has(b.name) && !(values["skip-long"] && b.long === true && !only.includes(b.name))
)

const outDir = Path.resolve(root, values.out)
const rawDir = Path.join(outDir, "raw")
mkdirSync(rawDir, { recursive: true })

/** The command line that reproduces one benchmark, from the repository's root. */
const commandLine = (inv: Invocation): string => {
  const env = Object.entries(inv.env ?? {}).map(([k, v]) => `${k}=${v}`)
  const node = inv.nodeFlags === undefined || inv.nodeFlags.length === 0
    ? ["pnpm", "exec", "tsx"]
    : ["node", ...inv.nodeFlags, "--import", "tsx"]
  // The soft limit raised to the hard one: `ulimit -n 65536` fails outright where the hard limit
  // is lower (20,000 on the build machine), and the scripts say when what they get is too few.
  const ulimit = inv.raiseOpenFiles !== true ? [] : [`ulimit -n "$(ulimit -Hn)" &&`]
  return [...ulimit, ...env, ...node, inv.script, ...inv.args].join(" ")
}

const run = (inv: Invocation, timeoutMillis: number): Promise<ChildResult> => {
  const nodeArgs = [...(inv.nodeFlags ?? []), "--import", "tsx", inv.script, ...inv.args]
  const options = { cwd: root, echo: true, timeoutMillis, ...(inv.env === undefined ? {} : { env: inv.env }) }
  if (inv.raiseOpenFiles !== true) return runChild(process.execPath, nodeArgs, options)
  // Many sockets: raise the soft limit to the hard one (as the command line shows), then become node.
  const script = `ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`
  return runChild("bash", ["-c", script, process.execPath, ...nodeArgs], options)
}

interface Outcome {
  readonly name: string
  readonly title: string
  readonly command: string
  readonly status: "ok" | "failed" | "timed out"
  readonly exitCode: number | null
  readonly seconds: number
  readonly loadAverageBefore: ReadonlyArray<number>
  readonly loadAverageAfter: ReadonlyArray<number>
  readonly result: Figures
  readonly outputTail: ReadonlyArray<string>
}

const main = async () => {
  const start = machine()
  const invocationCommand = `pnpm bench${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(" ")}` : ""}`
  console.log(`benchmark suite${values.quick ? " (quick)" : ""}: ${selected.map((b) => b.name).join(", ")}`)
  console.log(describeMachine(start))
  const outcomes: Array<Outcome> = []
  for (const b of selected) {
    const jsonFile = Path.join(rawDir, `${b.name}.json`)
    rmSync(jsonFile, { force: true })
    rmSync(`${jsonFile}.md`, { force: true })
    // relative to the root (the children's working directory), so that the printed command is short
    const inv = b.invocation({ quick: values.quick, jsonFile: Path.relative(root, jsonFile), updateReadme: values["update-readme"] })
    const loadAverageBefore = machine().loadAverage
    console.log("")
    console.log(`== ${b.name}: ${b.title}`)
    console.log(`   ${commandLine(inv)}   (load ${loadAverageBefore.join(" ")})`)
    const r = await run(inv, b.timeoutMinutes * 60_000)
    writeFileSync(Path.join(rawDir, `${b.name}.log`), `$ ${commandLine(inv)}\n${r.stdout}\n--- stderr ---\n${r.stderr}`)
    const status = r.timedOut ? "timed out" : r.code === 0 ? "ok" : "failed"
    let result: Figures
    try {
      result = b.parse(r.stdout, jsonFile)
    } catch (error) {
      result = { summary: `could not read the figures: ${String(error)}`, figures: {} }
    }
    outcomes.push({
      name: b.name,
      title: b.title,
      command: commandLine(inv),
      status,
      exitCode: r.code,
      seconds: Math.round(r.millis / 100) / 10,
      loadAverageBefore,
      loadAverageAfter: machine().loadAverage,
      result,
      outputTail: r.stdout.trim().split("\n").slice(-40)
    })
    console.log(`   -> ${status} in ${(r.millis / 1000).toFixed(1)} s: ${result.summary}${result.target === undefined ? "" : ` [${result.target}]`}`)
  }
  const end = machine()
  const report = { command: invocationCommand, quick: values.quick, machine: start, loadAverageAfter: end.loadAverage, benchmarks: outcomes }
  writeFileSync(Path.join(outDir, "latest.json"), JSON.stringify(report, null, 2))
  const extras = selected
    .map((b) => Path.join(rawDir, `${b.name}.json.md`))
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, "utf8"))
  const markdown = [
    `# Benchmarks`,
    "",
    `\`${invocationCommand}\` on ${describeMachine(start)} (load after: ${end.loadAverage.join(" ")}).`,
    "",
    "| benchmark | figures | target | status | command |",
    "|---|---|---|---|---|",
    ...outcomes.map((o) =>
      `| ${o.name}: ${o.title} | ${o.result.summary} | ${o.result.target ?? ""} | ${o.status}, ${o.seconds} s, load ${o.loadAverageBefore[0]} | \`${o.command}\` |`
    ),
    ...extras.flatMap((text) => ["", text])
  ].join("\n") + "\n"
  writeFileSync(Path.join(outDir, "latest.md"), markdown)
  console.log("")
  console.log(markdown)
  console.log(`wrote ${Path.relative(root, Path.join(outDir, "latest.json"))} and latest.md`)
  if (values["update-readme"]) {
    const rows = outcomes.filter((o) => o.status === "ok").map((o): Readme.Row => ({
      name: o.name,
      title: o.title,
      summary: o.result.summary,
      command: o.command,
      machine: Readme.machineCell(start),
      date: start.date.slice(0, 10),
      load: `${o.loadAverageBefore[0]}–${o.loadAverageAfter[0]}`
    }))
    const all = Readme.record(resultsFile, rows, benchmarks.map((b) => b.name))
    Readme.replaceBetween(Path.join(root, "README.md"), Readme.begin, Readme.end, Readme.table(all))
    console.log(`recorded ${rows.length} benchmark(s) in ${Path.relative(root, resultsFile)} and rewrote the README's table`)
  }
  if (outcomes.some((o) => o.status !== "ok")) process.exitCode = 1
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
