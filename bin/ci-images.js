#!/usr/bin/env node
// Offline CLI for CI: computes the same image graph and content-hash tags as the Pulumi program.
// Runs the compiled, bundled CLI (dist/ci-images.js, built by `npm run build`, which `npm ci` runs
// through `prepare`; scripts/bundle-cli.js).
"use strict";
let main;
try {
    ({ main } = require("../dist/ci-images.js"));
} catch (err) {
    if (err && err.code === "MODULE_NOT_FOUND" && /dist[\\/]ci-images\.js/.test(err.message)) {
        process.stderr.write("ci-images: the CLI is not built (no dist/ci-images.js). Fix: npm run build (npm ci runs it)\n");
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
