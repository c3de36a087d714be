#!/usr/bin/env node
/**
 * What the API reference (`pnpm docgen`, with `enforceDescriptions`) requires of the public
 * packages' entry-point modules: every export has a doc comment with a description and an
 * `@since` tag. Checks it in seconds (part of `pnpm check`, where docgen itself, which also
 * type-checks and runs every example, takes minutes), and adds the missing `@since` tags.
 *
 *   node scripts/jsdoc-since.mjs                                            check: list what is missing, exit 1 if anything
 *   node scripts/jsdoc-since.mjs --since 0.2.0 --write                      add `@since 0.2.0`
 *   node scripts/jsdoc-since.mjs --since 0.2.0 --base main --base-since 0.1.0 --write
 *
 * An `export * as X from "./X.js"` of an index without a doc comment gets one made of the first
 * sentence of X's header comment. The tag names the version in which an export first ships.
 * With --base, an export that the same file already exported at that git revision gets
 * --base-since instead (it shipped before), and the others --since (the next release). Only
 * comments change; a missing description is listed, never invented. Modules under
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
const usage = (problem) => {
  console.error(`jsdoc-since: ${problem}`)
  console.error("usage: node scripts/jsdoc-since.mjs [--since <x.y.z> [--base <git-ref> --base-since <x.y.z>] --write]")
  process.exit(2)
}
if (write && since === undefined) usage("--write needs --since <x.y.z>, the version the new tags name")
if (since !== undefined && !version.test(since)) usage(`--since takes a version x.y.z, not ${since}`)
if (base !== undefined && (baseSince === undefined || !version.test(baseSince))) usage("--base needs --base-since <x.y.z>")
if (base !== undefined) {
  // a mistyped revision must not read as "nothing shipped before" (every tag would say --since)
  const known = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${base}^{commit}`], { cwd: root, encoding: "utf8" })
  if (known.status !== 0) usage(`--base ${base} is not a git revision here`)
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

/** Whether a doc comment says something before its tags (docgen's description). */
const hasDescription = (comment) =>
  comment.replace(/^\/\*\*|\*\/$/g, "").split("\n").map((l) => l.replace(/^\s*\* ?/, "").trim())
    .join("\n").split(/(^|\n)@/)[0].trim() !== ""

/** The first sentence of a module's header comment (its description), if it has one. */
const firstSentence = (text) => {
  const header = /^(?:#![^\n]*\n)?\s*\/\*\*([\s\S]*?)\*\//.exec(text)
  if (header === null) return undefined
  const lines = header[1].split("\n").map((l) => l.replace(/^\s*\* ?/, "").trim())
  const paragraph = []
  for (const line of lines) {
    if (line.startsWith("@")) break
    if (line === "") {
      if (paragraph.length > 0) break
      continue
    }
    paragraph.push(line)
  }
  if (paragraph.length === 0) return undefined
  const joined = paragraph.join(" ")
  const end = joined.search(/\.(\s|$)/)
  return end < 0 ? joined : joined.slice(0, end + 1)
}

/** Words in lines of at most `width` characters. */
const wrap = (text, width) => {
  const lines = []
  let line = ""
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  if (line !== "") lines.push(line)
  return lines
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
const undescribed = []
for (const file of files) {
  const text = fs.readFileSync(file, "utf8")
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const before = exportedAtBase(file)
  const edits = []
  /** Records what a doc comment lacks: a description (listed) or the `@since` tag (added). */
  const describe = (doc, node) => {
    const comment = text.slice(doc[0], doc[1])
    if (!hasDescription(comment)) {
      undescribed.push(`${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${nameOf(node)}`)
    }
    if (!/@since\b/.test(comment)) edits.push({ doc, node })
  }
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
      // `export * as X from "./X.js"` in an index: without a doc comment of its own (the file's
      // header does not count), it gets the first sentence of the module's header
      if (ts.isExportDeclaration(node) && (node.exportClause === undefined || ts.isNamespaceExport(node.exportClause))) {
        const doc = jsDocOf(text, node)
        const isHeader = doc !== undefined && i === 0 && text.slice(0, doc[0]).trim().replace(/^#!.*/, "") === ""
        if (doc !== undefined && !isHeader) {
          describe(doc, node)
          continue
        }
        const target = path.resolve(path.dirname(file), node.moduleSpecifier.text.replace(/\.js$/, ".ts"))
        const sentence = fs.existsSync(target) ? firstSentence(fs.readFileSync(target, "utf8")) : undefined
        const where = `${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`
        if (sentence === undefined) undocumented.push(`${where} ${nameOf(node)} (its module has no header description)`)
        else edits.push({ insert: node.getStart(), sentence, node })
        continue
      }
      // `export { a, b } from "./internal/x.js"`: docgen reads each name's own doc comment
      if (ts.isExportDeclaration(node) && node.exportClause !== undefined && ts.isNamedExports(node.exportClause)) {
        for (const element of node.exportClause.elements) {
          const doc = jsDocOf(text, element)
          const where = `${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(element.getStart()).line + 1}`
          if (doc === undefined) undocumented.push(`${where} ${element.name.text} (in an export list)`)
          else describe(doc, element)
        }
        continue
      }
      const doc = jsDocOf(text, node)
      if (doc === undefined) {
        undocumented.push(`${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${nameOf(node)}`)
        continue
      }
      describe(doc, node)
      if (ts.isModuleDeclaration(node) && node.body !== undefined && ts.isModuleBlock(node.body)) visit(node.body.statements)
    }
  }
  visit(source.statements)
  if (path.basename(file) === "index.ts" && firstSentence(text) === undefined) {
    undocumented.push(`${path.relative(root, file)}:1 the package's header comment (write what the package is for)`)
  }
  if (edits.length === 0) continue
  added += edits.length
  if (!write) {
    for (const { node } of edits) {
      console.log(`no @since: ${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${nameOf(node)}`)
    }
    continue
  }
  let out = text
  const at = (edit) => edit.insert ?? edit.doc[0]
  for (const edit of edits.sort((a, b) => at(b) - at(a))) {
    const tag = before.has(nameOf(edit.node)) ? baseSince : since
    if (edit.insert !== undefined) {
      const lines = wrap(edit.sentence, 96).map((line) => ` * ${line}\n`).join("")
      out = out.slice(0, edit.insert) + `\n/**\n${lines} *\n * @since ${tag}\n */\n` + out.slice(edit.insert)
      continue
    }
    const [start, end] = edit.doc
    const lineStart = out.lastIndexOf("\n", start - 1) + 1
    const indent = out.slice(lineStart, start).match(/^\s*/)[0]
    out = out.slice(0, start) + withSince(out.slice(start, end), indent, tag) + out.slice(end)
  }
  fs.writeFileSync(file, out)
}
for (const line of undocumented) console.log(`no documentation (write a one-line description): ${line}`)
for (const line of undescribed) console.log(`no description (write one line before the tags): ${line}`)
console.log(
  `jsdoc-since: ${write ? "added" : "missing"} @since on ${added} export(s); ${undocumented.length} export(s) without ` +
    `documentation, ${undescribed.length} without a description`
)
// checking (or writing, which cannot invent descriptions): anything left fails
if ((!write && added > 0) || undocumented.length > 0 || undescribed.length > 0) process.exit(1)
