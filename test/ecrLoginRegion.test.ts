/**
 * aws-actions/amazon-ecr-login builds its ECR client without a region (index.js, getEcrAuthTokenWrapper:
 * `new ECRClient({ customUserAgent, credentials, requestHandler })`, v2.1.7 = the SHA the workflows pin), so
 * the SDK takes it from AWS_REGION / AWS_DEFAULT_REGION or fails with "Region is missing". A job that runs
 * the action on a runner's instance profile, without configure-aws-credentials (which exports AWS_REGION),
 * must set AWS_REGION itself. Checked for the workflows and the docs' snippets.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { objects, yamlSnippets } from "./docsSnippets.test";
import { WORKFLOW_DIR } from "./workflows.test";

type AnyStep = { uses?: string; env?: Record<string, string>; with?: Record<string, string> };
type AnyJob = { env?: Record<string, string>; steps?: AnyStep[] };

/** Jobs (with the workflow-level env) that run amazon-ecr-login, from a parsed workflow or snippet. */
function ecrLoginJobs(where: string, doc: unknown): { where: string; job: AnyJob; workflowEnv: Record<string, string> }[] {
    const workflowEnv = ((doc as { env?: Record<string, string> })?.env) ?? {};
    return objects(doc)
        .filter((o) => Array.isArray(o.steps) && (o.steps as AnyStep[]).some((s) => s?.uses?.startsWith("aws-actions/amazon-ecr-login@")))
        .map((job) => ({ where, job: job as AnyJob, workflowEnv }));
}

/** Whether the login step of `job` gets a region: AWS_REGION in its env, the job's or the workflow's, or an earlier configure-aws-credentials with aws-region. */
function loginHasRegion(job: AnyJob, workflowEnv: Record<string, string>): boolean {
    const steps = job.steps ?? [];
    const at = steps.findIndex((s) => s?.uses?.startsWith("aws-actions/amazon-ecr-login@"));
    const login = steps[at];
    const configured = steps.slice(0, at).some((s) => s?.uses?.startsWith("aws-actions/configure-aws-credentials@") && !!s.with?.["aws-region"]);
    return configured || !!(login.env?.AWS_REGION ?? job.env?.AWS_REGION ?? workflowEnv.AWS_REGION);
}

describe("amazon-ecr-login gets a region", () => {
    const jobs = [
        ...fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f)).flatMap((f) => ecrLoginJobs(f, YAML.parse(fs.readFileSync(path.join(WORKFLOW_DIR, f), "utf8")))),
        ...yamlSnippets().flatMap((s) => ecrLoginJobs(`${s.file}:${s.line}`, YAML.parse(s.text))),
    ];

    it("is used by consumer-example.yml and the docs/ci.md job-container snippet", () => {
        const where = jobs.map((j) => j.where.replace(/:\d+$/, ""));
        assert.ok(where.includes("consumer-example.yml") && where.includes("docs/ci.md"), where.join(", "));
    });

    it("every job that runs it sets AWS_REGION (from vars.CI_IMAGES_AWS_REGION) or configures credentials with a region first", () => {
        for (const { where, job, workflowEnv } of jobs) {
            assert.ok(loginHasRegion(job, workflowEnv), `${where}: amazon-ecr-login without a region (its ECRClient has none: set AWS_REGION: \${{ vars.CI_IMAGES_AWS_REGION }})`);
            const region = job.env?.AWS_REGION;
            if (region !== undefined) assert.strictEqual(region, "${{ vars.CI_IMAGES_AWS_REGION }}", where);
        }
    });

    it("the check refuses a job without one, so passing means something", () => {
        assert.strictEqual(loginHasRegion({ steps: [{ uses: "aws-actions/amazon-ecr-login@x" }] }, {}), false);
        assert.strictEqual(loginHasRegion({ steps: [{ uses: "aws-actions/amazon-ecr-login@x" }, { uses: "aws-actions/configure-aws-credentials@y", with: { "aws-region": "r" } }] }, {}), false, "configured after the login is too late");
    });
});
