// Mocha settings for both suites (npm test, npm run test:integration).
// Under CI (CI=true, as GitHub Actions sets it) a skipped or pending test FAILS the run
// ("Pending test forbidden"): a missing tool (moto, a Docker engine) must turn CI red, not quietly
// green. Locally, suites that need such a tool skip with a one-line reason.
"use strict";
module.exports = {
    require: ["ts-node/register/transpile-only"],
    extension: ["ts"],
    timeout: 60000,
    reporter: "spec",
    "forbid-pending": process.env.CI === "true",
};
