/**
 * Secrets stay secret: the Docker Hub token, the GitHub token and the ECR push password never
 * appear in a recorded resource input, provider call or stack output outside a secret wrapper,
 * and no Pulumi.*.yaml in the repository holds a credential in plain text.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { SECRET_KEYS } from "../lib/config/schema";
import { isSecret, isSecretInput, plain, PROJECT_ROOT, runProgram, RunOptions, RunResult } from "./harness";

const DOCKER_HUB_TOKEN = "dckr_pat_SECRET";
const GITHUB_TOKEN = "ghp_SECRET";
/** The ECR password the harness's getAuthorizationToken returns, and its base64 form. */
const ECR_PASSWORD = "ecr-token-abc123";
const ECR_AUTH = Buffer.from(`AWS:${ECR_PASSWORD}`).toString("base64");
const SECRETS = [DOCKER_HUB_TOKEN, GITHUB_TOKEN, ECR_PASSWORD, ECR_AUTH];

/** The stack's own Docker Hub secret is created from dockerHubUsername + mlci:dockerHubAccessToken. */
const WITH_SECRETS = (stack: string): RunOptions => ({
    stack,
    overrides: { registry: { pullThroughCache: { credentialSecretArn: undefined, dockerHubUsername: "mlci-bot" } } },
    extraConfig: { "mlci:dockerHubAccessToken": DOCKER_HUB_TOKEN },
    secretKeys: ["mlci:dockerHubAccessToken"],
    env: { GITHUB_TOKEN, MLCI_REBUILD_EPOCH: "2026-11-22" },
});

interface Occurrence {
    secret: string;
    /** Where: `<urn> inputs.secretString`. */
    at: string;
    /** Inside a Pulumi secret wrapper. */
    wrapped: boolean;
}

/** Every string under `value` that contains a secret, and whether a secret wrapper encloses it. */
function occurrences(value: unknown, at: string, wrapped = false, out: Occurrence[] = []): Occurrence[] {
    if (isSecretInput(value)) return occurrences((value as { value: unknown }).value, at, true, out);
    if (typeof value === "string") {
        for (const secret of SECRETS) if (value.includes(secret)) out.push({ secret, at, wrapped });
    } else if (Array.isArray(value)) {
        value.forEach((v, i) => occurrences(v, `${at}[${i}]`, wrapped, out));
    } else if (value !== null && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) {
            for (const secret of SECRETS) if (k.includes(secret)) out.push({ secret, at: `${at} key ${k}`, wrapped });
            occurrences(v, `${at}.${k}`, wrapped, out);
        }
    }
    return out;
}

/** Stack outputs holding a secret without being secret Outputs (plain objects are walked into). */
async function leakingOutputs(value: unknown, at: string): Promise<string[]> {
    if (value && typeof value === "object" && "apply" in (value as object) && typeof (value as { apply: unknown }).apply === "function") {
        const resolved = await new Promise((resolve) => (value as { apply(f: (v: unknown) => void): void }).apply(resolve));
        const text = JSON.stringify(resolved) ?? "";
        return SECRETS.some((s) => text.includes(s)) && !(await isSecret(value)) ? [at] : [];
    }
    if (typeof value === "string") return SECRETS.some((s) => value.includes(s)) ? [at] : [];
    if (Array.isArray(value)) return (await Promise.all(value.map((v, i) => leakingOutputs(v, `${at}[${i}]`)))).flat();
    if (value !== null && typeof value === "object") return (await Promise.all(Object.entries(value).map(([k, v]) => leakingOutputs(v, `${at}.${k}`)))).flat();
    return [];
}

