/**
 * What a benchmark of the suite is: a script started in a child process, and a parser that
 * reads its figures back. Scripts that write a JSON result (`--json FILE`) are read from it;
 * the others from their printed lines, with patterns loose enough to survive rewording (the
 * last lines are kept verbatim either way). Each area lists its own in `src/<area>/benchmarks.ts`.
 */
import { existsSync, readFileSync } from "node:fs"

/** How to start one benchmark. */
export interface Invocation {
  readonly script: string
  readonly args: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  readonly nodeFlags?: ReadonlyArray<string>
  /** Many sockets: the soft `ulimit -n` is raised to the hard limit first. */
  readonly raiseOpenFiles?: boolean
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

export const readJson = (file: string): unknown => (existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as unknown) : undefined)

export const num = (s: string | undefined): number => Number(s)

/** The `target: ... -> PASS|FAIL` lines the batch scripts print. */
export const targetOf = (stdout: string): "PASS" | "FAIL" | undefined => {
  const verdicts = [...stdout.matchAll(/target:.*?(PASS|FAIL)/g)].map((m) => m[1])
  if (verdicts.length === 0) return undefined
  return verdicts.every((v) => v === "PASS") ? "PASS" : "FAIL"
}

/** Finds the first line matching `pattern` and returns it trimmed (for summaries that quote the script). */
export const lineWith = (stdout: string, pattern: RegExp): string | undefined =>
  stdout.split("\n").find((line) => pattern.test(line))?.trim()

export interface OverheadRow {
  readonly name: string
  readonly cpuMicrosPerCall: number
  readonly callsPerSecond: number
  readonly vsFloor: number
}

/** The "variant  cpu µs/call  calls/s  vs floor" tables of predict-overhead and chat-overhead. */
export const overheadRows = (stdout: string): Array<OverheadRow> =>
  [...stdout.matchAll(/^(\S.*?)\s{2,}(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)x\s*$/gm)].map((m) => ({
    name: m[1]!.trim(),
    cpuMicrosPerCall: num(m[2]),
    callsPerSecond: num(m[3]),
    vsFloor: num(m[4])
  }))

export const isOverheadRow = (x: unknown): x is OverheadRow =>
  typeof x === "object" && x !== null && "name" in x && "cpuMicrosPerCall" in x && "vsFloor" in x

/** The target of the overhead scripts: the row named `prefix...` at most `ratio` times the floor's CPU. */
export const overheadTarget = (rows: ReadonlyArray<OverheadRow>, prefix: string, ratio: number): "PASS" | "FAIL" | undefined => {
  const row = rows.find((r) => r.name.startsWith(prefix))
  return row === undefined ? undefined : row.vsFloor <= ratio ? "PASS" : "FAIL"
}

export const overheadSummary = (rows: ReadonlyArray<OverheadRow>): string =>
  rows.length === 0
    ? "no figures parsed (see output)"
    : rows.map((r) => `${r.name} ${r.cpuMicrosPerCall.toFixed(0)} µs (${r.vsFloor.toFixed(2)}x)`).join("; ")
