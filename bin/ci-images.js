#!/usr/bin/env node
// Offline CLI for CI: computes the same image graph and content-hash tags as the Pulumi program.
"use strict";
const path = require("path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("../cli/main").main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
        process.stderr.write(`ci-images: ${err && err.stack ? err.stack : err}\n`);
        process.exit(1);
    },
);