describe("secrets: config secrets and credentials stay secret in every input and output", function () {
    this.timeout(120_000);
    const runs: Record<string, RunResult> = {};
    before(async () => {
        // prod runs in CI: Docker Hub credentials only by ARN (ciSecretProblems), so it creates no secret of its own.
        runs.prod = await runProgram({ ...WITH_SECRETS("prod"), overrides: undefined, extraConfig: {}, secretKeys: [] });
        runs.dev = await runProgram(WITH_SECRETS("dev"));
    });

    for (const stack of ["prod", "dev"]) {
        it(`${stack}: no resource input holds a secret outside a secret wrapper`, () => {
            const all = runs[stack].resources.flatMap((r) => occurrences(r.inputs, `${r.urn} inputs`));
            const leaks = all.filter((o) => !o.wrapped);
            assert.deepEqual(leaks.map((o) => `${o.secret} in ${o.at}`), []);
        });

        it(`${stack}: no provider function is called with a secret`, () => {
            const leaks = runs[stack].calls.flatMap((c) => occurrences(c.inputs, `call ${c.token}`)).filter((o) => !o.wrapped);
            assert.deepEqual(leaks.map((o) => `${o.secret} in ${o.at}`), []);
        });

        it(`${stack}: every stack output that carries a secret is a secret Output`, async () => {
            assert.deepEqual(await leakingOutputs(runs[stack].rawOutputs, "outputs"), []);
        });
    }

    it("the secrets do reach where they belong, wrapped (the checks above are not vacuous)", () => {
        const secretVersion = runs.dev.byType("aws:secretsmanager/secretVersion:SecretVersion");
        assert.equal(secretVersion.length, 1, "the stack creates the Docker Hub credential secret");
        assert.ok(isSecretInput(secretVersion[0].inputs.secretString), `${secretVersion[0].urn}: secretString is a secret input`);
        assert.deepEqual(JSON.parse(plain(secretVersion[0].inputs.secretString)), { username: "mlci-bot", accessToken: DOCKER_HUB_TOKEN });

        // The GitHub token stays in the environment the provider plugin reads (#27 seam 5): in no input at all, not even
        // wrapped. @pulumi/github 6.15.0's Provider would copy the program's GITHUB_TOKEN into its inputs (provider.js:
        // `?? utilities.getEnv("GITHUB_TOKEN")`), i.e. into the state, so the program hides it from itself first.
        for (const run of [runs.prod, runs.dev]) {
            const provider = run.byType("pulumi:providers:github");
            assert.equal(provider.length, 1);
            assert.strictEqual(provider[0].inputs.token, undefined, `${provider[0].urn}: a token input would be stored in the state`);
            assert.deepEqual(run.resources.flatMap((r) => occurrences(r.inputs, r.urn)).filter((o) => o.secret === GITHUB_TOKEN).map((o) => o.at), []);
        }

        const builds = runs.prod.byType("docker-build:index:Image");
        assert.ok(builds.length > 0);
        // The ECR token is in NO input, not even wrapped (decision record 0013): the preview role can read and decrypt the
        // state, so a wrapped 12-hour push token there would be a pull request's. The run logs in itself.
        for (const run of [runs.prod, runs.dev]) assert.deepEqual(run.resources.flatMap((r) => occurrences(r.inputs, r.urn)).filter((o) => o.secret === ECR_PASSWORD).map((o) => o.at), []);
    });

    it("the walks flag a secret outside a wrapper, in inputs and in outputs", async () => {
        const pulumi = await import("@pulumi/pulumi");
        // Pulumi's wire form of a secret value (rpc.specialSigKey / specialSecretSig).
        const wrapped = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: `{"token":"${GITHUB_TOKEN}"}` };
        const found = occurrences({ a: wrapped, b: [`Bearer ${GITHUB_TOKEN}`], c: { nested: "x" } }, "r");
        assert.deepEqual(found.map((o) => [o.at, o.wrapped]), [["r.a", true], ["r.b[0]", false]]);
        assert.deepEqual(await leakingOutputs({ shown: pulumi.output({ t: DOCKER_HUB_TOKEN }), hidden: pulumi.secret(DOCKER_HUB_TOKEN), map: { x: pulumi.output(ECR_PASSWORD) } }, "outputs"), ["outputs.shown", "outputs.map.x"]);
    });

    it("the secret config values reach the program only as secret Outputs", async () => {
        const pulumi = await import("@pulumi/pulumi");
        await runProgram(WITH_SECRETS("dev"));
        const token = new pulumi.Config("mlci").getSecret("dockerHubAccessToken");
        assert.ok(await isSecret(token), "mlci:dockerHubAccessToken is read as a secret");
        assert.deepEqual([...SECRET_KEYS], ["dockerHubAccessToken"], "a new secret key needs its own case in this test");
    });
});

// ---------------------------------------------------------------------------------------------
// Stack files

