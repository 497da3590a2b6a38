/**
 * The pipeline's flow (issue #28): which event runs which job of weekly-rebuild.yml, judged with
 * GitHub's filter and expression rules (test/workflowTriggers.ts), plus what keeps a run alive on a
 * hosted runner: disk, BuildKit's cache, a killed run's lock, the age alert and the keepalive.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { evaluateIf, githubShellArgv, globRegExp, passesPatterns, pushTriggers } from "./workflowTriggers";
import { ECR_PREVIEW_READ_ACTIONS } from "../lib/access/ecrPolicies";
import { Job, jobNamed, readWorkflow, Step, stepIndex, WORKFLOW_DIR } from "./workflows.test";

const ROOT = path.resolve(__dirname, "..");
const WEEKLY = "weekly-rebuild.yml";

/** The contexts of a run: `event` and `ref`, with no repository variables set unless given. */
function runContexts(event: string, opts: { ref?: string; vars?: Record<string, string>; inputs?: Record<string, unknown> } = {}) {
    return { github: { event_name: event, ref: opts.ref ?? "refs/heads/main" }, vars: opts.vars ?? {}, inputs: opts.inputs ?? {}, runner: { environment: "github-hosted" } };
}

/** Local modules `file` imports, transitively (relative imports and requires; `import type` included). */
function importClosure(files: string[]): Set<string> {
    const seen = new Set<string>();
    const visit = (abs: string) => {
        if (seen.has(abs)) return;
        seen.add(abs);
        const text = fs.readFileSync(abs, "utf8");
        for (const m of text.matchAll(/\bfrom\s+"(\.{1,2}\/[^"]+)"|\brequire\("(\.{1,2}\/[^"]+)"\)|\bimport\("(\.{1,2}\/[^"]+)"\)/g)) {
            const spec = m[1] ?? m[2] ?? m[3];
            const base = path.resolve(path.dirname(abs), spec);
            const hit = [`${base}.ts`, path.join(base, "index.ts")].find((c) => fs.existsSync(c));
            if (hit) visit(hit);
        }
    };
    for (const f of files) visit(path.join(ROOT, f));
    return new Set([...seen].map((f) => path.relative(ROOT, f).split(path.sep).join("/")));
}

describe("GitHub's filter patterns and if: expressions (the test's model)", () => {
    it("follows the cheat sheet: * stops at /, ** crosses it, **/ may match nothing, ! excludes and order matters", () => {
        assert.ok(globRegExp("docs/**").test("docs/a/b/c.md"));
        assert.ok(!globRegExp("docs/*").test("docs/a/b.md"));
        assert.ok(globRegExp("*.md").test("README.md") && !globRegExp("*.md").test("docs/README.md"));
        assert.ok(globRegExp("**/*.js").test("app.js") && globRegExp("**/*.js").test("a/b/app.js"));
        assert.ok(globRegExp("Pulumi.prod.yaml").test("Pulumi.prod.yaml") && !globRegExp("Pulumi.prod.yaml").test("PulumiXprodXyaml"));
        assert.ok(passesPatterns(["docs/**", "!docs/**/*.md"], "docs/a.txt"));
        assert.ok(!passesPatterns(["docs/**", "!docs/**/*.md"], "docs/a/b.md"));
        assert.ok(passesPatterns(["docs/**", "!docs/**/*.md", "docs/keep/*.md"], "docs/keep/x.md"), "a later match wins");
    });

    it("evaluates the if: forms the workflows use, and refuses what it cannot judge", () => {
        const push = runContexts("push");
        assert.strictEqual(evaluateIf("github.ref == 'refs/heads/main'", push), true);
        assert.strictEqual(evaluateIf("github.ref == 'refs/heads/dev'", push), false);
        assert.strictEqual(evaluateIf("${{ github.event_name == 'schedule' || (github.event_name == 'workflow_dispatch' && inputs.rebuild-nightly) }}", push), false);
        assert.strictEqual(evaluateIf("github.event_name == 'workflow_dispatch' && inputs.rebuild-nightly", runContexts("workflow_dispatch", { inputs: { "rebuild-nightly": true } })), true);
        assert.strictEqual(evaluateIf("vars.CI_IMAGES_RUNNER == ''", push), true, "an unset variable is empty");
        assert.strictEqual(evaluateIf("vars.CI_IMAGES_RUNNER == ''", runContexts("push", { vars: { CI_IMAGES_RUNNER: "linux.8xlarge" } })), false);
        assert.throws(() => evaluateIf("always() && true", push), /function calls are not supported/);
    });
});

