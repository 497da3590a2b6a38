/**
 * #27 review, finding 10: scripts/with-registry-auth.sh drops the caller's credsStore (Docker would ask it instead
 * of the inline login), which also drops the caller's stored logins for OTHER registries inside the command, while
 * credHelpers of other registries survive. The header says so; this runs the script and shows it. And the Docker
 * Hub secret ARN: the pipeline's rights no longer name it (ECR's service-linked role reads it), so its partial
 * (`…:secret:ecr-pullthroughcache/docker-hub`) and full (`…-AbCdEf`) forms give the same deploy policy.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deployPolicy, DeployPolicyArgs } from "../lib/access/deployPolicy";

const SCRIPT = path.join(__dirname, "..", "scripts", "with-registry-auth.sh");

describe("with-registry-auth.sh and the caller's credsStore (#27 review, finding 10)", () => {
    it("inside the command, the credsStore (and with it the caller's stored logins) is gone, credHelpers of other registries stay, and the header says so", () => {
        const caller = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-caller-"));
        try {
            fs.writeFileSync(path.join(caller, "config.json"), JSON.stringify({ credsStore: "desktop", credHelpers: { "public.ecr.aws": "ecr-login" }, auths: { "https://index.docker.io/v1/": {} } }));
            const r = spawnSync("sh", [SCRIPT, "sh", "-c", 'cat "$DOCKER_CONFIG/config.json"'], {
                env: { PATH: process.env.PATH, HOME: caller, DOCKER_CONFIG: caller, MLCI_REGISTRY_HOST: "123456789012.dkr.ecr.us-east-1.amazonaws.com", MLCI_REGISTRY_AUTH: "AWS:token" },
                encoding: "utf8",
            });
            assert.strictEqual(r.status, 0, r.stderr);
            const seen = JSON.parse(r.stdout);
            assert.strictEqual(seen.credsStore, undefined);
            assert.deepStrictEqual(seen.credHelpers, { "public.ecr.aws": "ecr-login" });
            assert.ok(seen.auths["123456789012.dkr.ecr.us-east-1.amazonaws.com"].auth);
        } finally {
            fs.rmSync(caller, { recursive: true, force: true });
        }
        const header = fs.readFileSync(SCRIPT, "utf8").split("\nset -eu")[0];
        assert.match(header.replace(/\n# ?/g, " "), /Dropping credsStore also drops, inside COMMAND, every login the caller keeps in that store/);
    });

    it("a Docker Hub secret ARN with or without Secrets Manager's 6-character suffix gives the same deploy policy", () => {
        const base: DeployPolicyArgs = { stack: "prod", accountId: "123456789012", region: "us-east-1", registryPrefix: "ml-ci", manageRegistrySettings: false, replicates: false, oidcProvider: "create" };
        const partial = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub";
        const a = deployPolicy({ ...base, pullThroughCache: { prefix: "docker-hub", credentialSecretArn: partial } });
        const b = deployPolicy({ ...base, pullThroughCache: { prefix: "docker-hub", credentialSecretArn: `${partial}-AbCdEf` } });
        assert.deepStrictEqual(a, b);
        assert.ok(!JSON.stringify(a).includes("secretsmanager"), "no right on the referenced secret");
    });
});