/** Key names that hold credentials: the last word of the key (after `:`, `.`, camelCase). */
const SECRET_KEY = /(^|[:._-]|[a-z0-9])(token|password|passwd|secret|secretKey|accessKey|apiKey|privateKey|accessToken|credentials?)$/i;
/** Strings that look like a credential wherever they appear (values, comments). */
const CREDENTIAL_PATTERNS: [string, RegExp][] = [
    ["GitHub token", /\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{8,}|\bgithub_pat_[A-Za-z0-9_]{20,}/],
    ["Docker Hub token", /\bdckr_pat_[A-Za-z0-9_-]{8,}/],
    ["AWS access key", /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
    ["private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----|-----BEGIN/],
    ["Slack token", /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
];

/** Every Pulumi.<stack>.yaml in the repository (node_modules and dot-directories skipped). */
function stackFiles(dir = PROJECT_ROOT): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.name === "node_modules" || e.name.startsWith(".")) continue;
        const abs = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...stackFiles(abs));
        else if (/^Pulumi\.[^.]+\.ya?ml$/.test(e.name)) out.push(abs);
    }
    return out.sort();
}

/** Plain values under secret-named keys, at any depth. */
function plainSecretValues(value: unknown, at: string, out: string[] = []): string[] {
    if (Array.isArray(value)) value.forEach((v, i) => plainSecretValues(v, `${at}[${i}]`, out));
    else if (value !== null && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) {
            const isSecure = v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";
            if (SECRET_KEY.test(k) && !isSecure && v !== null && v !== undefined && typeof v !== "boolean") out.push(`${at}.${k}`);
            else if (!isSecure) plainSecretValues(v, `${at}.${k}`, out);
        }
    }
    return out;
}

describe("secrets: no Pulumi.*.yaml holds a credential in plain text", () => {
    const files = stackFiles();

    it("finds the stack files", () => {
        assert.deepEqual(files.map((f) => path.relative(PROJECT_ROOT, f)).filter((f) => !f.includes("/")), ["Pulumi.dev.yaml", "Pulumi.local.yaml", "Pulumi.prod.yaml"]);
    });

    it("every secret-named key is a { secure: … } value (or absent)", () => {
        for (const file of files) {
            const doc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
            assert.deepEqual(plainSecretValues(doc.config ?? {}, "config"), [], `${path.relative(PROJECT_ROOT, file)} has plain values under secret-named keys`);
            for (const key of SECRET_KEYS) {
                const v = doc.config?.[`mlci:${key}`];
                assert.ok(v === undefined || (typeof v === "object" && typeof v.secure === "string"), `${path.relative(PROJECT_ROOT, file)}: mlci:${key} must be set with --secret`);
            }
        }
    });

    it("no text in a stack file (values or comments) looks like a credential", () => {
        for (const file of files) {
            const text = fs.readFileSync(file, "utf8");
            for (const [what, pattern] of CREDENTIAL_PATTERNS) {
                const hit = text.split("\n").findIndex((l) => pattern.test(l));
                assert.equal(hit, -1, `${path.relative(PROJECT_ROOT, file)}:${hit + 1} looks like a ${what}`);
            }
        }
    });

    it("the checks catch what they are for", () => {
        const doc = YAML.parse(
            [
                "config:",
                "  mlci:dockerHubAccessToken: dckr_pat_abcdefgh12345",
                "  github:token:",
                "    secure: v1:abc",
                "  aws:secretKey: wJalrXUtnFEMI",
                "  mlci:registry:",
                "    pullThroughCache:",
                "      credentialSecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub",
                "      password: hunter2",
                "  mlci:github:",
                "    secretRoleArn: true",
            ].join("\n"),
        );
        assert.deepEqual(plainSecretValues(doc.config, "config"), ["config.mlci:dockerHubAccessToken", "config.aws:secretKey", "config.mlci:registry.pullThroughCache.password"]);
        const flagged = (line: string) => CREDENTIAL_PATTERNS.some(([, p]) => p.test(line));
        for (const line of ["token: ghp_abcdefghij1234", "x: dckr_pat_abcdefgh12345", "key: AKIAIOSFODNN7EXAMPLE", "-----BEGIN OPENSSH PRIVATE KEY-----"]) assert.ok(flagged(line), line);
        for (const line of ["credentialSecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub", "# `pulumi config set --secret mlci:dockerHubAccessToken <token>`"]) assert.ok(!flagged(line), line);
    });
});
