#!/usr/bin/env node
// The `effect-dspy` command inside this repository, on the sources: `pnpm exec effect-dspy ...`
// (the workspace links this file as the bin). tsx is registered in this process and the command
// runs here, not in a child, so Ctrl-C and `kill` reach the runner itself. The published package
// runs the build instead (`publishConfig.bin`: dist/bin.js).
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
