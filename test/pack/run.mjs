#!/usr/bin/env node
/**
 * Packs every public package as it would be published and uses the tarballs the way a user
 * does, outside this workspace:
 *
 *   node test/pack/run.mjs [--no-build] [--keep]      (`pnpm test:pack`)
 *
 * 1. builds (`pnpm build`, unless --no-build), packs each public package with `pnpm pack` and
 *    checks the packed package.json: exports only into dist/ with `types` and `import`
 *    conditions and every target present in the tarball, no `workspace:` range, bins into dist/;
 * 2. installs the tarballs with npm into a new project under the system's temporary directory
 *    (third-party packages come from the npm registry; the peers too, as npm installs them);
 * 3. runs the README's install program (the ```js block after `<!-- pack-test: main.mjs -->`)
 *    with plain `node`, on the simulator (EFFECT_DSPY_MODEL=simulator/sim-1);
 * 4. type-checks a TypeScript consumer (module/moduleResolution nodenext, strict,
 *    skipLibCheck false) that imports every package's main entry point, some subpaths, and
 *    checks that internal modules cannot be imported;
 * 5. runs the installed `effect-dspy --help` and one offline `effect-dspy batch`.
 *
 * Exits 1 at the first step that fails, naming it. --keep leaves the project (its path is
 * printed) for a closer look, e.g. to time `node_modules/.bin/effect-dspy --help`.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const args = new Set(process.argv.slice(2))
const keep = args.has("--keep")

const log = (line) => console.log(`pack-and-consume: ${line}`)
class StepFailure extends Error {}
const fail = (message) => {
  throw new StepFailure(message)
}

/**
 * The environment of the consumer's commands: the machine's basics only, so that neither this
 * workspace's pnpm settings (npm_config_*) nor a model key reaches them.
 */
const cleanEnv = (extra = {}) => {
  const env = {}
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG", "TERM", "CI", "SystemRoot"]) {
    if (process.env[key] !== undefined) env[key] = process.env[key]
  }
  return { ...env, ...extra }
}

/** Runs a command; fails the step with its output when it exits non-zero. */
const run = (step, command, commandArgs, options = {}) => {
  const result = spawnSync(command, commandArgs, {
    cwd: options.cwd ?? root,
    env: options.env ?? process.env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMillis ?? 10 * 60_000
  })
  if (result.error !== undefined) fail(`${step}: ${command} could not run: ${result.error.message}`)
  if (result.status !== 0) {
    fail(
      `${step}: \`${[command, ...commandArgs].join(" ")}\` exited with ${result.status ?? result.signal}\n` +
        `${result.stdout ?? ""}${result.stderr ?? ""}`
    )
  }
  return result
}

const packagesDir = path.join(root, "packages")
const publicPackages = fs.readdirSync(packagesDir)
  .filter((dir) => fs.existsSync(path.join(packagesDir, dir, "package.json")))
  .map((dir) => ({ dir, manifest: JSON.parse(fs.readFileSync(path.join(packagesDir, dir, "package.json"), "utf8")) }))
  .filter((p) => p.manifest.private !== true)
  .sort((a, b) => a.dir.localeCompare(b.dir))

const work = fs.mkdtempSync(path.join(os.tmpdir(), "effect-dspy-pack-"))
const tarballs = path.join(work, "tarballs")
const project = path.join(work, "consumer")
fs.mkdirSync(tarballs)
fs.mkdirSync(project)

