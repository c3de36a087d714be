#!/usr/bin/env node
/**
 * Packs every public package as it would be published and uses the tarballs the way a user
 * does, outside this workspace:
 *
 *   node test/pack/run.mjs [--no-build] [--keep]      (`pnpm test:pack`)
 *
 * 1. builds (`pnpm build`, unless --no-build), packs each public package with `pnpm pack` and
 *    checks the tarball: exports only into dist/ with `types` and `import` conditions and every
 *    target present, no `workspace:` range, bins into dist/ (executable, with a node shebang),
 *    a README.md and the LICENSE;
 *    nothing in dist/ without its module in src/ (a stale build), source and declaration maps
 *    that point at shipped files, declaration files that import only shipped files, declared
 *    packages and exported subpaths of ours;
 * 2. installs the tarballs with npm into a new project under the system's temporary directory,
 *    first with the README's own command (the ```sh block after `<!-- pack-test: install -->`,
 *    our package names swapped for the tarballs), which must resolve without an ERESOLVE
 *    warning; third-party packages and the peers come from the npm registry, as npm installs
 *    them, and must come to one copy each of `effect` and every `@effect/*` package, all on the
 *    Effect 3 line;
 * 3. runs the README's install program (the ```js block after `<!-- pack-test: main.mjs -->`)
 *    with plain `node`, on the simulator (EFFECT_DSPY_MODEL=simulator/sim-1), then imports every
 *    public entry point of every package with plain `node`;
 * 4. type-checks a TypeScript consumer (module/moduleResolution nodenext, strict,
 *    skipLibCheck false) that uses every package's main entry point (`consumer.ts`) and imports
 *    every subpath export, and checks that internal modules cannot be imported; then the same
 *    imports with moduleResolution bundler;
 * 5. runs the installed `effect-dspy --help`, `npx effect-dspy --version` and one offline
 *    `effect-dspy batch`.
 *
 * Exits 1 at the first step that fails, naming it. --keep leaves the project (its path is
 * printed) for a closer look, e.g. to time `node_modules/.bin/effect-dspy --help`.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

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

  // 2. install the tarballs into a fresh npm project, outside the workspace: first as the
  // README says, then the rest
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
        // our packages depend on each other by version: take them from these tarballs, never
        // from the registry
        overrides: files
      },
      null,
      2
    )
  )
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const installBlock = /<!-- pack-test: install -->\n```sh\n([\s\S]*?)\n```/.exec(readme)
  if (installBlock === null) fail("README: no ```sh block after <!-- pack-test: install -->")
  const installLines = installBlock[1].split("\n").map((line) => line.replace(/#.*$/, "").trim()).filter((line) => line !== "")
  const installedWords = []
  for (const line of installLines) {
    const installWords = line.split(/\s+/)
    if (installWords[0] !== "npm" || !["i", "install"].includes(installWords[1])) {
      fail(`README: an install line is not \`npm i ...\`: ${line}`)
    }
    installedWords.push(...installWords.slice(2))
    const installSpecs = installWords.slice(2).map((spec) => files[spec] ?? spec)
    log(`installing with npm into ${project}: npm i ${installWords.slice(2).join(" ")} (ours from the tarballs)`)
    const first = run("npm install (the README's command)", "npm", ["install", "--no-audit", "--no-fund", ...installSpecs], {
      cwd: project,
      env: cleanEnv(),
      timeoutMillis: 20 * 60_000
    })
    const conflicts = `${first.stdout}${first.stderr}`.split("\n").filter((line) => /ERESOLVE/.test(line))
    if (conflicts.length > 0) {
      fail(
        `npm install (the README's command): npm could not resolve the peers cleanly (${conflicts.length} ERESOLVE ` +
          `warnings: is a peer range open to Effect 4, or does the README name an unversioned peer?)\n` +
          `${first.stdout}${first.stderr}`
      )
    }
  }
  // the rest of ours, and the Anthropic SDK the consumer's type check imports (an optional peer of
  // @effect-dspy/providers, as a user of Anthropic adds it)
  const rest = [
    ...[...packed.keys()].filter((name) => !installedWords.includes(name)).map((name) => files[name]),
    `@effect/ai-anthropic@${providersManifest.peerDependencies["@effect/ai-anthropic"]}`
  ]
  run("npm install (the other packages)", "npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...rest], {
    cwd: project,
    env: cleanEnv(),
    timeoutMillis: 20 * 60_000
  })
  run(
    "npm install (typescript)",
    "npm",
    [
      "install",
      "--save-dev",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `typescript@${workspaceManifest.devDependencies.typescript}`,
      `@types/node@${workspaceManifest.devDependencies["@types/node"]}`
    ],
    { cwd: project, env: cleanEnv(), timeoutMillis: 20 * 60_000 }
  )
  checkEffectLine(project)

  // 3. the README's program, on plain node
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

  // every public entry point, as a module a user's program imports
  const entryPoints = [...packed.keys()].flatMap((name) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(project, "node_modules", name, "package.json"), "utf8"))
    return Object.keys(manifest.exports).filter((key) => key !== "./package.json")
      .map((key) => (key === "." ? name : `${name}/${key.slice(2)}`))
  })
  const imports = entryPoints.map((specifier, i) => `import * as M${i} from "${specifier}"`).join("\n")
  fs.writeFileSync(
    path.join(project, "entrypoints.mjs"),
    // (some modules hold types only and are empty at run time: loading is what is checked)
    `${imports}\nconsole.log([${entryPoints.map((_, i) => `M${i}`).join(", ")}].length)\n`
  )
  const loaded = run("node entrypoints.mjs", process.execPath, ["entrypoints.mjs"], { cwd: project, env: cleanEnv() })
  if (loaded.stdout.trim() !== String(entryPoints.length)) fail(`node entrypoints.mjs printed ${loaded.stdout.trim()}`)
  log(`node imports all ${entryPoints.length} public entry points`)
  fs.writeFileSync(
    path.join(project, "entrypoints.ts"),
    `${imports}\nexport const modules = [${entryPoints.map((_, i) => `M${i}`).join(", ")}] as const\n`
  )

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
        include: ["consumer.ts", "entrypoints.ts"]
      },
      null,
      2
    )
  )
  fs.copyFileSync(path.join(root, "test", "pack", "consumer.ts"), path.join(project, "consumer.ts"))
  const tsc = path.join(project, "node_modules", ".bin", "tsc")
  run("tsc (nodenext consumer)", tsc, ["-p", "tsconfig.json"], { cwd: project, env: cleanEnv() })
  log(`the nodenext TypeScript consumer type-checks (skipLibCheck: false, ${entryPoints.length} entry points)`)
  // a bundler's resolution (Vite, esbuild, webpack): the same exports through `types`/`import`
  fs.writeFileSync(
    path.join(project, "tsconfig.bundler.json"),
    JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022", "DOM"],
          module: "preserve",
          moduleResolution: "bundler",
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ["node"]
        },
        include: ["entrypoints.ts"]
      },
      null,
      2
    )
  )
  run("tsc (bundler consumer)", tsc, ["-p", "tsconfig.bundler.json"], { cwd: project, env: cleanEnv() })
  log("every entry point type-checks with moduleResolution bundler too")

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
  const cliVersion = JSON.parse(fs.readFileSync(path.join(project, "node_modules", "@effect-dspy", "cli", "package.json"), "utf8")).version
  if (viaNpx.stdout.trim() !== cliVersion) fail(`npx effect-dspy --version printed ${JSON.stringify(viaNpx.stdout)}, not ${cliVersion}`)
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

/**
 * What a tarball holds and what its packed package.json promises agree: it publishes only the
 * build, everything it names is in the tarball, and the build is complete and current.
 */
