/**
 * Reads docs/aws-apis.md, the manifest of every AWS call per actor. Two grammars are read:
 * - a fenced ```json block after `<!-- aws-apis:manifest -->`: `{ "actors": { "<actor>": { "stack", "calls": [{ "action", "resource", "caller" }] } } }`;
 * - the table between `<!-- aws-apis:table -->` and `<!-- /aws-apis:table -->` (the weekly `pulumi up` of
 *   prod): `| \`action\` | why | \`resource\` | granted by |`.
 * Resource ARNs there are prod's as the unit-test harness names them (auto-named resources end in
 * `-a1b2c3d`); `worldResource` maps them to the names the world gave the stack's resources.
 */
import * as fs from "fs";
import * as path from "path";
import { AwsCall } from "./actors";
import { PROJECT_ROOT, World } from "./world";

const DOC = path.join(PROJECT_ROOT, "docs", "aws-apis.md");

/** Manifest actor names of the JSON grammar, by the rehearsal's names. */
const MANIFEST_ACTOR: Record<string, string> = { weekly: "weekly-up", preview: "preview", publish: "publish", runner: "runner" };

/** The calls of one actor (`weekly`, `preview`, `publish`, `runner`) with its stack, or undefined when the manifest has no such actor. */
export function manifestActor(actor: string): { stack: string; calls: AwsCall[] } | undefined {
    const text = fs.readFileSync(DOC, "utf8");
    if (text.includes("<!-- aws-apis:manifest -->")) {
        // The one reader of the manifest (test/awsApiManifest.ts, shared with test/awsApis.test.ts).
        const { readManifest } = require("../awsApiManifest") as typeof import("../awsApiManifest");
        const a = (readManifest(text).actors as Record<string, { stack: string; calls: { action: string; resource: string; caller?: string }[] } | undefined>)[MANIFEST_ACTOR[actor] ?? actor];
        return a && { stack: a.stack, calls: a.calls.map((c) => ({ action: c.action, resource: c.resource, why: c.caller })) };
    }
    if (actor !== "weekly") return undefined;
    // The grammar of d3b2fd0: one table, the weekly up of prod.
    const table = /<!-- aws-apis:table -->([\s\S]*?)<!-- \/aws-apis:table -->/.exec(text);
    if (!table) throw new Error("docs/aws-apis.md has neither an aws-apis:manifest block nor an aws-apis:table");
    const rows = table[1].split("\n").filter((l) => /^\| `[a-z0-9-]+:[A-Za-z0-9]+` \|/.test(l));
    return {
        stack: "prod",
        calls: rows.map((l) => {
            const cells = l.split("|").map((c) => c.trim());
            return { action: cells[1].replace(/`/g, ""), why: cells[2], resource: cells[3].replace(/`/g, "") };
        }),
    };
}

/** The calls of one actor, or undefined. */
export function manifestCalls(actor: string): AwsCall[] | undefined {
    return manifestActor(actor)?.calls;
}

/** The ARN in the world for a manifest ARN: `<logical>-a1b2c3d` becomes the stack's physical name. */
export function worldResource(world: World, stack: string, arn: string): string {
    return arn
        .replace(/:(role|policy|instance-profile)\/(?:[A-Za-z0-9_+=,.@-]+\/)*([A-Za-z0-9-]+)-a1b2c3d\b/g, (whole, kind: string, logical: string) => {
            const p = world.iamResourcePath(stack, logical);
            return p === undefined ? whole : `:${kind}/${p}`;
        })
        .replace(/([A-Za-z0-9-]+)-a1b2c3d\b/g, (whole, logical: string) => world.physical(stack, logical) ?? whole);
}

/**
 * The request context a call carries. Pulumi's S3 backend (pulumi/pulumi pkg/backend/diy, gocloud.dev/blob
 * under the URL's key prefix) lists `<prefix>/.pulumi/…`, so s3:ListBucket carries s3:prefix
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html).
 */
export function callContext(stateBackend: { bucket: string; prefix?: string } | undefined, call: AwsCall, project: string, stack: string): Record<string, string> | undefined {
    if (call.action !== "s3:ListBucket" || stateBackend === undefined || call.resource !== `arn:aws:s3:::${stateBackend.bucket}`) return undefined;
    return { "s3:prefix": `${stateBackend.prefix ? `${stateBackend.prefix}/` : ""}.pulumi/stacks/${project}/${stack}` };
}
