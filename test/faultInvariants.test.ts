import { strict as assert } from "assert";
import { checkFaultInvariants, smokeTestedFromLog } from "./faultInvariants";

const R = "ns/base";
const H = "0123456789ab";
const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const snap = (o: Record<string, string>) => new Map(Object.entries(o).map(([t, d]) => [`${R}:${t}`, d]));
const whole = async () => true;

describe("the fault suite's invariants (test/faultInvariants.ts) catch what they must", () => {
    it("a clean promotion passes: new build marked after its smoke test, -latest moved onto it", async () => {
        const before = snap({ "py3.11-h000000000000": B, "py3.11-ok000000000000": B, "py3.11-latest": B });
        const after = snap({ "py3.11-h000000000000": B, "py3.11-ok000000000000": B, [`py3.11-h${H}`]: A, [`py3.11-ok${H}`]: A, "py3.11-latest": A, "py3.11-20261207": A });
        assert.deepEqual(await checkFaultInvariants(before, after, new Set([A]), whole), { imagesLost: [], halfPromotions: [] });
    });

    it("a marker on a digest no smoke test ran, not pushed whole, or not its build's, is a half-promotion", async () => {
        const after = snap({ [`py3.11-h${H}`]: A, [`py3.11-ok${H}`]: A, [`py3.11-ok${H}-r1`]: A });
        const found = await checkFaultInvariants(new Map(), after, new Set(), async () => false);
        assert.deepEqual(found.halfPromotions.sort(), [
            `${R}:py3.11-ok${H} on ${A}, which is not pushed whole`,
            `${R}:py3.11-ok${H} on ${A}, which no smoke test ran`,
            `${R}:py3.11-ok${H}-r1 on ${A}, not on its build py3.11-f${H}-r1`,
            `${R}:py3.11-ok${H}-r1 on ${A}, which is not pushed whole`,
            `${R}:py3.11-ok${H}-r1 on ${A}, which no smoke test ran`,
        ]);
    });

    it("-latest or a dated tag on an unmarked digest is a half-promotion", async () => {
        const after = snap({ [`py3.11-h${H}`]: A, "py3.11-latest": A, "py3.11-20261207": A });
        const found = await checkFaultInvariants(new Map(), after, new Set([A]), whole);
        assert.deepEqual(found.halfPromotions.sort(), [`${R}:py3.11-20261207 on unmarked ${A}`, `${R}:py3.11-latest on unmarked ${A}`]);
    });

    it("a tag lost, or moved otherwise than by a promotion, is a lost image", async () => {
        const before = snap({ [`py3.11-h${H}`]: A, [`py3.11-ok${H}`]: A, "py3.11-latest": A, "release-1": B });
        const after = snap({ [`py3.11-h${H}`]: B, "py3.11-latest": B });
        const found = await checkFaultInvariants(before, after, new Set(), whole);
        assert.deepEqual(found.imagesLost.sort(), [`${R}:py3.11-h${H} was ${A}, now ${B}`, `${R}:py3.11-latest was ${A}, now ${B}`, `${R}:py3.11-ok${H} was ${A}, now gone`, `${R}:release-1 was ${B}, now gone`]);
    });

    it("only a smoke test that exited 0 counts as passed (the docker wrapper logs each command's exit status after it ran)", () => {
        const ok = `sha256:${"a".repeat(64)}`;
        const failed = `sha256:${"b".repeat(64)}`;
        const log = [
            `exit=0 build --network host -t r/base:py3.11-h0123456789ab .`,
            `exit=0 run --rm --network host r/base:py3.11-h0123456789ab@${ok} python -c import goodmod`,
            `exit=1 run --rm --network host r/base:py3.11-h0123456789ac@${failed} python -c import goodmod`,
        ].join("\n");
        assert.deepEqual([...smokeTestedFromLog(log)], [ok]);
    });
});
