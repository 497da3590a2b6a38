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
export function stateBackendStatements(backend: StateBackendSettings | undefined, access: "read" | "write", partition = "aws", checkpoint?: { project: string; stack: string }): PolicyStatement[] {
    if (backend === undefined || backend.type !== "s3") return [];
    const arns = stateBackendArns(backend, partition);
    // A read of ONE stack gets that stack's checkpoint and the backend's meta.yaml only, never `.pulumi/history/*`
    // or `.pulumi/backups/*` (older checkpoints that may hold secrets from before a migration).
    const readable = access === "read" && checkpoint !== undefined ? checkpointObjectArns(backend, checkpoint, partition) : arns.objects;
    return [
        { Sid: "StateList", Effect: "Allow", Action: "s3:ListBucket", Resource: arns.bucket, Condition: { StringLike: { "s3:prefix": [arns.listPrefix] } } },
        { Sid: access === "read" ? "StateRead" : "StateReadWrite", Effect: "Allow", Action: access === "read" ? ["s3:GetObject"] : ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], Resource: readable },
    ];
}

/**
 * The objects a `pulumi preview` of one stack reads on the DIY backend (pulumi/pulumi pkg/backend/diy):
 * `.pulumi/meta.yaml` (meta.go `pulumiMetaPath`) and the checkpoint `.pulumi/stacks/<project>/<stack>.json`, or its
 * `.json.gz`/`.json.zst` variant (store.go `StackBasePath`, backend.go `stackPath`, which lists the stack directory
 * to find the variant).
 */
export function checkpointObjectArns(backend: Extract<StateBackendSettings, { type: "s3" }>, checkpoint: { project: string; stack: string }, partition = "aws"): string[] {
    const root = stateBackendArns(backend, partition).objects.replace(/\/\*$/, "");
    const base = `${root}/stacks/${checkpoint.project}/${checkpoint.stack}.json`;
    return [`${root}/meta.yaml`, base, `${base}.gz`, `${base}.zst`];
}
