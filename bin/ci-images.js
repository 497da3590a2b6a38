#!/usr/bin/env node
// Offline CLI for CI: computes the same image graph and content-hash tags as the Pulumi program.
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs through `prepare`).
"use strict";
let main;
try {
    ({ main } = require("../dist/cli/main"));
} catch (err) {
    if (err && err.code === "MODULE_NOT_FOUND" && /dist[\\/]cli[\\/]main/.test(err.message)) {
        process.stderr.write("ci-images: the CLI is not built (no dist/cli/main.js). Fix: npm run build (npm ci runs it)\n");
        process.exit(1);
    }
    throw err;
}
main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
        process.stderr.write(`ci-images: ${err && err.stack ? err.stack : err}\n`);
        process.exit(1);
    },
);
