import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const LIB = path.resolve(__dirname, "../lib");

/** Every lib module's relative imports, as project-relative paths without extension. */
function libImports(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const abs = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(abs);
            else if (entry.name.endsWith(".ts")) {
                const src = fs.readFileSync(abs, "utf8");
                const specs = [...src.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms)].map((m) => m[1]);
                const me = path.relative(LIB, abs).replace(/\.ts$/, "");
                out.set(me, specs.map((s) => path.relative(LIB, path.resolve(path.dirname(abs), s))));
            }
        }
    };
    walk(LIB);
    return out;
}

describe("lib layering", () => {
    it("lib/config imports nothing from lib/images (images contribute their checks through GATE_CHECKS)", () => {
        const offending = [...libImports()].filter(([m]) => m.startsWith("config/")).flatMap(([m, deps]) => deps.filter((d) => !d.startsWith("config/")).map((d) => `${m} -> ${d}`));
        assert.deepEqual(offending, []);
    });

    // Import cycles anywhere in the sources (lib included): test/importCycles.test.ts.
});
