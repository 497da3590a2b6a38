#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js, from `tsc -p tsconfig.cli.json`) into one file,
// dist/ci-images.js, which bin/ci-images.js runs: one file to read and compile instead of ~250
// modules of zod, yaml and dockerfile-ast (CLI start-up, docs/benchmarks.md). The AWS SDK stays
// external: only the registry commands load it, on first use.
"use strict";
const path = require("path");
const root = path.resolve(__dirname, "..");
require("esbuild").buildSync({
    entryPoints: [path.join(root, "dist", "cli", "main.js")],
    outfile: path.join(root, "dist", "ci-images.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: ["@aws-sdk/*"],
    logLevel: "warning",
});
