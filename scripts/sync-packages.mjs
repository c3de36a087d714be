#!/usr/bin/env node
/**
 * Keeps what each public package publishes in step with its sources.
 *
 *   node scripts/sync-packages.mjs          check (part of `pnpm check`); exits 1 on a difference
 *   node scripts/sync-packages.mjs --write  rewrite the generated parts (`pnpm exports:sync`)
 *
 * A public package is a `packages/<name>` whose package.json is not `"private": true`. Its
 * public entry points are `src/index.ts` (`.`) and every other top-level `src/*.ts` module
 * (`./Name`), except command entry points (`src/bin.ts`) and modules whose header comment says
 * `@internal`; code under `src/internal/` is never an entry point. Generated from that:
 *
 * - `exports`: the entry points on the sources (`./src/Name.ts`), which is what the workspace,
 *   `tsx`, Vitest and `tsc` read: nothing needs a build inside the repository;
 * - `publishConfig.exports`: the same entry points on the build (`types` and `import`
 *   conditions into `dist/`), which `pnpm pack` and `pnpm publish` put in the packed
 *   package.json in place of `exports` (and `publishConfig.bin` in place of `bin`);
 * - `files`, `sideEffects` (false, but for command entry points);
 * - `tsconfig.build.json`: the package's build (nodenext, `dist/`), with project references to
 *   the packages of ours it depends on, and the root `tsconfig.build.json` that lists them all;
 * - `docgen.json`'s `exclude` (internal code and the modules that are not entry points);
 * - `.changeset/config.json`'s `fixed` group: every public package, versioned together.
 *
 * Checked, not written (fix by hand): every package a source file imports is declared (`effect`
 * and `@effect/*` as peer dependencies, also in devDependencies for the workspace; ours as
 * `workspace:*` dependencies); every `bin` runs a file that exists, and its published target is
 * the build of a `src/*.ts` command.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const write = process.argv.includes("--write")
const problems = []
const changed = []

const readJson = (file) => JSON.parse(fs.readFileSync(file, "utf8"))
const json = (value) => JSON.stringify(value, null, 2) + "\n"

/** Writes `text` to `file` when it differs (or records the difference when checking). */
const sync = (file, text) => {
  const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined
  if (before === text) return
  const rel = path.relative(root, file)
  if (write) {
    fs.writeFileSync(file, text)
    changed.push(rel)
  } else problems.push(`${rel} is out of date (run \`pnpm exports:sync\`)`)
}

const packagesDir = path.join(root, "packages")
const packages = fs.readdirSync(packagesDir)
  .filter((name) => fs.existsSync(path.join(packagesDir, name, "package.json")))
  .map((dir) => {
    const dirPath = path.join(packagesDir, dir)
    return { dir, dirPath, file: path.join(dirPath, "package.json"), manifest: readJson(path.join(dirPath, "package.json")) }
  })
  .filter((p) => p.manifest.private !== true)
  .sort((a, b) => a.dir.localeCompare(b.dir))
const ours = new Map(packages.map((p) => [p.manifest.name, p]))

/** The header comment of a module (its first `/** ... *\/` block before any code). */
const headerOf = (text) => {
  const m = /^(?:#![^\n]*\n)?\s*\/\*\*([\s\S]*?)\*\//.exec(text)
  return m === null ? "" : m[1]
}

/** Bare module specifiers a source file imports (static, type-only, re-exports, dynamic). */
const importsOf = (text) => {
  const found = new Set()
  const statement = /(?:^|\n)[ \t]*(?:import|export)\b[^;"'`]*?\bfrom[ \t]*["']([^"']+)["']/g
  const bare = /(?:^|\n)[ \t]*import[ \t]*["']([^"']+)["']/g
  for (const re of [statement, bare]) for (const m of text.matchAll(re)) found.add(m[1])
  for (const line of text.split("\n")) {
    const t = line.trim()
    if (t.startsWith("*") || t.startsWith("//") || t.startsWith("/*")) continue
    for (const m of t.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.add(m[1])
  }
  return [...found].filter((s) => !s.startsWith(".") && !s.startsWith("node:"))
}
const packageOf = (specifier) => specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]
const isEffect = (name) => name === "effect" || name.startsWith("@effect/")

const walk = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []
  )

/** A package's entry points (`[subpath, module]`), its commands and its hidden modules. */
const entryPoints = new Map(packages.map(({ dirPath, manifest }) => {
  const src = path.join(dirPath, "src")
  const topLevel = fs.existsSync(src) ? fs.readdirSync(src).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).sort() : []
  const commands = topLevel.filter((f) => f === "bin.ts")
  const hidden = topLevel.filter((f) =>
    f !== "index.ts" && !commands.includes(f) && /@internal\b/.test(headerOf(fs.readFileSync(path.join(src, f), "utf8")))
  )
  const modules = topLevel.filter((f) => f !== "index.ts" && !commands.includes(f) && !hidden.includes(f)).map((f) => f.slice(0, -3))
  return [manifest.name, { commands, hidden, entries: [[".", "index"], ...modules.map((m) => [`./${m}`, m])] }]
}))