function checkTarball(name, tarball) {
  const verbose = execFileSync("tar", ["-tvzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean)
  const listing = new Set(execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean))
  const unpacked = fs.mkdtempSync(path.join(work, "unpacked-"))
  execFileSync("tar", ["-xzf", tarball, "-C", unpacked])
  const dir = path.join(unpacked, "package")
  const read = (file) => fs.readFileSync(path.join(dir, file), "utf8")
  const manifest = JSON.parse(read("package.json"))
  const problems = []
  const has = (target) => listing.has(`package/${path.posix.normalize(target.replace(/^\.\//, ""))}`)
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
    if (!String(file).startsWith("./dist/") || !has(file)) {
      problems.push(`bin ${command} -> ${file} is not a built file`)
      continue
    }
    const entry = verbose.find((line) => line.endsWith(` package/${file.slice(2)}`))
    if (entry === undefined || !/^-rwx/.test(entry)) problems.push(`bin ${command} -> ${file} is not executable in the tarball`)
    if (!read(file).startsWith("#!/usr/bin/env node\n")) problems.push(`bin ${command} -> ${file} does not start with #!/usr/bin/env node`)
  }
  const declared = new Set([
    manifest.name, // a package may import itself through its exports
    ...Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies })
  ])
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith("workspace:")) problems.push(`${field}.${dep} is still ${range}`)
    }
  }
  if ([...listing].some((f) => f.includes("/test/") || f.endsWith(".tsbuildinfo"))) problems.push("tests or build info were packed")
  for (const file of ["README.md", "LICENSE"]) if (!has(file)) problems.push(`no ${file} in the tarball`)

  for (const entry of listing) {
    const file = entry.slice("package/".length)
    if (!file.startsWith("dist/")) continue
    // a build left behind by a module that was renamed or removed (tsc -b never deletes outputs)
    const module = file.replace(/^dist\//, "src/").replace(/(\.d)?\.js(\.map)?$|\.d\.ts(\.map)?$/, ".ts")
    if (!listing.has(`package/${module}`)) problems.push(`${file} has no ${module}: a stale build (run \`pnpm clean && pnpm build\`)`)
    // maps point at shipped files
    if (file.endsWith(".map")) {
      const map = JSON.parse(read(file))
      for (const source of map.sources ?? []) {
        const target = path.posix.join(path.posix.dirname(file), map.sourceRoot ?? "", source)
        if (!has(target)) problems.push(`${file} points at ${source}, which is not in the tarball`)
      }
    }
    // declaration files import only shipped files, declared packages and exported subpaths of ours
    if (file.endsWith(".d.ts")) {
      for (const { fileName: spec } of ts.preProcessFile(read(file), true, true).importedFiles) {
        if (spec.startsWith(".")) {
          const target = path.posix.join(path.posix.dirname(file), spec).replace(/\.js$/, ".d.ts")
          if (!has(target)) problems.push(`${file} imports ${spec}, which is not in the tarball`)
          continue
        }
        if (spec.startsWith("node:")) continue
        const dep = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]
        if (dep === "src" || spec.includes("/src/")) problems.push(`${file} imports ${spec}: a source path`)
        if (!declared.has(dep)) {
          problems.push(`${file} imports ${spec}, but ${dep} is not a dependency or peer dependency`)
          continue
        }
        const ours = publicPackages.find((p) => p.manifest.name === dep)
        if (ours !== undefined) {
          const subpath = spec === dep ? "." : `./${spec.slice(dep.length + 1)}`
          if (ours.manifest.publishConfig?.exports?.[subpath] === undefined) {
            problems.push(`${file} imports ${spec}, which ${dep} does not export`)
          }
        }
      }
    }
  }
  fs.rmSync(unpacked, { recursive: true, force: true })
  if (problems.length > 0) fail(`pack ${name}: ${problems.join("; ")}`)
}

