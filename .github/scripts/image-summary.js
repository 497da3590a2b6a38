#!/usr/bin/env node
// Job summary of a weekly `pulumi up`: which images were built, adopted, or failed.
//
// Usage: node .github/scripts/image-summary.js <stack-outputs.json> <expected-tags.json> <up-outcome>
//   stack-outputs.json  `pulumi stack output --json` (the program exports `images` and `builtImages`)
//   expected-tags.json  `ci-images tags --stack <stack> --json` (`{ images: [{ name, tag }] }`)
//   up-outcome          the `pulumi up` step's outcome: success, failure, cancelled or skipped
// Prints Markdown on stdout. When GITHUB_OUTPUT is set, writes `failed=<comma-separated names>` to it.
//
// A failed `pulumi up` does not update the stack outputs: they still describe the last successful
// run. So after a failure the outputs' `builtImages` is stale and is not reported; an image counts
// as current only when its output tag is the tag this run expected, and as failed otherwise.
"use strict";
const fs = require("fs");

function readJson(file, what) {
    let text;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        return { problem: `${what} (${file}) could not be read: ${e.message}` };
    }
    if (text.trim() === "") return { problem: `${what} (${file}) is empty` };
    try {
        return { value: JSON.parse(text) };
    } catch (e) {
        return { problem: `${what} (${file}) is not JSON: ${e.message}` };
    }
}

/** Classifies every expected image; pure, exported for tests. */
function classify(outputs, expected, upOutcome) {
    const images = outputs && typeof outputs.images === "object" && outputs.images !== null ? outputs.images : {};
    const builtNames = new Set(Array.isArray(outputs && outputs.builtImages) ? outputs.builtImages : []);
    const result = { built: [], adopted: [], failed: [] };
    for (const { name, tag } of expected) {
        const current = images[name];
        const isCurrent = current !== undefined && current.tag === tag;
        if (upOutcome === "success" && current !== undefined) {
            (builtNames.has(name) ? result.built : result.adopted).push(name);
        } else if (upOutcome !== "success" && isCurrent) {
            result.adopted.push(name);
        } else {
            result.failed.push(name);
        }
    }
    return result;
}

function main(argv) {
    const [outputsFile, expectedFile, upOutcome] = argv;
    if (!outputsFile || !expectedFile || !upOutcome) {
        process.stderr.write("usage: image-summary.js <stack-outputs.json> <expected-tags.json> <up-outcome>\n");
        return 2;
    }
    const lines = [`### Images: \`pulumi up\` ${upOutcome}`, ""];
    const outputs = readJson(outputsFile, "stack outputs");
    const expected = readJson(expectedFile, "expected tags");
    const problems = [outputs.problem, expected.problem].filter(Boolean);
    const list = expected.value && Array.isArray(expected.value.images) ? expected.value.images : undefined;
    if (expected.value && !list) problems.push(`expected tags (${expectedFile}) has no "images" list`);
    if (problems.length > 0 || !list) {
        lines.push(...problems.map((p) => `- ${p}`));
        process.stdout.write(`${lines.join("\n")}\n`);
        return 1;
    }
    const { built, adopted, failed } = classify(outputs.value ?? {}, list, upOutcome);
    const section = (title, names) => [`**${title} (${names.length})**`, names.length > 0 ? names.map((n) => `- \`${n}\``).join("\n") : "- none", ""];
    if (upOutcome === "success") lines.push(...section("Built", built));
    lines.push(...section(upOutcome === "success" ? "Adopted (tag already in the registry)" : "Current (expected tag already in the stack outputs)", adopted));
    lines.push(...section(upOutcome === "success" ? "Missing from the stack outputs" : "Failed or not reached", failed));
    process.stdout.write(`${lines.join("\n")}\n`);
    if (process.env.GITHUB_OUTPUT) fs.appendFileSync(process.env.GITHUB_OUTPUT, `failed=${failed.join(",")}\n`);
    return 0;
}

module.exports = { classify };
if (require.main === module) process.exit(main(process.argv.slice(2)));