for (const pkg of packages) {
  const { dir, dirPath, manifest } = pkg
  const src = path.join(dirPath, "src")
  const name = manifest.name
  const where = `packages/${dir}`
  if (!fs.existsSync(path.join(src, "index.ts"))) problems.push(`${where}: no src/index.ts`)

  const { commands, hidden, entries } = entryPoints.get(name)
  for (const field of ["description", "keywords", "license", "repository", "homepage", "engines"]) {
    if (manifest[field] === undefined) problems.push(`${where}: package.json has no ${field}`)
  }

  const exports = { "./package.json": "./package.json" }
  const published = { "./package.json": "./package.json" }
  for (const [key, file] of entries) {
    exports[key] = `./src/${file}.ts`
    published[key] = { types: `./dist/${file}.d.ts`, import: `./dist/${file}.js` }
  }
  const next = { ...manifest }
  next.exports = exports
  next.publishConfig = { ...(manifest.publishConfig ?? {}), access: "public", exports: published }
  next.files = ["dist", "src", "!**/*.tsbuildinfo", "README.md", "CHANGELOG.md"]
  next.sideEffects = commands.length === 0 ? false : commands.flatMap((f) => [`./src/${f}`, `./dist/${f.slice(0, -3)}.js`])

  // bins: the workspace's runs the sources, the published one the build of a src command
  const bin = manifest.bin ?? {}
  const publishedBin = manifest.publishConfig?.bin ?? {}
  for (const [command, target] of Object.entries(bin)) {
    if (!fs.existsSync(path.join(dirPath, target))) problems.push(`${where}: bin ${command} runs ${target}, which does not exist`)
    const out = publishedBin[command]
    const m = typeof out === "string" ? /^\.\/dist\/(.+)\.js$/.exec(out) : null
    if (m === null || !commands.includes(`${m[1]}.ts`)) {
      problems.push(`${where}: publishConfig.bin.${command} must be ./dist/<command>.js, built from a src/bin.ts`)
    }
  }
  for (const command of Object.keys(publishedBin)) {
    if (!(command in bin)) problems.push(`${where}: publishConfig.bin.${command} has no workspace bin`)
  }

  // dependencies
  const deps = manifest.dependencies ?? {}
  const peers = manifest.peerDependencies ?? {}
  const dev = manifest.devDependencies ?? {}
  const imported = new Map()
  for (const file of walk(src)) {
    for (const spec of importsOf(fs.readFileSync(file, "utf8"))) {
      const dep = packageOf(spec)
      if (dep === name) {
        problems.push(`${path.relative(root, file)} imports its own package (${spec}): use a relative import`)
        continue
      }
      if (!imported.has(dep)) imported.set(dep, path.relative(root, file))
      if (ours.has(dep)) {
        const subpath = spec === dep ? "." : `./${spec.slice(dep.length + 1)}`
        if (!entryPoints.get(dep).entries.some(([key]) => key === subpath)) {
          problems.push(`${path.relative(root, file)} imports ${spec}, which ${dep} does not export`)
        }
      }
    }
  }
  for (const [dep, file] of imported) {
    if (!(dep in deps) && !(dep in peers)) problems.push(`${where}: ${file} imports ${dep}, which package.json does not declare`)
  }
  for (const [dep, range] of Object.entries(deps)) {
    if (isEffect(dep)) problems.push(`${where}: ${dep} must be a peer dependency (and a devDependency), not a dependency`)
    if (ours.has(dep) && range !== "workspace:*") problems.push(`${where}: ${dep} must be "workspace:*"`)
    // `@types/x` may be a dependency for the published declarations' sake, where an upstream
    // package's declarations import `x` without depending on its types (say why in the README)
    if (!imported.has(dep) && !dep.startsWith("@types/")) {
      problems.push(`${where}: dependency ${dep} is not imported by src (move it to devDependencies or drop it)`)
    }
  }
  for (const [dep, range] of Object.entries(peers)) {
    if (dev[dep] !== range) problems.push(`${where}: peer ${dep}@${range} must also be a devDependency with the same range`)
    if (!imported.has(dep)) problems.push(`${where}: peer dependency ${dep} is not imported by src`)
  }

  // build: nodenext into dist/, referencing the packages of ours it depends on
  const references = Object.keys({ ...deps, ...peers }).filter((d) => ours.has(d)).sort()
    .map((d) => ({ path: `../${ours.get(d).dir}/tsconfig.build.json` }))
  const build = {
    extends: "../../tsconfig.build.base.json",
    compilerOptions: { rootDir: "src", outDir: "dist", tsBuildInfoFile: "dist/tsconfig.build.tsbuildinfo" },
    include: ["src"],
    references
  }
  sync(path.join(dirPath, "tsconfig.build.json"), json(build))

  // API reference: everything but internal code and the modules that are not entry points
  const docgenFile = path.join(dirPath, "docgen.json")
  if (fs.existsSync(docgenFile)) {
    const docgen = readJson(docgenFile)
    docgen.exclude = ["src/internal/**/*.ts", ...[...commands, ...hidden].map((f) => `src/${f}`)]
    sync(docgenFile, json(docgen))
  } else problems.push(`${where}: no docgen.json (copy one from packages/core)`)

  sync(pkg.file, json(next))
}

// changesets: the public packages are versioned together (they depend on each other's exact versions)
const changesetConfig = path.join(root, ".changeset", "config.json")
if (fs.existsSync(changesetConfig)) {
  const config = readJson(changesetConfig)
  config.fixed = [packages.map((p) => p.manifest.name).sort()]
  sync(changesetConfig, json(config))
}

sync(
  path.join(root, "tsconfig.build.json"),
  json({ files: [], references: packages.map((p) => ({ path: `packages/${p.dir}/tsconfig.build.json` })) })
)

if (changed.length > 0) console.log(`updated: ${changed.join(", ")}`)
if (problems.length > 0) {
  console.error(problems.map((p) => `sync-packages: ${p}`).join("\n"))
  process.exit(1)
}
if (!write) console.log(`sync-packages: ${packages.length} public packages in step with their sources`)
