// Mocha's spec reporter, plus the pass/fail counts written to $MLCI_TEST_COUNTS for .ci/run.
"use strict";
const fs = require("fs");
const Mocha = require("mocha");

class CountingSpec extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const s = this.stats;
            const line = `${s.passes} passed, ${s.failures} failed${s.pending ? `, ${s.pending} skipped` : ""}\n`;
            if (process.env.MLCI_TEST_COUNTS) fs.writeFileSync(process.env.MLCI_TEST_COUNTS, line);
        });
    }
}
module.exports = CountingSpec;