const main = () => {
  // 1. build and pack
  if (!args.has("--no-build")) {
    log("building (pnpm build)")
    run("build", "pnpm", ["build"])
  }
  const packed = new Map()
  for (const { dir, manifest } of publicPackages) {
    const before = new Set(fs.readdirSync(tarballs))
    run(`pack ${manifest.name}`, "pnpm", ["pack", "--pack-destination", tarballs], { cwd: path.join(packagesDir, dir) })
    const made = fs.readdirSync(tarballs).filter((f) => !before.has(f))
    if (made.length !== 1) fail(`pack ${manifest.name}: expected one tarball, found ${made.join(", ") || "none"}`)
    const tarball = path.join(tarballs, made[0])
    packed.set(manifest.name, tarball)
    checkTarball(manifest.name, tarball)
  }
  log(`packed ${packed.size} packages: ${[...packed.keys()].join(", ")}`)

  // 2. install the tarballs into a fresh npm project, outside the workspace
  const files = Object.fromEntries([...packed].map(([name, tarball]) => [name, `file:${path.relative(project, tarball)}`]))
  const workspaceManifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
  const providersManifest = JSON.parse(fs.readFileSync(path.join(root, "packages/providers/package.json"), "utf8"))
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify(
      {
        name: "effect-dspy-consumer",
        private: true,
        type: "module",
        // as the README's install section: the packages, effect, and the provider SDKs a user
        // of OpenAI and Anthropic adds (optional peers of @effect-dspy/providers)
        dependencies: {
          ...files,
          effect: workspaceManifest.devDependencies.effect,
          "@effect/ai-openai": providersManifest.peerDependencies["@effect/ai-openai"],
          "@effect/ai-anthropic": providersManifest.peerDependencies["@effect/ai-anthropic"]
        },
        devDependencies: {
          typescript: workspaceManifest.devDependencies.typescript,
          "@types/node": workspaceManifest.devDependencies["@types/node"]
        },
        // our packages depend on each other by version: take them from these tarballs, never
        // from the registry
        overrides: files
      },
      null,
      2
    )
  )
  log(`installing with npm into ${project}`)
  run("npm install", "npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: project,
    env: cleanEnv(),
    timeoutMillis: 20 * 60_000
  })

  // 3. the README's program, on plain node
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const block = /<!-- pack-test: main\.mjs -->\n```js\n([\s\S]*?)```/.exec(readme)
  if (block === null) fail("README: no ```js block after <!-- pack-test: main.mjs -->")
  fs.writeFileSync(path.join(project, "main.mjs"), block[1])
  const program = run("node main.mjs", process.execPath, ["main.mjs"], {
    cwd: project,
    env: cleanEnv({ EFFECT_DSPY_MODEL: "simulator/sim-1" }),
    timeoutMillis: 120_000
  })
  if (program.stdout.trim() === "") fail("node main.mjs: printed nothing")
  log(`node main.mjs printed: ${program.stdout.trim().split("\n").join(" | ")}`)

  // 4. a TypeScript consumer, nodenext and strict, with every declaration file checked
  fs.writeFileSync(
    path.join(project, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          // "DOM" for @effect/cluster's users: @effect/rpc 0.76's declarations name
          // `globalThis.Transferable`, which only the DOM and webworker libs declare (upstream;
          // the cluster README says so)
          lib: ["ES2022", "DOM"],
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ["node"]
        },
        include: ["consumer.ts"]
      },
      null,
      2
    )
  )
  fs.copyFileSync(path.join(root, "test", "pack", "consumer.ts"), path.join(project, "consumer.ts"))
  run("tsc (nodenext consumer)", path.join(project, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], {
    cwd: project,
    env: cleanEnv()
  })
  log("the nodenext TypeScript consumer type-checks (skipLibCheck: false)")

  // 5. the installed command
  const bin = path.join(project, "node_modules", ".bin", "effect-dspy")
  const help = run("effect-dspy --help", bin, ["--help"], { cwd: project, env: cleanEnv() })
  for (const word of ["batch", "example"]) {
    if (!help.stdout.includes(word)) fail(`effect-dspy --help: the help does not mention \`${word}\`:\n${help.stdout}`)
  }
  const viaNpx = run("npx effect-dspy --version", "npx", ["--no-install", "effect-dspy", "--version"], {
    cwd: project,
    env: cleanEnv()
  })
  log(`npx effect-dspy --version: ${viaNpx.stdout.trim()}`)
  const questions = ["What is the capital of France?", "What is 6 x 7?", "Name a primary colour."]
  fs.writeFileSync(
    path.join(project, "items.jsonl"),
    questions.map((question, i) => JSON.stringify({ id: `q${i + 1}`, question })).join("\n") + "\n"
  )
  const batch = run(
    "effect-dspy batch",
    bin,
    ["batch", "--input", "items.jsonl", "--output", "results.jsonl", "--model", "simulator/sim-1", "--json"],
    { cwd: project, env: cleanEnv(), timeoutMillis: 120_000 }
  )
  const lines = fs.readFileSync(path.join(project, "results.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
  const ids = lines.map((l) => l.id).sort()
  if (JSON.stringify(ids) !== JSON.stringify(["q1", "q2", "q3"])) fail(`effect-dspy batch: output ids ${ids.join(", ")}`)
  const failed = lines.filter((l) => l.status !== "success")
  if (failed.length > 0) fail(`effect-dspy batch: ${failed.length} item(s) failed: ${JSON.stringify(failed)}`)
  log(`effect-dspy batch: ${lines.length} results; summary ${batch.stdout.trim()}`)
}

/** The packed package.json publishes only the build, and everything it names is in the tarball. */
function checkTarball(name, tarball) {
  const listing = new Set(execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean))
  const manifest = JSON.parse(execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }))
  const problems = []
  const has = (target) => listing.has(`package/${target.replace(/^\.\//, "")}`)
  for (const [key, target] of Object.entries(manifest.exports ?? {})) {
    if (key.includes("*")) problems.push(`exports has a pattern (${key})`)
    if (key === "./package.json") continue
    if (typeof target !== "object" || target === null) {
      problems.push(`exports["${key}"] is not a { types, import } object`)
      continue
    }
    if (JSON.stringify(Object.keys(target)) !== JSON.stringify(["types", "import"])) {
      problems.push(`exports["${key}"] has conditions ${Object.keys(target).join(", ")} (want types, import)`)
    }
    for (const file of Object.values(target)) {
      if (!String(file).startsWith("./dist/")) problems.push(`exports["${key}"] points outside dist: ${file}`)
      else if (!has(file)) problems.push(`exports["${key}"] names ${file}, which is not in the tarball`)
    }
  }
  if (manifest.exports?.["."] === undefined) problems.push("no main entry point")
  for (const [command, file] of Object.entries(manifest.bin ?? {})) {
    if (!String(file).startsWith("./dist/") || !has(file)) problems.push(`bin ${command} -> ${file} is not a built file`)
  }
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith("workspace:")) problems.push(`${field}.${dep} is still ${range}`)
    }
  }
  if ([...listing].some((f) => f.includes("/test/") || f.endsWith(".tsbuildinfo"))) problems.push("tests or build info were packed")
  if (problems.length > 0) fail(`pack ${name}: ${problems.join("; ")}`)
}

let code = 0
try {
  main()
  log("passed")
} catch (error) {
  code = 1
  console.error(`pack-and-consume: FAILED: ${error instanceof StepFailure ? error.message : error?.stack ?? error}`)
} finally {
  if (keep) log(`kept ${work}`)
  else fs.rmSync(work, { recursive: true, force: true })
}
process.exit(code)
