import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..");
const STACKS = fs.readdirSync(ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));

/** Every `mlci:families.<f>.baseImages` pin of a shipped stack file, as [stack file, family, key, ref]. */
function pins(): [string, string, string, string][] {
    const out: [string, string, string, string][] = [];
    for (const file of STACKS) {
        const doc = parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config?: Record<string, unknown> };
        const families = (doc.config?.["mlci:families"] ?? {}) as Record<string, { baseImages?: Record<string, string> }>;
        for (const [family, f] of Object.entries(families)) for (const [key, ref] of Object.entries(f.baseImages ?? {})) out.push([file, family, key, ref]);
    }
    return out;
}

describe("shipped base-image pins (Pulumi.<stack>.yaml)", () => {
    it("every stack pins some base image (the test reads the real files)", () => {
        assert.ok(STACKS.length >= 3, STACKS.join(","));
        assert.ok(pins().length >= 6, JSON.stringify(pins()));
    });
    it("no shipped stack pins an all-zero placeholder digest", () => {
        const zero = pins().filter(([, , , ref]) => /@sha256:0{64}$/.test(ref));
        assert.deepEqual(zero, []);
    });
    it("every pin is repository:tag@sha256:<64 hex>", () => {
        for (const [file, family, key, ref] of pins()) assert.match(ref, /^[a-z0-9./_-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$/, `${file} ${family}.${key}`);
    });
    it("a tag pins the same digest in every stack (one upstream image, one digest)", () => {
        const seen = new Map<string, string>();
        for (const [file, , , ref] of pins()) {
            const [image, digest] = ref.split("@");
            if (seen.has(image)) assert.equal(digest, seen.get(image), `${file}: ${image}`);
            seen.set(image, digest);
        }
    });
});
