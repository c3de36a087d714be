#!/usr/bin/env node
/**
 * Adds the `@since` tag the API reference (`pnpm docgen`) requires to every documented export of
 * the public packages' entry-point modules that lacks one, and lists the exports that have no
 * documentation at all (those need a description written by hand).
 *
 *   node scripts/jsdoc-since.mjs --since 0.2.0                              list what is missing
 *   node scripts/jsdoc-since.mjs --since 0.2.0 --write                      add `@since 0.2.0`
 *   node scripts/jsdoc-since.mjs --since 0.2.0 --base main --base-since 0.1.0 --write
 *
 * The tag names the version in which an export first ships. With --base, an export that the
 * same file already exported at that git revision gets --base-since instead (it shipped before),
 * and the others --since (the next release). Only comments change. Modules under
 * `src/internal/` and command entry points (`bin.ts`) are skipped, as docgen skips them.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const argv = process.argv.slice(2)
const write = argv.includes("--write")
const sinceAt = argv.indexOf("--since")
const since = sinceAt >= 0 ? argv[sinceAt + 1] : undefined
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined)
const base = option("--base")
const baseSince = option("--base-since")
const version = /^\d+\.\d+\.\d+$/
if (since === undefined || !version.test(since) || (base !== undefined && (baseSince === undefined || !version.test(baseSince)))) {
  console.error("usage: node scripts/jsdoc-since.mjs --since <x.y.z> [--base <git-ref> --base-since <x.y.z>] [--write]")
  process.exit(2)
}

/** The names a file exported at the base revision (empty when the file did not exist). */
const exportedAtBase = (file) => {
  if (base === undefined) return new Set()
  const shown = spawnSync("git", ["show", `${base}:${path.relative(root, file)}`], { cwd: root, encoding: "utf8" })
  if (shown.status !== 0) return new Set()
  const source = ts.createSourceFile(file, shown.stdout, ts.ScriptTarget.Latest, true)
  const names = new Set()
  const collect = (statements) => {
    for (const node of statements) {
      if (ts.isExportDeclaration(node) || isExported(node)) names.add(nameOf(node))
      if (ts.isExportDeclaration(node) && node.exportClause !== undefined && ts.isNamedExports(node.exportClause)) {
        for (const element of node.exportClause.elements) names.add(element.name.text)
      }
      if (ts.isModuleDeclaration(node) && node.body !== undefined && ts.isModuleBlock(node.body)) collect(node.body.statements)
    }
  }
  collect(source.statements)
  return names
}

const packagesDir = path.join(root, "packages")
const files = fs.readdirSync(packagesDir)
  .filter((dir) => {
    const file = path.join(packagesDir, dir, "package.json")
    return fs.existsSync(file) && JSON.parse(fs.readFileSync(file, "utf8")).private !== true
  })
  .flatMap((dir) => {
    const src = path.join(packagesDir, dir, "src")
    return fs.readdirSync(src).filter((f) => f.endsWith(".ts") && f !== "bin.ts").map((f) => path.join(src, f))
  })

const isExported = (node) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)

/** The `/** ... *\/` comment right before a node, as [start, end] offsets. */
const jsDocOf = (text, node) => {
  // the last doc comment: a line comment (an eslint directive) may stand between it and the node
  const docs = (ts.getLeadingCommentRanges(text, node.pos) ?? []).filter((r) => text.startsWith("/**", r.pos))
  const last = docs.at(-1)
  return last === undefined ? undefined : [last.pos, last.end]
}

const nameOf = (node) => {
  if (ts.isVariableStatement(node)) return node.declarationList.declarations.map((d) => d.name.getText()).join(", ")
  if (ts.isExportSpecifier(node)) return node.name.text
  if (ts.isExportDeclaration(node)) return node.getText().split("\n")[0]
  return node.name?.getText() ?? "(anonymous)"
}

/** The comment with an `@since` line added before its end. */
const withSince = (comment, indent, since) => {
  const body = comment.slice(3, -2)
  if (!comment.includes("\n")) {
    const text = body.trim()
    return `/**\n${indent} * ${text}\n${indent} *\n${indent} * @since ${since}\n${indent} */`
  }
  const lines = comment.split("\n")
  const last = lines.pop() // the line with `*/`
  const previous = lines.at(-1).trim()
  const extra = previous === "*" || previous === "/**" ? [] : [`${indent} *`]
  return [...lines, ...extra, `${indent} * @since ${since}`, last].join("\n")
}

let added = 0
const undocumented = []
for (const file of files) {
  const text = fs.readFileSync(file, "utf8")
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const before = exportedAtBase(file)
  const edits = []
  const visit = (statements) => {
    for (const [i, node] of statements.entries()) {
      const exported = ts.isExportDeclaration(node) || isExported(node)
      if (!exported) continue
      // an overload after the first signature shares its documentation
      const previous = statements[i - 1]
      if (
        ts.isFunctionDeclaration(node) && previous !== undefined && ts.isFunctionDeclaration(previous) &&
        previous.name?.text === node.name?.text
      ) continue
      // `export * as X from "./X.js"` in an index: documented there by the module itself
      if (ts.isExportDeclaration(node) && (node.exportClause === undefined || ts.isNamespaceExport(node.exportClause))) {
        const doc = jsDocOf(text, node)
        if (doc !== undefined && !/@since\b/.test(text.slice(doc[0], doc[1]))) edits.push({ doc, node })
        continue
      }
      // `export { a, b } from "./internal/x.js"`: docgen reads each name's own doc comment
      if (ts.isExportDeclaration(node) && node.exportClause !== undefined && ts.isNamedExports(node.exportClause)) {
        for (const element of node.exportClause.elements) {
          const doc = jsDocOf(text, element)
          const where = `${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(element.getStart()).line + 1}`
          if (doc === undefined) undocumented.push(`${where} ${element.name.text} (in an export list)`)
          else if (!/@since\b/.test(text.slice(doc[0], doc[1]))) edits.push({ doc, node: element })
        }
        continue
      }
      const doc = jsDocOf(text, node)
      if (doc === undefined) {
        undocumented.push(`${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${nameOf(node)}`)
        continue
      }
      if (!/@since\b/.test(text.slice(doc[0], doc[1]))) edits.push({ doc, node })
      if (ts.isModuleDeclaration(node) && node.body !== undefined && ts.isModuleBlock(node.body)) visit(node.body.statements)
    }
  }
  visit(source.statements)
  if (edits.length === 0) continue
  added += edits.length
  if (!write) {
    for (const { node } of edits) {
      console.log(`no @since: ${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${nameOf(node)}`)
    }
    continue
  }
  let out = text
  for (const { doc: [start, end], node } of edits.sort((a, b) => b.doc[0] - a.doc[0])) {
    const lineStart = out.lastIndexOf("\n", start - 1) + 1
    const indent = out.slice(lineStart, start).match(/^\s*/)[0]
    const tag = before.has(nameOf(node)) ? baseSince : since
    out = out.slice(0, start) + withSince(out.slice(start, end), indent, tag) + out.slice(end)
  }
  fs.writeFileSync(file, out)
}
for (const line of undocumented) console.log(`no documentation (write a one-line description): ${line}`)
console.log(`${write ? "added" : "missing"} @since on ${added} export(s); ${undocumented.length} export(s) without documentation`)
