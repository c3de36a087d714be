/**
 * The README's figures: one table, generated. Each benchmark's latest figures are kept in
 * `packages/bench/results.json` with the machine, the date, the load average and the command
 * they were measured with; `pnpm bench --update-readme` records the benchmarks it ran and
 * rewrites the table between the README's markers from that file, so that a partial run
 * (`--only peers --update-readme`) updates its own rows and keeps the others.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import type { Machine } from "./machine.js"

/** One benchmark's latest figures, as the README shows them. */
export interface Row {
  readonly name: string
  readonly title: string
  readonly summary: string
  readonly command: string
  readonly machine: string
  readonly date: string
  /** The 1-minute load average before and after the run. */
  readonly load: string
}

export const begin = "<!-- bench:begin (written by `pnpm bench --update-readme`; do not edit by hand) -->"
export const end = "<!-- bench:end -->"

/** The machine as a table cell. */
export const machineCell = (m: Machine): string => `${m.cpus}-core ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, commit ${m.commit}`

const readRows = (file: string): Array<Row> =>
  existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { readonly rows: Array<Row> }).rows : []

/** Records these rows (replacing those of the same benchmarks), in the order of `order`. */
export const record = (file: string, rows: ReadonlyArray<Row>, order: ReadonlyArray<string>): ReadonlyArray<Row> => {
  const byName = new Map(readRows(file).map((row) => [row.name, row]))
  for (const row of rows) byName.set(row.name, row)
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length)
  const all = [...byName.values()].sort((a, b) => rank(a.name) - rank(b.name))
  writeFileSync(file, JSON.stringify({ rows: all }, null, 2) + "\n")
  return all
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ")

/** The table. */
export const table = (rows: ReadonlyArray<Row>): string =>
  [
    "| benchmark | figures | command | machine | date | load |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) =>
      `| ${cell(r.title)} | ${cell(r.summary)} | \`${cell(r.command)}\` | ${cell(r.machine)} | ${r.date} | ${r.load} |`
    )
  ].join("\n")

/** Replaces the text between `from` and `to` in a file; fails if the markers are missing. */
export const replaceBetween = (path: string, from: string, to: string, text: string): void => {
  const content = readFileSync(path, "utf8")
  const a = content.indexOf(from)
  const b = content.indexOf(to)
  if (a < 0 || b < a) throw new Error(`${path} has no "${from}" ... "${to}" section to update`)
  writeFileSync(path, `${content.slice(0, a + from.length)}\n${text}\n${content.slice(b)}`)
}
