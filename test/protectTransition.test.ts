/**
 * pulumi/pulumi#13428: `protect` and `retainOnDelete` are read from the state, so turning `registry.protect` on in the
 * same update as a change that replaces or deletes a repository still deletes it. `ci-images check --since <rev>`
 * refuses that combination; turning protect on alone, or the change alone, passes.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { protectTransitionProblems, replacedRepositories } from "../lib/registry/protectTransition";
import { cliFixtureProject, runCli } from "./cliContext";

const plan = (prefix: string, protect: boolean, families = ["base", "nightly"], encryption: unknown = { type: "AES256" }) => ({ registry: { prefix, protect, encryption }, families: families.map((name) => ({ name })) });

describe("turning registry.protect on together with a repository replacement (pulumi/pulumi#13428)", function () {
    this.timeout(60_000);

    it("as data: a renamed prefix, a removed family or an encryption change replaces repositories; protect alone does not", () => {
        assert.deepStrictEqual(replacedRepositories(plan("ml-ci", false), plan("ml-ci2", true)), ["ml-ci/base", "ml-ci/nightly"]);
        assert.deepStrictEqual(replacedRepositories(plan("ml-ci", false), plan("ml-ci", true, ["base"])), ["ml-ci/nightly"]);
        assert.deepStrictEqual(replacedRepositories(plan("ml-ci", false), plan("ml-ci", true, undefined, { type: "KMS" })), ["ml-ci/base", "ml-ci/nightly"]);
        assert.deepStrictEqual(protectTransitionProblems(plan("ml-ci", false), plan("ml-ci", true)), [], "protect alone");
        assert.deepStrictEqual(protectTransitionProblems(plan("ml-ci", false), plan("ml-ci2", false)), [], "the change alone (protect stays off)");
        assert.deepStrictEqual(protectTransitionProblems(plan("ml-ci", true), plan("ml-ci", true, ["base"])), [], "already protected in state: Pulumi refuses the delete itself");
        assert.deepStrictEqual(protectTransitionProblems(plan("ml-ci", false), plan("ml-ci2", true)).map((p) => p.path), ["registry.protect"]);
    });

    it("ci-images check --since refuses the combined change, naming the repositories and the two-step fix", async () => {
        const root = cliFixtureProject();
        const file = path.join(root, "Pulumi.ci.yaml");
        const edit = (f: (registry: Record<string, unknown>) => void) => {
            const doc = YAML.parse(fs.readFileSync(file, "utf8"));
            f(doc.config["mlci:registry"]);
            fs.writeFileSync(file, YAML.stringify(doc));
        };
        edit((r) => (r.protect = false));
        const git = (...a: string[]) => execFileSync("git", a, { cwd: root, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
        git("init", "-q");
        git("add", "-A");
        git("commit", "-qm", "unprotected");
        edit((r) => { r.protect = true; r.prefix = "ml-ci-v2"; });
        const both = await runCli(["check", "--stack", "ci", "--root", root, "--since", "HEAD"]);
        assert.strictEqual(both.code, 1);
        assert.match(both.stderr, /config mlci:registry\.protect: turns on in the same update that deletes or replaces ml-ci\/base, .*pulumi\/pulumi#13428.*\. Fix: make two updates: first turn protect on alone/);
        edit((r) => { r.prefix = "ml-ci"; });
        const alone = await runCli(["check", "--stack", "ci", "--root", root, "--since", "HEAD"]);
        assert.strictEqual(alone.code, 0, alone.stderr);
    });
});
