import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { validateWorkflow, ValidationState } from "@action-validator/core";
import YAML from "yaml";
import { parseStackConfig, stackImageNames } from "../lib/config";
import { actionsNames } from "../lib/githubNames";
import { readStackConfigFile } from "../lib/stackPlan";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");
const WORKFLOWS = ["test.yml", "preview.yml", "weekly-rebuild.yml", "consumer-example.yml"];

/**
 * Secrets and variables the workflows use that the program does not write, each with why it must
 * come from outside. Keep it short: anything else a workflow references must come from lib/githubNames.
 */
const EXTERNALLY_PROVIDED: Record<string, string> = {
    "vars.PULUMI_BACKEND_URL": "S3 URL of the state backend: it holds the stack's state, so it cannot be one of the stack's outputs",
    "secrets.PULUMI_CONFIG_PASSPHRASE": "decrypts the prod stack's passphrase-encrypted config; set once by an admin (ignored if the stack uses an awskms secrets provider)",
    "secrets.MLCI_GITHUB_TOKEN": "token (GitHub App or fine-grained PAT) the program's GitHub provider writes other repositories' Actions variables with; the run's own GITHUB_TOKEN cannot",
};

/** Every name the prod stack writes to GitHub, as `vars.X` / `secrets.X`, from its validated config. */
function programWrittenReferences(): Set<string> {
    const config = parseStackConfig(readStackConfigFile(ROOT, "prod"), { projectRoot: ROOT, env: {} });
    const written = actionsNames(stackImageNames(config), { secretRoleArn: config.github.secretRoleArn, pipelineRole: config.access.pipeline.enabled, awsRegion: true });
    return new Set([...written.variables.map((n) => `vars.${n}`), ...written.secrets.map((n) => `secrets.${n}`)]);
}