/**
 * The install came to one copy of `effect` and of each `@effect/*` package, all of the Effect 3
 * line (their `effect` peer range is ^3): two copies, or an Effect 4 package pulled in by an open
 * range, break at run time in ways no type check sees.
 */
function checkEffectLine(project) {
  const copies = new Map()
  const visit = (modules) => {
    if (!fs.existsSync(modules)) return
    for (const entry of fs.readdirSync(modules)) {
      const dirs = entry.startsWith("@")
        ? fs.readdirSync(path.join(modules, entry)).map((sub) => path.join(modules, entry, sub))
        : [path.join(modules, entry)]
      for (const dir of dirs) {
        const file = path.join(dir, "package.json")
        if (!fs.existsSync(file)) continue
        const manifest = JSON.parse(fs.readFileSync(file, "utf8"))
        if (manifest.name === "effect" || String(manifest.name).startsWith("@effect/")) {
          copies.set(manifest.name, [...(copies.get(manifest.name) ?? []), { dir, manifest }])
        }
        visit(path.join(dir, "node_modules"))
      }
    }
  }
  visit(path.join(project, "node_modules"))
  const problems = []
  for (const [name, found] of copies) {
    if (found.length > 1) {
      problems.push(`${found.length} copies of ${name}: ${found.map((c) => `${c.manifest.version} in ${path.relative(project, c.dir)}`).join(", ")}`)
    }
    for (const { manifest } of found) {
      if (name === "effect" ? !manifest.version.startsWith("3.") : !/^\^3\./.test(manifest.peerDependencies?.effect ?? "^3.")) {
        problems.push(`${name}@${manifest.version} is not of the Effect 3 line (effect ${manifest.peerDependencies?.effect ?? manifest.version})`)
      }
    }
  }
  if (problems.length > 0) fail(`npm install: ${problems.join("; ")}`)
  log(`npm installed effect ${copies.get("effect")?.[0]?.manifest.version} and ${copies.size - 1} @effect/* packages, one copy each, all of the Effect 3 line`)
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
