// Whether the pipeline role that runs `pulumi up` holds the rights to do so (`ci-images check`).
import type { ConfigProblem } from "../config/problems";
import { documentsAllow, PolicyDocument } from "./documents";
import type { AccessSettings } from "./settings";
import { stateBackendArns } from "./stateBackend";

/** What the deploy-rights check knows beyond the config: the policies the pipeline role will hold. */
export interface DeployRightsFacts {
    /** The deploy policy the program generates and attaches (`deployPolicy`, lib/access/deployPolicy.ts). @default unknown */
    generatedDeployPolicy?: PolicyDocument | string;
    /** Default version documents of the `deployPolicyArns` policies, when fetched (`check --online`). @default unknown */
    deployPolicyDocuments?: readonly (PolicyDocument | string)[];
    partition?: string;
}

/**
 * Problems of a stack whose pipeline role runs `pulumi up` (`access.pipeline.runsPulumiUp`) and would lack the rights
 * to: the pipeline is disabled, the state backend is not declared, nothing grants deploy rights (no generated deploy
 * policy and no `deployPolicyArns`), or the known policies do not grant the S3 state reads and writes.
 * `ci-images check` fails on them.
 */
export function deployRightsWarnings(access: AccessSettings, facts: DeployRightsFacts = {}): ConfigProblem[] {
    const pipeline = access.pipeline;
    if (pipeline?.runsPulumiUp !== true) return [];
    if (pipeline.enabled !== true) {
        return [{ path: "access.pipeline.runsPulumiUp", message: "is true but access.pipeline is disabled, so no role could run `pulumi up`", fix: "enable access.pipeline, or set runsPulumiUp: false" }];
    }
    const problems: ConfigProblem[] = [];
    const documents = [...(facts.generatedDeployPolicy !== undefined ? [facts.generatedDeployPolicy] : []), ...(facts.deployPolicyDocuments ?? [])];
    if (documents.length === 0 && (pipeline.deployPolicyArns ?? []).length === 0) {
        problems.push({
            path: "access.pipeline.runsPulumiUp",
            message: "is true but nothing grants the pipeline role deploy rights: its own policy only pushes and pulls images, so the update could neither read or write the state nor change the stack's resources",
            fix: "let the program attach the generated deploy policy (docs/aws-apis.md, \"Deploy rights\"), or list managed policies in access.pipeline.deployPolicyArns",
        });
    }
    const backend = access.stateBackend;
    if (backend === undefined) {
        problems.push({
            path: "access.stateBackend",
            message: "is not set, so the pipeline role's deploy policy cannot grant the Pulumi state",
            fix: "set { type: s3, bucket: <bucket>, prefix: <prefix> } (PULUMI_BACKEND_URL=s3://<bucket>/<prefix>) or { type: pulumi-cloud }",
        });
    } else if (backend.type === "s3" && documents.length > 0) {
        const arns3 = stateBackendArns(backend, facts.partition);
        const object = arns3.objects.replace(/\*$/, "locks/example/lock.json");
        const needed: [string, string][] = [["s3:ListBucket", arns3.bucket], ["s3:GetObject", object], ["s3:PutObject", object], ["s3:DeleteObject", object]];
        const missing = needed.filter(([a, r]) => !documentsAllow(documents, a, r));
        if (missing.length > 0) {
            problems.push({
                path: "access.pipeline.deployPolicyArns",
                message: `do not grant the state backend: ${missing.map(([a, r]) => `${a} on ${r}`).join(", ")}`,
                fix: `add a policy allowing s3:ListBucket on ${arns3.bucket} (prefix ${arns3.listPrefix}) and s3:GetObject, s3:PutObject, s3:DeleteObject on ${arns3.objects}`,
            });
        }
    }
    return problems;
}