function readWorkflow(file: string): { text: string; doc: any } {
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

/** `secrets.X` / `vars.X` / `secrets['X']` references in a workflow's text. */
function references(text: string): string[] {
    const refs = new Set<string>();
    for (const m of text.matchAll(/\b(secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)/g)) refs.add(`${m[1]}.${m[2]}`);
    for (const m of text.matchAll(/\b(secrets|vars)\[\s*'([^']+)'\s*\]/g)) refs.add(`${m[1]}.${m[2]}`);
    return [...refs].sort();
}

type Job = { permissions?: Record<string, string> | string; steps?: { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }[]; env?: Record<string, string> };
const jobsOf = (doc: any): [string, Job][] => Object.entries(doc.jobs ?? {}) as [string, Job][];
const stepsOf = (doc: any) => jobsOf(doc).flatMap(([, job]) => job.steps ?? []);
const usesAws = (job: Job) => (job.steps ?? []).some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));

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

    it("the validator rejects broken workflows, so passing means something", () => {
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

    it("reference only secrets/variables the program writes, or a short allow-list of external ones", () => {
        const written = programWrittenReferences();
        const used = new Set<string>();
        for (const file of WORKFLOWS) {
            const { text } = readWorkflow(file);
            assert.doesNotMatch(text, /\b(secrets|vars)\s*\[\s*[^'\s]/, `${file} indexes secrets/vars dynamically; references must be checkable`);
            assert.doesNotMatch(text, /toJSON\(\s*secrets\s*\)/, `${file} dumps all secrets`);
            for (const ref of references(text)) {
                used.add(ref);
                assert.ok(written.has(ref) || ref in EXTERNALLY_PROVIDED, `${file} references ${ref}, which the program does not write (it writes: ${[...written].join(", ")}) and is not in EXTERNALLY_PROVIDED`);
            }
        }
        for (const ref of Object.keys(EXTERNALLY_PROVIDED)) {
            assert.ok(used.has(ref), `EXTERNALLY_PROVIDED lists ${ref}, which no workflow uses: remove it`);
            assert.ok(!written.has(ref), `${ref} is written by the program; it does not belong in EXTERNALLY_PROVIDED`);
        }
    });

    it("keep permissions minimal: read-only by default, id-token: write exactly where OIDC is used", () => {
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
            }
        }
    });

    it("never use stored AWS keys, and never expand expressions inside run scripts", () => {
        for (const file of WORKFLOWS) {
            const { text, doc } = readWorkflow(file);
            assert.doesNotMatch(text, /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/, `${file} uses stored AWS keys`);
            for (const step of stepsOf(doc)) {
                if (step.run) assert.doesNotMatch(step.run, /\$\{\{/, `${file}: pass values to run scripts through env, not \${{ }} (script injection): ${step.run}`);
            }
        }
    });

    it("serialize every pulumi up of prod in one never-cancelled concurrency group", () => {
        const ups = WORKFLOWS.filter((f) => {
            const { doc } = readWorkflow(f);
            return stepsOf(doc).some((s) => /(^|[;&|(]\s*|npx\s+)pulumi\s+(up|update)\b/m.test(s.run ?? "") || (s.uses?.startsWith("pulumi/actions@") && ["up", "update"].includes(String(s.with?.command))));
        });
        assert.deepStrictEqual(ups, ["weekly-rebuild.yml"]);
        for (const file of ups) {
            const { doc } = readWorkflow(file);
            assert.deepStrictEqual(doc.concurrency, { group: "pulumi-up-prod", "cancel-in-progress": false }, file);
        }
        const preview = readWorkflow("preview.yml").doc;
        assert.notStrictEqual(preview.concurrency.group, "pulumi-up-prod", "a cancellable preview must not share the up group");
    });

    it("install the same Pulumi CLI everywhere: pulumi/actions pins the npm `pulumi` devDependency", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const pinned = pkg.devDependencies.pulumi;
        assert.match(pinned, /^\d+\.\d+\.\d+$/, "the pulumi devDependency must be an exact version");
        const actions = WORKFLOWS.flatMap((f) => stepsOf(readWorkflow(f).doc).filter((s) => s.uses?.startsWith("pulumi/actions@")));
        assert.ok(actions.length > 0);
        for (const step of actions) assert.strictEqual(String(step.with?.["pulumi-version"]), pinned);
    });
});

describe("the workflows do their jobs", () => {
    it("test: npm ci && npm test on every pull request", () => {
        const { doc } = readWorkflow("test.yml");
        assert.ok("pull_request" in doc.on && (doc.on.pull_request === null || !("paths" in doc.on.pull_request)), "tests must run on every PR");
        const runs = stepsOf(doc).map((s) => s.run);
        assert.ok(runs.indexOf("npm ci") >= 0 && runs.indexOf("npm ci") < runs.indexOf("npm test"), JSON.stringify(runs));
    });

    it("preview: pulumi preview of prod on PRs touching docker/, components or stack files, posting the summary", () => {
        const { doc } = readWorkflow("preview.yml");
        const paths: string[] = doc.on.pull_request.paths;
        for (const p of ["docker/**", "components/**", "Pulumi.*.yaml", "Pulumi.yaml", "index.ts"]) assert.ok(paths.includes(p), `preview.yml paths miss ${p}`);
        const [step] = stepsOf(doc).filter((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.strictEqual(step.with?.command, "preview");
        assert.strictEqual(step.with?.["stack-name"], "prod");
        assert.strictEqual(step.with?.["comment-on-pr"], true);
    });

    it("weekly: Sunday 02:00 UTC and manual dispatch with force-rebuild, epoch = the run's date, pulumi up --yes of prod", () => {
        const { doc } = readWorkflow("weekly-rebuild.yml");
        assert.deepStrictEqual(doc.on.schedule, [{ cron: "0 2 * * 0" }]);
        assert.strictEqual(doc.on.workflow_dispatch.inputs["force-rebuild"].type, "string");
        const [[, job]] = jobsOf(doc);
        assert.strictEqual(job.env?.MLCI_FORCE_REBUILD, "${{ inputs.force-rebuild }}");
        const steps = job.steps ?? [];
        const epoch = steps.findIndex((s) => /MLCI_REBUILD_EPOCH=\$\(date -u \+%F\)" >> "\$GITHUB_ENV"/.test(s.run ?? ""));
        const oidc = steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        const up = steps.findIndex((s) => /npx pulumi up\b/.test(s.run ?? ""));
        assert.ok(epoch >= 0 && oidc >= 0 && up > epoch && up > oidc, `epoch ${epoch}, oidc ${oidc}, up ${up}`);
        assert.match(steps[up].run!, /--yes/);
        assert.match(steps[up].run!, /--stack prod\b/);
        assert.match(String(steps[oidc].with?.["role-to-assume"]), /^\$\{\{ secrets\.CI_IMAGES_PIPELINE_ROLE_ARN \}\}$/);
    });

    it("consumer example: gets a digest-pinned ref from a variable, from stack outputs via ci-images, and offline", () => {
        const { text, doc } = readWorkflow("consumer-example.yml");
        assert.match(text, /\$\{\{ vars\.CI_IMAGE_[A-Z0-9_]+ \}\}/);
        const runs = stepsOf(doc).map((s) => s.run ?? "").join("\n");
        assert.match(runs, /pulumi stack output --stack prod --json > outputs\.json/);
        assert.match(runs, /npx ci-images uri "\$IMAGE" --from outputs\.json/);
        assert.match(runs, /npx ci-images tags --stack prod --json/);
    });
});
