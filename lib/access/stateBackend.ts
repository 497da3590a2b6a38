// The Pulumi state backend's ARNs and the statements that read or write it (preview, deploy policy, deploy-rights check).
import type { PolicyStatement } from "./documents";
import type { StateBackendSettings } from "./settings";

/** ARNs a state backend's objects live under: the bucket, and the `<prefix>/.pulumi/` objects of the DIY backend. */
export function stateBackendArns(backend: Extract<StateBackendSettings, { type: "s3" }>, partition = "aws"): { bucket: string; objects: string; listPrefix: string } {
    const prefix = (backend.prefix ?? "").replace(/^\/+|\/+$/g, "");
    const root = prefix === "" ? ".pulumi" : `${prefix}/.pulumi`;
    return { bucket: `arn:${partition}:s3:::${backend.bucket}`, objects: `arn:${partition}:s3:::${backend.bucket}/${root}/*`, listPrefix: `${root}/*` };
}

/**
 * Statements on the Pulumi state in S3: `read` lists and gets the stack's checkpoints (a `pulumi preview` takes no
 * lock on the DIY backend), `write` also puts and deletes them (checkpoints, history, backups, lock files).
 * Pulumi Cloud needs no AWS rights: no statements.
 */
export function stateBackendStatements(backend: StateBackendSettings | undefined, access: "read" | "write", partition = "aws"): PolicyStatement[] {
    if (backend === undefined || backend.type !== "s3") return [];
    const arns = stateBackendArns(backend, partition);
    return [
        { Sid: "StateList", Effect: "Allow", Action: "s3:ListBucket", Resource: arns.bucket, Condition: { StringLike: { "s3:prefix": [arns.listPrefix] } } },
        { Sid: access === "read" ? "StateRead" : "StateReadWrite", Effect: "Allow", Action: access === "read" ? ["s3:GetObject"] : ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], Resource: arns.objects },
    ];
}
