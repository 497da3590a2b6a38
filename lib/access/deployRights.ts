// Whether the pipeline role that runs `pulumi up` holds the rights to do so (`ci-images check`).
import type { ConfigProblem } from "../config/problems";
import { documentsAllow, PolicyDocument } from "./documents";
import type { AccessSettings } from "./settings";
import { stateBackendArns } from "./stateBackend";

/** What the deploy-rights check knows beyond the config: the documents of `deployPolicyArns`, when fetched (`check --online`). */
export interface DeployRightsFacts {
    /** Default version documents of the `deployPolicyArns` policies. @default unknown: only the config is checked */
    deployPolicyDocuments?: readonly (PolicyDocument | string)[];
    partition?: string;
}

/**
 * Warnings (not errors: an admin may grant the rights another way) when a stack runs `pulumi up` through the pipeline
 * role (`access.pipeline.runsPulumiUp`) and that role would lack the rights to: `deployPolicyArns` is empty, the
 * state backend is not declared, or the fetched deploy policies do not grant the S3 state reads and writes.
 * `ci-images check` prints them.
 */
export function deployRightsWarnings(access: AccessSettings, facts: DeployRightsFacts = {}): ConfigProblem[] {
    const pipeline = access.pipeline;
    if (pipeline?.enabled !== true || pipeline.runsPulumiUp !== true) return [];
    const warnings: ConfigProblem[] = [];
    const arns = pipeline.deployPolicyArns ?? [];
    if (arns.length === 0) {
        warnings.push({
            path: "access.pipeline.deployPolicyArns",
            message: "is empty, but a workflow runs `pulumi up` through the pipeline role, whose own policy only pushes and pulls images: the update cannot read or write the state or change the stack's resources",
            fix: "list managed policies granting the state backend and the stack's ECR/IAM resources (docs/aws-apis.md, \"Deploy rights\")",
        });
    }
    const backend = access.stateBackend;
    if (backend === undefined) {
        warnings.push({
            path: "access.stateBackend",
            message: "is not set, so the pipeline role's rights on the Pulumi state cannot be checked",
            fix: "set { type: s3, bucket: <bucket>, prefix: <prefix> } (PULUMI_BACKEND_URL=s3://<bucket>/<prefix>) or { type: pulumi-cloud }",
        });
    } else if (backend.type === "s3" && facts.deployPolicyDocuments !== undefined) {
        const arns3 = stateBackendArns(backend, facts.partition);
        const object = arns3.objects.replace(/\*$/, "stacks/example.json");
        const needed: [string, string][] = [["s3:ListBucket", arns3.bucket], ["s3:GetObject", object], ["s3:PutObject", object], ["s3:DeleteObject", object]];
        const missing = needed.filter(([a, r]) => !documentsAllow(facts.deployPolicyDocuments!, a, r));
        if (missing.length > 0) {
            warnings.push({
                path: "access.pipeline.deployPolicyArns",
                message: `do not grant the state backend: ${missing.map(([a, r]) => `${a} on ${r}`).join(", ")}`,
                fix: `add a policy allowing s3:ListBucket on ${arns3.bucket} (prefix ${arns3.listPrefix}) and s3:GetObject, s3:PutObject, s3:DeleteObject on ${arns3.objects}`,
            });
        }
    }
    return warnings;
}
