/**
 * The toolchain the workflows run and what keeps it current: Node 24 (an LTS line; Node 20 reached its end of
 * life on 2026-04-30, nodejs/Release schedule) in every setup-node, and a Dependabot config for the
 * SHA-pinned actions and the npm dependencies.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { readWorkflow, WORKFLOW_DIR } from "./workflows.test";

const ROOT = path.resolve(__dirname, "..");
/** The Node.js line every job installs. */
const NODE_LINE = "24";

describe("toolchain", () => {
    it("every setup-node installs Node 24, and every workflow that runs npm sets Node up", () => {
        const files = fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f));
        let count = 0;
        for (const file of files) {
            const { doc } = readWorkflow(file);
            for (const [name, job] of Object.entries((doc.jobs ?? {}) as Record<string, { steps?: { uses?: string; run?: string; with?: Record<string, unknown> }[] }>)) {
                const steps = job.steps ?? [];
                const setups = steps.filter((s) => s.uses?.startsWith("actions/setup-node@"));
                for (const s of setups) {
                    assert.strictEqual(String(s.with?.["node-version"]), NODE_LINE, `${file} ${name}: node-version ${s.with?.["node-version"]}`);
                    count++;
                }
                if (steps.some((s) => /\bnpm (ci|test|run)\b/.test(s.run ?? ""))) assert.ok(setups.length > 0, `${file} ${name} runs npm on the runner's default Node`);
            }
        }
        assert.ok(count >= 5, `${count} setup-node steps`);
    });

    describe(".github/dependabot.yml", () => {
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, ".github", "dependabot.yml"), "utf8"));
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

        it("parses as Dependabot version 2 and covers github-actions and npm at the root, each on a schedule", () => {
            assert.strictEqual(doc.version, 2);
            const ecosystems = (doc.updates as { "package-ecosystem": string }[]).map((u) => u["package-ecosystem"]).sort();
            assert.deepStrictEqual(ecosystems, ["github-actions", "npm"]);
            for (const u of doc.updates) {
                assert.strictEqual(u.directory, "/", u["package-ecosystem"]);
                assert.ok(["daily", "weekly", "monthly"].includes(u.schedule?.interval), `${u["package-ecosystem"]}: schedule.interval ${u.schedule?.interval}`);
                for (const key of Object.keys(u)) assert.ok(["package-ecosystem", "directory", "schedule", "groups", "ignore", "commit-message", "open-pull-requests-limit"].includes(key), `unknown key ${key}`);
            }
        });

        it("keeps the deliberately pinned Pulumi SDK line and @pulumi/command where they are, and names only real dependencies", () => {
            const npm = doc.updates.find((u: { "package-ecosystem": string }) => u["package-ecosystem"] === "npm");
            const deps = { ...pkg.dependencies, ...pkg.devDependencies };
            for (const rule of npm.ignore) assert.ok(rule["dependency-name"] in deps, `${rule["dependency-name"]} is not a dependency`);
            const sdk = npm.ignore.find((r: { "dependency-name": string }) => r["dependency-name"] === "@pulumi/pulumi");
            assert.deepStrictEqual(sdk["update-types"].sort(), ["version-update:semver-major", "version-update:semver-minor"], "3.248.x: patches only");
            const command = npm.ignore.find((r: { "dependency-name": string }) => r["dependency-name"] === "@pulumi/command");
            assert.strictEqual(command["update-types"].length, 3, "1.2.1 exactly");
        });
    });

    it("engines stays >=20.19 for the developers' Node 20 machines, and docs/cli.md says why (Node 20 is past its end of life)", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.strictEqual(pkg.engines.node, ">=20.19");
        const cli = fs.readFileSync(path.join(ROOT, "docs", "cli.md"), "utf8");
        assert.match(cli, /`engines` stays at `>=20.19` on purpose, although Node 20 reached its end of life on 2026-04-30,\s+because the developers' machines still run Node 20/);
    });
});
