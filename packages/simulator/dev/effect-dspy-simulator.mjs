#!/usr/bin/env node
// The `effect-dspy-simulator` server inside this repository, on the sources: `pnpm exec effect-dspy-simulator ...`
// (the workspace links this file as the bin). tsx is registered in this process and the command
// runs here, not in a child, so Ctrl-C and `kill` reach the server itself. The published package
// runs the build instead (`publishConfig.bin`: dist/bin.js).
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
