/**
 * #27 review, finding 5: the weekly job's GitHub App token (actions/create-github-app-token, pinned SHA
 * 1b10c78c…) names the repositories it may touch: exactly those prod's program writes to, derived from
 * Pulumi.prod.yaml (mlci:github.workflowRepository and every mlci:github.repositories[].name). Without
 * `repositories:` the token covers every repository the App is installed on.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

const ROOT = path.join(__dirname, "..");

function appTokenStep(): Record<string, any> {
    const wf = YAML.parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "weekly-rebuild.yml"), "utf8"));
    const steps = Object.values(wf.jobs as Record<string, { steps?: Record<string, any>[] }>).flatMap((j) => j.steps ?? []);
    const found = steps.filter((s) => typeof s.uses === "string" && s.uses.startsWith("actions/create-github-app-token@"));
    assert.strictEqual(found.length, 1, "one app-token step");
    return found[0];
}

/** The repositories prod's program writes variables, secrets and environments to. */
function prodGithubRepositories(): string[] {
    const gh = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config["mlci:github"];
    return [...new Set([gh.workflowRepository as string, ...(gh.repositories as { name: string }[]).map((r) => r.name)])].sort();
}

describe("the weekly job's App token is scoped to prod's repositories (#27 review, finding 5)", () => {
    it("repositories: exactly the workflow repository and every target repository of Pulumi.prod.yaml", () => {
        const step = appTokenStep();
        const listed = String(step.with?.repositories ?? "").split(/[,\n]/).map((r) => r.trim()).filter((r) => r !== "").sort();
        assert.deepStrictEqual(listed, prodGithubRepositories());
        assert.strictEqual(step.with.owner, "${{ github.repository_owner }}");
    });

    it("no permission-* input while the pinned action cannot request the Variables permission (the token would lose variables write)", () => {
        const step = appTokenStep();
        assert.deepStrictEqual(Object.keys(step.with ?? {}).filter((k) => k.startsWith("permission-")), []);
    });
});
