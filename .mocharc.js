// Mocha settings for both suites (npm test, npm run test:integration).
// Under CI (CI=true, as GitHub Actions sets it) a skipped or pending test FAILS the run
// ("Pending test forbidden"): a missing tool (moto, a Docker engine) must turn CI red, not quietly
// green. Locally, suites that need such a tool skip with a one-line reason.
"use strict";
module.exports = {
    // test/fastCheckSeed.ts: one fixed fast-check seed for every property (FAST_CHECK_SEED overrides).
    require: ["ts-node/register/transpile-only", "./test/fastCheckSeed.ts"],
    extension: ["ts"],
    timeout: 60000,
    reporter: "spec",
    "forbid-pending": process.env.CI === "true",
};
