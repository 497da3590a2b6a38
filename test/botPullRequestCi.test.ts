import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";

// A pull request opened (or a branch pushed) with the run's GITHUB_TOKEN starts no workflow
// ("events triggered by the GITHUB_TOKEN, with the exception of workflow_dispatch and
// repository_dispatch, will not create a new workflow run": docs.github.com/actions/concepts/security/github_token;
// github.blog changelog 2022-05-03). So the bot PRs dispatch the test workflow on their branch.
const ROOT = path.resolve(__dirname, "..");
const workflow = (file: string) => YAML.parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", file), "utf8"));

describe("bot pull requests get CI (workflow_dispatch on the automation branch)", () => {
    it("test.yml can be dispatched", () => {
        assert.ok("workflow_dispatch" in workflow("test.yml").on);
    });
    for (const file of ["lock-refresh.yml", "digest-bump.yml"]) {
        it(`${file}: the PR step dispatches test.yml on its branch, with actions: write in the job only`, () => {
            const wf = workflow(file);
            const [job] = Object.values(wf.jobs) as { permissions: Record<string, string>; steps: { run?: string; env?: Record<string, string> }[] }[];
            assert.deepEqual(job.permissions, { contents: "write", "pull-requests": "write", actions: "write" });
            const pr = job.steps.find((s) => (s.run ?? "").includes(".github/scripts/open-pull-request.sh"))!;
            assert.equal(pr.env?.DISPATCH_WORKFLOWS, "test.yml");
            assert.equal(pr.env?.GH_TOKEN, "${{ github.token }}");
        });
    }
    it("open-pull-request.sh dispatches each DISPATCH_WORKFLOWS workflow on automation/<name> after the push", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-dispatch-"));
        const log = path.join(dir, "calls.log");
        fs.writeFileSync(path.join(dir, "git"), `#!/usr/bin/env bash\necho "git $*" >> "${log}"\nif [[ "$1 $2" == "diff --quiet" ]]; then exit 1; fi\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "gh"), `#!/usr/bin/env bash\necho "gh $*" >> "${log}"\n`, { mode: 0o755 });
        const r = spawnSync("bash", [path.join(ROOT, ".github/scripts/open-pull-request.sh"), "digest-bump", "t", "b"], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, GH_TOKEN: "t0k", GITHUB_REPOSITORY: "o/r", DISPATCH_WORKFLOWS: "test.yml" } });
        assert.equal(r.status, 0, r.stderr);
        const calls = fs.readFileSync(log, "utf8").trim().split("\n");
        const push = calls.findIndex((c) => c.startsWith("git push --force"));
        const dispatch = calls.indexOf("gh workflow run test.yml --ref automation/digest-bump");
        assert.ok(push >= 0 && dispatch > push, calls.join("\n"));
    });
});