describe("build on merge: weekly-rebuild.yml on a push to main", () => {
    const { doc } = readWorkflow(WEEKLY);

    it("a push to main that touches docker/ triggers the workflow and runs the prod up job, in the weekly run's concurrency group", () => {
        const event = { branch: "main", changedFiles: ["docker/nightly/Dockerfile"] };
        assert.ok(pushTriggers(doc.on, event), JSON.stringify(doc.on.push ?? null));
        const up = jobNamed(WEEKLY, "up");
        assert.ok(evaluateIf(up.if, runContexts("push")), `up.if: ${up.if}`);
        assert.strictEqual(up.environment, "prod");
        assert.deepStrictEqual(up.concurrency, { group: "pulumi-up-prod", "cancel-in-progress": false }, "the same group as the schedule: never two ups at once");
        const upStep = (up.steps ?? []).find((s) => s.id === "up");
        assert.match(upStep?.run ?? "", /\bpulumi up --yes --stack prod\b/);
        assert.strictEqual(upStep?.if, undefined, "pulumi up itself is not skipped on push");
    });

    it("so does a change to anything that shapes what up does (stack, program, policy pack, dependencies); docs, tests, the CLI and other stacks do not", () => {
        for (const f of ["Pulumi.prod.yaml", "Pulumi.yaml", "index.ts", "components/github/githubActionsConfig.ts", "lib/access/deployPolicy.ts", "lib/images/contentHash.ts", "lib/config/schema.ts", "policy/rules.ts", "package-lock.json", "package.json", "tsconfig.json", "docker/base/.dockerignore"]) {
            assert.ok(pushTriggers(doc.on, { branch: "main", changedFiles: [f] }), f);
        }
        for (const f of ["README.md", "docs/ci.md", "test/workflowFlow.test.ts", "Pulumi.dev.yaml", "cli/commands/wait.ts"]) {
            assert.ok(!pushTriggers(doc.on, { branch: "main", changedFiles: [f] }), f);
        }
        assert.ok(!pushTriggers(doc.on, { branch: "feature", changedFiles: ["docker/nightly/Dockerfile"] }), "only main");
    });

    it("the path filters cover every file of the program and of the policy pack (their import closures), and what they run on", () => {
        const closure = [...importClosure(["index.ts", "policy/index.ts"])].sort();
        for (const must of ["index.ts", "lib/images/contentHash.ts", "lib/stackPlan.ts", "policy/rules.ts"]) assert.ok(closure.includes(must), `${must} not in the closure: ${closure.join(", ")}`);
        assert.ok(closure.some((f) => f.startsWith("components/")), closure.join(", "));
        const uncovered = closure.filter((f) => !passesPatterns(doc.on.push.paths, f));
        assert.deepStrictEqual(uncovered, [], `program files a push would not apply: ${uncovered.join(", ")}`);
        for (const f of ["Pulumi.yaml", "package.json", "package-lock.json", "policy/PulumiPolicy.yaml"]) assert.ok(passesPatterns(doc.on.push.paths, f), f);
    });

    it("the schedule stays (02:17 UTC Sunday) and only it and rebuild-nightly move the epoch; a push keeps this week's", () => {
        assert.deepStrictEqual(doc.on.schedule, [{ cron: "17 2 * * 0" }]);
        const epoch = (jobNamed(WEEKLY, "up").steps ?? []).find((s) => /MLCI_REBUILD_EPOCH=/.test(s.run ?? ""));
        assert.ok(epoch?.if);
        assert.strictEqual(evaluateIf(epoch.if, runContexts("push")), false);
        assert.strictEqual(evaluateIf(epoch.if, runContexts("schedule")), true);
    });
});

