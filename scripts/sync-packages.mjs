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
 * - `LICENSE`: a copy of the repository's (package.json says MIT; npm packs a package's own
 *   LICENSE file whatever `files` says);
 * - `tsconfig.build.json`: the package's build (nodenext, `dist/`), with project references to
 *   the packages of ours it depends on, and the root `tsconfig.build.json` that lists them all;
 * - `docgen.json`'s `exclude` (internal code and the modules that are not entry points) and the
 *   `paths` its examples resolve our packages with (their build in `dist/`);
 * - `.changeset/config.json`'s `fixed` group: every public package, versioned together.
 *
 * Checked, not written (fix by hand): every package a source file imports is declared (`effect`
 * and `@effect/*` as peer dependencies, also in devDependencies for the workspace; ours as
 * `workspace:*` dependencies); the peer ranges of `effect` (`^3.x.y`) and `@effect/*` (`^0.x.y`)
 * stay on the Effect 3 line (the registry's `latest` of several of them is Effect 4) and are the
 * same in every package; every `bin` runs a file that exists, and its published target is the
 * build of a `src/*.ts` command; every `.changeset/*.md` names public packages of ours with a
 * patch, minor or major bump and says what changed.
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
const license = fs.readFileSync(path.join(root, "LICENSE"), "utf8")
/** The first peer range seen for each `effect`/`@effect/*` package, and where. */
const peerRanges = new Map()

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
    if (isEffect(dep)) {
      const line = dep === "effect" ? /^\^3\.\d+\.\d+$/ : /^\^0\.\d+\.\d+$/
      if (!line.test(range)) {
        problems.push(
          `${where}: peer ${dep}@${range} must be a caret range on the Effect 3 line ` +
            `(${dep === "effect" ? "^3.x.y" : "^0.x.y, the 0.x release that goes with effect 3"}): npm would otherwise install Effect 4`
        )
      }
      const seen = peerRanges.get(dep)
      if (seen === undefined) peerRanges.set(dep, { range, where })
      else if (seen.range !== range) problems.push(`${where}: peer ${dep}@${range}, but ${seen.where} says ${seen.range}: use one range`)
    }
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

  // API reference: everything but code in subfolders and the modules that are not entry points; the
  // examples (written to docs/examples/) import our packages from their build, as users do:
  // type-checking them against the declarations is a fraction of the work of checking every
  // package's sources again for each package (`pnpm docgen` builds first)
  const docgenFile = path.join(dirPath, "docgen.json")
  if (fs.existsSync(docgenFile)) {
    const docgen = readJson(docgenFile)
    // only top-level modules are entry points: every subfolder (internal/, a provider's providers/) is out
    docgen.exclude = ["src/*/**/*.ts", ...[...commands, ...hidden].map((f) => `src/${f}`)]
    docgen.examplesCompilerOptions = {
      ...docgen.examplesCompilerOptions,
      paths: Object.fromEntries(packages.flatMap((p) => [
        [p.manifest.name, [`../../../${p.dir}/dist/index`]],
        [`${p.manifest.name}/*`, [`../../../${p.dir}/dist/*`]]
      ]))
    }
    sync(docgenFile, json(docgen))
  } else problems.push(`${where}: no docgen.json (copy one from packages/core)`)

  sync(pkg.file, json(next))
  if (manifest.license !== "MIT") problems.push(`${where}: license is ${manifest.license}, but the repository's LICENSE is MIT`)
  sync(path.join(dirPath, "LICENSE"), license)
}

// changesets: the public packages are versioned together (they depend on each other's exact versions)
const changesetConfig = path.join(root, ".changeset", "config.json")
if (fs.existsSync(changesetConfig)) {
  const config = readJson(changesetConfig)
  config.fixed = [packages.map((p) => p.manifest.name).sort()]
  sync(changesetConfig, json(config))
}

// changesets: each names public packages of ours with a bump, and says what changed (`pnpm
// changeset version` stops on the first bad one, at release time)
const changesetDir = path.join(root, ".changeset")
if (fs.existsSync(changesetDir)) {
  for (const file of fs.readdirSync(changesetDir).filter((f) => f.endsWith(".md") && f !== "README.md").sort()) {
    const where = `.changeset/${file}`
    const m = /^---\r?\n([\s\S]*?)\r?\n?---\r?\n([\s\S]*)$/.exec(fs.readFileSync(path.join(changesetDir, file), "utf8"))
    if (m === null) {
      problems.push(`${where}: no frontmatter (a --- block naming the packages, e.g. "@effect-dspy/core": minor)`)
      continue
    }
    const releases = m[1].split(/\r?\n/).filter((line) => line.trim() !== "")
    if (releases.length === 0) problems.push(`${where}: names no package`)
    for (const line of releases) {
      const release = /^\s*(["']?)(@?[^"':\s]+)\1\s*:\s*(\S+)\s*$/.exec(line)
      if (release === null) problems.push(`${where}: cannot read "${line.trim()}" (want "@effect-dspy/<package>": patch|minor|major)`)
      else if (!ours.has(release[2])) {
        problems.push(`${where}: ${release[2]} is not a public package of this repository (${[...ours.keys()].join(", ")})`)
      } else if (!["patch", "minor", "major"].includes(release[3])) {
        problems.push(`${where}: ${release[2]}: bump "${release[3]}" is not patch, minor or major`)
      }
    }
    if (m[2].trim() === "") problems.push(`${where}: says nothing after the frontmatter (one or two sentences for the changelog)`)
  }
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
