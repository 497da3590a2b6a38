/**
 * docs/aws-apis.md lists every AWS API the weekly pipeline calls (#14 "Done when"). This test reads its table and
 * its deploy policy, and checks each row against the push policy the program really declares for prod (mocks) or
 * against the documented deploy policy; moto's CreatePolicy validates the deploy policy.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { documentsAllow, PolicyDocument } from "../lib/access/documents";
import { PROJECT_ROOT, plain, runProgram } from "./harness";
import { IamOp, rejections, useMotoIam } from "./motoIam";

const DOC = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "aws-apis.md"), "utf8");

function between(marker: string): string {
    const start = DOC.indexOf(`<!-- ${marker} -->`);
    const end = DOC.indexOf(`<!-- /${marker} -->`);
    assert.ok(start >= 0 && end > start, `docs/aws-apis.md has no ${marker} section`);
    return DOC.slice(start, end);
}

interface ApiRow { action: string; resource: string; grantedBy: "pipeline" | "deploy" | "none" }

const ROWS: ApiRow[] = between("aws-apis:table")
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .map((line) => {
        const cells = line.split("|").slice(1, -1).map((c) => c.trim());
        assert.strictEqual(cells.length, 4, line);
        const grantedBy = cells[3] as ApiRow["grantedBy"];
        assert.ok(["pipeline", "deploy", "none"].includes(grantedBy), line);
        return { action: cells[0].replace(/`/g, ""), resource: cells[2].replace(/`/g, ""), grantedBy };
    });
const DEPLOY_POLICY: PolicyDocument = JSON.parse(/```json\n([\s\S]*?)```/.exec(between("aws-apis:deploy-policy"))![1]);

describe("docs/aws-apis.md against the pipeline role's policies", function () {
    this.timeout(120_000);
    let push: PolicyDocument;
    before(async () => {
        const run = await runProgram({ stack: "prod", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        push = JSON.parse(plain(run.one("aws:iam/policy:Policy", "pipeline-access-push-policy").inputs.policy));
    });

    it("lists the calls of every kind: invokes, image pushes, the smoke-test login, the retag, the state and each resource type", () => {
        const actions = new Set(ROWS.map((r) => r.action));
        for (const a of ["ecr:ListImages", "ecr:GetAuthorizationToken", "sts:GetCallerIdentity", "ecr:PutImage", "ecr:BatchGetImage", "ecr:InitiateLayerUpload", "ecr:DescribeImageScanFindings",
            "s3:GetObject", "s3:PutObject", "ecr:CreateRepository", "ecr:PutLifecyclePolicy", "ecr:PutReplicationConfiguration", "ecr:CreateRepositoryCreationTemplate",
            "iam:CreateRole", "iam:CreatePolicy", "iam:AttachRolePolicy", "iam:CreateInstanceProfile", "iam:CreateOpenIDConnectProvider", "iam:ListOpenIDConnectProviders"]) {
            assert.ok(actions.has(a), `${a} is missing from docs/aws-apis.md`);
        }
        assert.ok(ROWS.length >= 60, `${ROWS.length} rows`);
    });

    it("every `pipeline` row is allowed by the push policy the program declares for prod, on that resource", () => {
        const denied = ROWS.filter((r) => r.grantedBy === "pipeline" && !documentsAllow([push], r.action, r.resource));
        assert.deepStrictEqual(denied, [], `the pipeline role's own policy lacks:\n${denied.map((r) => `${r.action} on ${r.resource}`).join("\n")}`);
    });

    it("every `deploy` row is allowed by the documented deploy policy, and none by the push policy alone", () => {
        const deploy = ROWS.filter((r) => r.grantedBy === "deploy");
        const missing = deploy.filter((r) => !documentsAllow([DEPLOY_POLICY], r.action, r.resource));
        assert.deepStrictEqual(missing, [], `the deploy policy lacks:\n${missing.map((r) => `${r.action} on ${r.resource}`).join("\n")}`);
        const alreadyPushed = deploy.filter((r) => documentsAllow([push], r.action, r.resource));
        assert.deepStrictEqual(alreadyPushed, [], "a deploy row the push policy already grants belongs to `pipeline`");
    });

    it("every action the push policy grants is documented as a `pipeline` call (no undocumented right)", () => {
        const documented = new Set(ROWS.filter((r) => r.grantedBy === "pipeline").map((r) => r.action));
        const granted = push.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action!]));
        assert.deepStrictEqual(granted.filter((a) => !documented.has(a)), []);
    });

    it("the check fails when a right is missing, so passing means something", () => {
        const withoutPut = { ...push, Statement: push.Statement.map((s) => ({ ...s, Action: (Array.isArray(s.Action) ? s.Action : [s.Action!]).filter((a) => a !== "ecr:PutImage") })) };
        assert.ok(!documentsAllow([withoutPut], "ecr:PutImage", "arn:aws:ecr:us-east-1:123456789012:repository/ml-ci/nightly"));
        assert.ok(!documentsAllow([DEPLOY_POLICY], "iam:CreateRole", "arn:aws:iam::123456789012:role/someone-elses-role"));
        assert.ok(!documentsAllow([DEPLOY_POLICY], "ecr:DeleteRepository", "arn:aws:ecr:us-east-1:123456789012:repository/other-team/app"));
    });

    describe("moto accepts the documented deploy policy", () => {
        const moto = useMotoIam();
        it("CreatePolicy ml-ci-images-deploy", () => {
            const ops: IamOp[] = [{ op: "CreatePolicy", name: "ml-ci-images-deploy", document: JSON.stringify(DEPLOY_POLICY) }];
            assert.deepStrictEqual(rejections(ops, moto().run(ops)), []);
        });
    });
});