describe("hosted runners: disk, BuildKit's cache and a killed run", () => {
    const up = () => jobNamed(WEEKLY, "up");
    const step = (pred: (s: Step) => boolean, what: string): [Step, number] => {
        const i = stepIndex(up(), pred);
        assert.ok(i >= 0, `no step that ${what}`);
        return [up().steps![i], i];
    };

    it("moves Docker's data root to /mnt when it exists, with Docker's build cache bounded, before anything is built", () => {
        const [move, i] = step((s) => /data-root/.test(s.run ?? ""), "moves the data root");
        assert.match(move.run!, /if ! mountpoint -q \/mnt; then/, "a /mnt directory is not a disk: only a mount point is");
        assert.match(move.run!, /"data-root": "\/mnt\/docker"/);
        // moby daemon/config/builder.go: defaultKeepStorage is a deprecated alias of defaultReservedSpace (a floor).
        assert.match(move.run!, /"builder": \{"gc": \{"enabled": true, "defaultMaxUsedSpace": "20GB", "defaultMinFreeSpace": "10GB"\}\}/);
        assert.doesNotMatch(move.run!, /defaultKeepStorage/);
        assert.match(move.run!, /systemctl restart docker/);
        assert.ok(evaluateIf(move.if, runContexts("push")));
        const [, upAt] = step((s) => s.id === "up", "runs pulumi up");
        assert.ok(i < upAt);
    });

    it("bounds the docker-container builder's cache with a BuildKit gc policy", () => {
        const [buildx] = step((s) => !!s.uses?.startsWith("docker/setup-buildx-action@"), "sets up buildx");
        const config = String(buildx.with?.["buildkitd-config-inline"] ?? "");
        assert.match(config, /\[worker\.oci\]/);
        assert.match(config, /gc = true/);
        assert.match(config, /maxUsedSpace = "20GB"/);
    });

    it("on every runner, fails fast unless it has the disk ci-images disk computes (after the move, before the build)", () => {
        const [check, i] = step((s) => /ci-images disk\b/.test(s.run ?? ""), "checks the disk");
        // An environment-level CI_IMAGES_RUNNER is not resolved in runs-on (github/docs#33389): the job may be
        // on ubuntu-latest while vars.CI_IMAGES_RUNNER is set, so the check cannot be skipped on that variable.
        assert.strictEqual(check.if, undefined, "the disk check always runs");
        for (const s of up().steps ?? []) assert.doesNotMatch(s.if ?? "", /CI_IMAGES_RUNNER/, `${s.name}: no step is skipped on the runner variable`);
        assert.match(check.run!, /npx ci-images disk --stack prod --free-gb "\$free_gb"/);
        assert.ok(i > stepIndex(up(), (s) => /data-root/.test(s.run ?? "")) && i < stepIndex(up(), (s) => s.id === "up"));
        assert.ok(i > stepIndex(up(), (s) => s.run === "npm run build"), "the CLI is built first");
    });

    /**
     * Runs the lock step's script as GitHub would (its shell, test/workflowTriggers.ts githubShellArgv) with a
     * fake `aws` over an in-memory bucket: `s3api list-objects-v2 --bucket --prefix --query 'Contents[].Key'
     * --output json` prints the keys under the prefix, or `null` when there are none, and exits 0 (as the real
     * CLI does); `s3 cp s3://b/k -` prints an object; `s3 rm` is logged.
     */
    function runLockStep(objects: Record<string, string>, backend = "s3://state-bucket/ml?region=us-east-1"): { removed: string[]; stdout: string; code: number | null } {
        const [lock] = step((s) => /\.pulumi\/locks\//.test(s.run ?? ""), "clears a stale lock");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-lock-"));
        fs.writeFileSync(path.join(dir, "objects.json"), JSON.stringify(objects));
        fs.writeFileSync(path.join(dir, "aws"), `#!${process.execPath}
const fs = require("fs");
const a = process.argv.slice(2);
const objects = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, "objects.json"))}, "utf8"));
const opt = (n) => a[a.indexOf(n) + 1];
if (a[0] === "s3api" && a[1] === "list-objects-v2") {
  if (opt("--query") !== "Contents[].Key" || opt("--output") !== "json") { console.error("unexpected " + a.join(" ")); process.exit(2); }
  const keys = Object.keys(objects).filter((k) => k.startsWith(opt("--bucket") + "/" + opt("--prefix"))).map((k) => k.slice(opt("--bucket").length + 1));
  console.log(JSON.stringify(keys.length ? keys : null));
} else if (a[0] === "s3" && a[1] === "cp" && a[3] === "-") {
  const o = objects[a[2].replace(/^s3:\\/\\//, "")];
  if (o === undefined) { console.error("An error occurred (404)"); process.exit(1); }
  process.stdout.write(o);
} else if (a[0] === "s3" && a[1] === "rm") {
  fs.appendFileSync(${JSON.stringify(path.join(dir, "calls"))}, a.join(" ") + "\\n");
} else { console.error("unexpected " + a.join(" ")); process.exit(2); }
`, { mode: 0o755 });
        const script = path.join(dir, "step.sh");
        fs.writeFileSync(script, lock.run!);
        const [shell, ...args] = githubShellArgv(lock).map((a) => (a === "{0}" ? script : a));
        const r = spawnSync(shell, args, { env: { PATH: `${dir}:${process.env.PATH}`, PULUMI_BACKEND_URL: backend, ...lock.env }, encoding: "utf8" });
        const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
        fs.rmSync(dir, { recursive: true, force: true });
        return { removed: calls, stdout: r.stdout + r.stderr, code: r.status };
    }
    /** A lock file's content as Pulumi writes it (pkg/backend/diy/lock.go lockContent), `minutes` old. */
    const lockJson = (minutes: number, username = "runner", hostname = "fv-az1234-56") => JSON.stringify({ pid: 4242, username, hostname, timestamp: new Date(Date.now() - minutes * 60_000).toISOString() });
    const OURS = "state-bucket/ml/.pulumi/locks/organization/ml-ci-images/prod";

    it("runs in bash with pipefail (shell: bash), this project's name being Pulumi.yaml's", () => {
        const [lock] = step((s) => /\.pulumi\/locks\//.test(s.run ?? ""), "clears a stale lock");
        assert.strictEqual(lock.shell, "bash");
        assert.deepStrictEqual(githubShellArgv(lock), ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"]);
        assert.strictEqual(lock.env?.PULUMI_PROJECT, /^name:\s*(\S+)/m.exec(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"))![1]);
        assert.doesNotMatch(lock.run!, /aws s3 ls/, "aws s3 ls exits 1 on an empty prefix");
    });

    it("clears this project's prod lock a runner left past the job's timeout plus a margin; keeps a younger one, other stacks', other projects' prod and a developer's", () => {
        const [lock, i] = step((s) => /\.pulumi\/locks\//.test(s.run ?? ""), "clears a stale lock");
        const timeout = up()["timeout-minutes"]!;
        const maxAge = Number(lock.env?.LOCK_MAX_AGE_MINUTES);
        assert.ok(maxAge >= timeout + 15 && maxAge <= timeout + 60, `${maxAge}: the job's timeout (${timeout}) plus a margin`);
        assert.ok(i > stepIndex(up(), (s) => s.id === "aws") && i < stepIndex(up(), (s) => s.id === "up"), "with the role, before pulumi up");
        const r = runLockStep({
            [`${OURS}/0a1b.json`]: lockJson(maxAge + 10),
            [`${OURS}/9f8e.json`]: lockJson(30),
            [`${OURS}/dev1.json`]: lockJson(9000, "alice", "alice-laptop"),
            "state-bucket/ml/.pulumi/locks/organization/other-project/prod/5555.json": lockJson(9000),
            "state-bucket/ml/.pulumi/locks/organization/ml-ci-images/dev/7777.json": lockJson(9000),
            "state-bucket/ml/.pulumi/locks/organization/ml-ci-images/prod-eu/6666.json": lockJson(9000),
            "state-bucket/ml/.pulumi/locks/prod/legacy.json": lockJson(9000),
            "state-bucket/ml/.pulumi/stacks/ml-ci-images/prod.json": "{}",
        });
        assert.strictEqual(r.code, 0, r.stdout);
        assert.deepStrictEqual(r.removed, [`s3 rm s3://${OURS}/0a1b.json`, "s3 rm s3://state-bucket/ml/.pulumi/locks/prod/legacy.json"]);
        assert.match(r.stdout, new RegExp(`removing the stale lock .*0a1b\\.json of runner@fv-az1234-56 \\(${maxAge + 10} minutes old`));
        assert.match(r.stdout, /9f8e\.json of runner@fv-az1234-56 is 30 minutes old: a live run may hold it/);
        assert.match(r.stdout, /keeping the lock .*dev1\.json: not a runner's lock \(user 'alice'/);
        assert.doesNotMatch(r.stdout, /other-project|prod-eu|7777/, "other projects' and stacks' locks are not even read");
    });

    it("exits 0 with nothing to do when there is no lock (an empty prefix), and keeps a lock it cannot read", () => {
        assert.deepStrictEqual(runLockStep({}), { removed: [], stdout: "", code: 0 });
        const r = runLockStep({ [`${OURS}/bad.json`]: "not json", [`${OURS}/old.json`]: JSON.stringify({ username: "runner", hostname: "h" }) });
        assert.strictEqual(r.code, 0, r.stdout);
        assert.deepStrictEqual(r.removed, []);
        assert.match(r.stdout, /keeping the lock .*bad\.json/);
        assert.match(r.stdout, /keeping the lock .*old\.json/);
    });

    it("works with a backend URL without a prefix", () => {
        const r = runLockStep({ "state-bucket/.pulumi/locks/organization/ml-ci-images/prod/1.json": lockJson(9000) }, "s3://state-bucket");
        assert.strictEqual(r.code, 0, r.stdout);
        assert.deepStrictEqual(r.removed, ["s3 rm s3://state-bucket/.pulumi/locks/organization/ml-ci-images/prod/1.json"]);
    });

    it("does nothing on a Pulumi Cloud backend (pulumi cancel is documented for it)", () => {
        const r = runLockStep({ "x/.pulumi/locks/organization/ml-ci-images/prod/1.json": lockJson(9000) }, "https://api.pulumi.com");
        assert.strictEqual(r.code, 0, r.stdout);
        assert.deepStrictEqual(r.removed, []);
        assert.match(r.stdout, /Pulumi Cloud: pulumi cancel/);
        assert.match(fs.readFileSync(path.join(ROOT, "docs", "pipelines.md"), "utf8"), /pulumi cancel --stack prod/);
    });
});

describe("alerts on age, and a schedule kept alive", () => {
    it("the up job checks every weekly image's promotion age (status --max-age 8d) after the up, even when it failed", () => {
        const up = jobNamed(WEEKLY, "up");
        const i = stepIndex(up, (s) => /ci-images status --stack prod --max-age 8d/.test(s.run ?? ""));
        assert.ok(i > stepIndex(up, (s) => s.id === "up"), "after pulumi up");
        const age = up.steps![i];
        assert.strictEqual(age.id, "age");
        assert.match(age.if ?? "", /always\(\)/);
        assert.strictEqual(up.outputs?.["stale-promotions"], "${{ steps.age.outputs.stale }}");
    });

    it("says that the age alert cannot fire when the workflow is disabled, and why test.yml does not run it (no read-only role for main)", () => {
        const para = /- \*\*Age alert\.\*\*[\s\S]*?(?=\n- \*\*|\n## )/.exec(fs.readFileSync(path.join(ROOT, "docs", "pipelines.md"), "utf8"))?.[0] ?? "";
        assert.match(para, /\*\*Its limit: it cannot fire when the workflow is disabled\.\*\*/, para);
        assert.match(para, /preview role\*\* trusts only\s+`pull_request` subjects/);
        assert.match(para, /gh workflow enable weekly-rebuild\.yml/);
        // The claim that the preview role cannot do it holds only while its trust and rights stay as they are.
        assert.ok(!ECR_PREVIEW_READ_ACTIONS.includes("ecr:BatchGetImage"), "the preview role can HEAD manifests now: run status from test.yml with it and drop this limit");
        const test = readWorkflow("test.yml").doc;
        assert.doesNotMatch(JSON.stringify(test), /CI_IMAGES_PIPELINE_ROLE_ARN/, "test.yml never holds the deploy role");
        const age = jobNamed(WEEKLY, "up").steps!.findIndex((s) => s.id === "age");
        assert.match(readWorkflow(WEEKLY).text, /A DISABLED workflow runs nothing on any event/);
        assert.ok(age >= 0);
    });

    it("the alert job reports the stale images in the issue it opens", () => {
        const alert = jobNamed(WEEKLY, "alert");
        const script = alert.steps![0];
        assert.strictEqual(script.env?.STALE_PROMOTIONS, "${{ needs.up.outputs.stale-promotions }}");
        assert.match(String(script.with?.script), /process\.env\.STALE_PROMOTIONS/);
        assert.match(String(script.with?.script), /Promoted more than 8 days ago/);
    });

    it("a keepalive job re-enables the workflow on every scheduled run, with actions: write only", () => {
        const keep: Job = jobNamed(WEEKLY, "keepalive");
        assert.strictEqual(evaluateIf(keep.if, runContexts("schedule")), true);
        assert.strictEqual(evaluateIf(keep.if, runContexts("push")), false);
        assert.deepStrictEqual(keep.permissions, { "actions": "write" });
        assert.match(keep.steps![0].run ?? "", /gh api -X PUT "repos\/\$\{GITHUB_REPOSITORY\}\/actions\/workflows\/weekly-rebuild\.yml\/enable"/);
        assert.ok(fs.existsSync(path.join(WORKFLOW_DIR, "weekly-rebuild.yml")), "the file the keepalive names");
        // That re-enabling resets the 60-day timer is liskin/gh-workflow-keepalive's claim, not GitHub's docs: say so.
        const para = /- \*\*Keepalive\.\*\*[\s\S]*?(?=\n- \*\*|\n## )/.exec(fs.readFileSync(path.join(ROOT, "docs", "pipelines.md"), "utf8"))?.[0] ?? "";
        assert.match(para, /resets the 60-day timer is community evidence \(that\s+project's README/, para);
        assert.match(para, /not something GitHub's documentation states/);
        assert.match(keep.steps![0].name ?? "", /community evidence says/);
    });
});

describe("consumer-example: patterns that work every day of the week", () => {
    const FILE = "consumer-example.yml";

    it("waits for this checkout's image or falls back to the promoted -latest, after one check", () => {
        const job = jobNamed(FILE, "wait-or-latest");
        const wait = (job.steps ?? []).find((s) => /ci-images wait/.test(s.run ?? ""));
        assert.match(wait?.run ?? "", /npx ci-images wait "\$IMAGE" --stack prod --fallback latest/);
        assert.ok((job["timeout-minutes"] ?? 999) <= 15, "no 90-minute wait");
    });

    it("feeds a job container's credentials from the ECR login action's outputs, unmasked, for the registry the program wrote", () => {
        const login = jobNamed(FILE, "ecr-login");
        const action = (login.steps ?? []).find((s) => s.uses?.startsWith("aws-actions/amazon-ecr-login@"));
        assert.strictEqual(action?.with?.["mask-password"], "false", "GitHub drops a masked job output");
        assert.strictEqual(action?.with?.registries, "${{ steps.account.outputs.id }}");
        const pick = (login.steps ?? []).find((s) => s.id === "credentials");
        assert.strictEqual(pick?.env?.LOGIN_OUTPUTS, "${{ toJSON(steps.login-ecr.outputs) }}");
        assert.match(pick?.run ?? "", /sed -E 's\/\[\^a-zA-Z0-9_\]\+\/_\/g'/, "the action's own key (replaceSpecialCharacters in its index.js)");
        const test = readWorkflow(FILE).doc.jobs["test-in-job-container"];
        assert.deepStrictEqual(test.needs, ["wait-or-latest", "ecr-login"]);
        assert.deepStrictEqual(test.container.credentials, { username: "${{ needs.ecr-login.outputs.username }}", password: "${{ needs.ecr-login.outputs.password }}" });
        assert.strictEqual(test.container.image, "${{ needs.wait-or-latest.outputs.ref }}");
    });

    it("reads an image from CI_IMAGES_JSON with fromJSON, only when the variable exists", () => {
        const job = jobNamed(FILE, "from-json-variable");
        assert.strictEqual(job.if, "vars.CI_IMAGES_JSON != ''");
        assert.strictEqual(job.steps![0].env?.IMAGE_REF, "${{ fromJSON(vars.CI_IMAGES_JSON)[inputs.image] }}");
    });
});
