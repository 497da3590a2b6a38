/**
 * The manifest of docs/aws-apis.md: every AWS call per actor, the role it acts as and the policy that grants it.
 * Read by test/awsApis.test.ts and by the rehearsal suite; a helper module, so importing it runs no test.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const DOC_PATH = path.resolve(__dirname, "..", "docs", "aws-apis.md");

/** One call of the manifest. */
export interface ManifestCall { action: string; resource: string; grantedBy: "pipeline" | "deploy" | "preview" | "runner" | "none"; caller: string }
/** The manifest of docs/aws-apis.md. */
export interface AwsApiManifest { version: 1; account: string; region: string; actors: Record<"weekly-up" | "preview" | "publish" | "runner", { stack: string; role: string; via: string; calls: ManifestCall[] }> }

/** Reads the manifest between the `aws-apis:manifest` markers (the rehearsal suite may import this). */
export function readManifest(text = fs.readFileSync(DOC_PATH, "utf8")): AwsApiManifest {
    const start = text.indexOf("<!-- aws-apis:manifest -->");
    const end = text.indexOf("<!-- /aws-apis:manifest -->");
    assert.ok(start >= 0 && end > start, "docs/aws-apis.md has no aws-apis:manifest section");
    return JSON.parse(/```json\n([\s\S]*?)```/.exec(text.slice(start, end))![1]);
}

