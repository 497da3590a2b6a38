import { strict as assert } from "assert";
import fc from "fast-check";
import { FAST_CHECK_SEED } from "./fastCheckSeed";

describe("fast-check runs from a fixed seed (test/fastCheckSeed.ts, loaded by .mocharc.js)", () => {
    it("every property gets the seed, so two runs draw the same values", () => {
        assert.equal(fc.readConfigureGlobal().seed, FAST_CHECK_SEED);
        const draw = () => fc.sample(fc.integer(), { numRuns: 5 });
        assert.deepEqual(draw(), draw());
    });

    it("a failing property names its seed in the failure message", () => {
        assert.throws(
            () => fc.assert(fc.property(fc.integer({ min: 10, max: 20 }), (n) => n < 15)),
            (e: Error) => e.message.includes(`seed: ${FAST_CHECK_SEED}`) && /Counterexample: \[15\]/.test(e.message),
        );
    });
});
