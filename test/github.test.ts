import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { githubConfigProblems } from "../lib/github/access";
import {
    actionsNameProblem,
    actionsNames,
    actionsResourceName,
    AWS_REGION_VARIABLE,
    imageVariableName,
    PIPELINE_ROLE_NAME,
    REGISTRY_VARIABLE,
} from "../lib/github/names";
import type { StackConfig } from "../lib/config/schema";

/** How the mock monitor presents a secret value to `newResource` (pulumi/runtime/rpc.ts). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    provider?: string;
}

let recorded: Recorded[] = [];

function setMocks(): void {
    recorded = [];
    pulumi.runtime.setMocks(
        {
            newResource: (args: pulumi.runtime.MockResourceArgs) => {
                recorded.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        },
        "ml-ci-images",
        "test",
        false,
    );
}

/** Resolves an Output's value (undefined when unknown) without asserting inside `apply`. */
function unwrap<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Waits until every pending resource registration reached the mocks. */
async function settled(): Promise<void> {
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

function isSecretValue(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Every plaintext string reachable in `v` outside secret wrappers. */
function plaintextStrings(v: unknown): string[] {
    if (typeof v === "string") return [v];
    if (isSecretValue(v)) return [];
    if (Array.isArray(v)) return v.flatMap(plaintextStrings);
    if (typeof v === "object" && v !== null) return Object.values(v).flatMap(plaintextStrings);
    return [];
}

function registeredUrns(): string[] {
    const monitor = pulumi.runtime.getMonitor() as unknown as { getRegisteredResources(): Map<string, unknown> };
    return [...monitor.getRegisteredResources().keys()];
}

const byType = (type: string) => recorded.filter((r) => r.type === type);
const describeRecorded = () => recorded.map((r) => `${r.type} ${r.name}`).join("\n    ");

const IMAGES = {
    "base-cuda12.4-py3.11": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/base:cuda12.4-py3.11-0123456789ab@sha256:" + "a".repeat(64),
    "nightly-cuda12.4-py3.11": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly:cuda12.4-py3.11-ba9876543210@sha256:" + "b".repeat(64),
    "cpu-py3.11": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/cpu:py3.11-00000000cafe@sha256:" + "c".repeat(64),
};
const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const ROLE_ARN = "arn:aws:iam::123456789012:role/ml-ci-images-pipeline";
const TOKEN = "ghp_not_a_real_token_0123456789";

describe("GitHub variable names", () => {
    it("derive CI_IMAGE_<NAME> from the image name, punctuation becoming _", () => {
        assert.strictEqual(imageVariableName("nightly-cuda12.4-py3.11"), "CI_IMAGE_NIGHTLY_CUDA12_4_PY3_11");
        assert.strictEqual(imageVariableName("cpu-py3.10"), "CI_IMAGE_CPU_PY3_10");
        assert.strictEqual(imageVariableName("habitat--cuda12.4_py3.10."), "CI_IMAGE_HABITAT_CUDA12_4_PY3_10");
    });

    it("are always valid GitHub names, even for names starting with a digit or 'github'", () => {
        for (const image of ["3d-vision-py3.11", "github-cuda12.4-py3.11", "a", "x.y_z-1"]) {
            const name = imageVariableName(image);
            assert.strictEqual(actionsNameProblem(name), undefined, `${image} → ${name}`);
        }
    });

    it("refuse an image name with nothing to derive a name from", () => {
        assert.throws(() => imageVariableName("-._"), /no letters or digits/);
    });

    it("follow GitHub's rules: A-Z 0-9 _, no leading digit, no GITHUB_ prefix", () => {
        assert.match(actionsNameProblem("ci_image") ?? "", /A-Z, 0-9 and _/);
        assert.match(actionsNameProblem("CI-IMAGE") ?? "", /A-Z, 0-9 and _/);
        assert.match(actionsNameProblem("1CI") ?? "", /digit/);
        assert.match(actionsNameProblem("GITHUB_IMAGE") ?? "", /GITHUB_/);
        assert.match(actionsNameProblem("") ?? "", /empty/);
        assert.strictEqual(actionsNameProblem("CI_IMAGES_REGISTRY"), undefined);
    });
});

describe("the names the program writes", () => {
    const images = Object.keys(IMAGES);

    it("are the registry, the region, one variable per image and the role ARN as a secret", () => {
        const names = actionsNames(images);
        assert.deepStrictEqual(names.variables, ["CI_IMAGES_REGISTRY", "CI_IMAGES_AWS_REGION", "CI_IMAGE_BASE_CUDA12_4_PY3_11", "CI_IMAGE_NIGHTLY_CUDA12_4_PY3_11", "CI_IMAGE_CPU_PY3_11", "CI_IMAGES_PIPELINE_SESSION_SECONDS"]);
        assert.deepStrictEqual(names.secrets, [PIPELINE_ROLE_NAME]);
        assert.strictEqual(names.images.get("nightly-cuda12.4-py3.11"), "CI_IMAGE_NIGHTLY_CUDA12_4_PY3_11");
    });

    it("put the role ARN in a variable with secretRoleArn: false, and omit what is not published", () => {
        const plain = actionsNames(images, { secretRoleArn: false });
        assert.ok(plain.variables.includes(PIPELINE_ROLE_NAME));
        assert.deepStrictEqual(plain.secrets, []);
        const bare = actionsNames(images, { pipelineRole: false, awsRegion: false });
        assert.ok(!bare.variables.includes(PIPELINE_ROLE_NAME) && !bare.variables.includes(AWS_REGION_VARIABLE));
        assert.deepStrictEqual(bare.secrets, []);
        assert.ok(!bare.variables.includes("CI_IMAGES_PIPELINE_SESSION_SECONDS"), "no session length without a pipeline role");
        assert.deepStrictEqual(actionsNames(images, { previewRole: true }).variables.slice(-2), ["CI_IMAGES_PIPELINE_SESSION_SECONDS", "CI_IMAGES_PREVIEW_ROLE_ARN"]);
    });

    it("reject two images that map to one variable, naming both", () => {
        assert.throws(
            () => actionsNames(["nightly-cuda12.4-py3.11", "nightly-cuda12-4-py3-11"]),
            (e: Error) => /"nightly-cuda12\.4-py3\.11" and "nightly-cuda12-4-py3-11"/.test(e.message) && /CI_IMAGE_NIGHTLY_CUDA12_4_PY3_11/.test(e.message),
        );
    });

    it("respect GitHub's per-environment limit of 100 variables but allow them in a repository", () => {
        // registry + region + session length + 98 images = 101.
        const many = Array.from({ length: 98 }, (_, i) => `fam${i}-py3.11`);
        assert.throws(() => actionsNames(many, { scope: "environment" }), /101 variables exceed GitHub's limit of 100 per environment/);
        assert.strictEqual(actionsNames(many, { scope: "repository" }).variables.length, 101);
    });

    it("give a repository and one of its environments distinct resource names, prefixed by the component", () => {
        const repo = actionsResourceName("github", { name: "rl" }, REGISTRY_VARIABLE);
        const env = actionsResourceName("github", { name: "rl", environment: "prod" }, REGISTRY_VARIABLE);
        assert.notStrictEqual(repo, env);
        assert.ok(repo.startsWith("github-") && env.startsWith("github-"), `${repo} ${env}`);
        assert.notStrictEqual(actionsResourceName("other", { name: "rl" }, REGISTRY_VARIABLE), repo);
    });
});

describe("GitHub config checks against the image graph", () => {
    const base = {
        families: [
            { name: "night.ly", cpuOnly: false },
            { name: "night-ly", cpuOnly: false },
        ],
        matrix: { cuda: ["12.4.1"], python: ["3.11"] },
        access: { pipeline: { enabled: true } },
    } as unknown as Pick<StackConfig, "families" | "matrix" | "access">;

    it("report families whose image names collide as GitHub variables", () => {
        const problems = githubConfigProblems({ ...base, github: { enabled: true, owner: "pytorch", repositories: [{ name: "rl" }], secretRoleArn: true } });
        assert.strictEqual(problems.length, 1, JSON.stringify(problems));
        assert.strictEqual(problems[0].path, "github");
        assert.match(problems[0].message, /CI_IMAGE_NIGHT_LY_CUDA12_4_PY3_11/);
    });

    it("report a repository listed twice, and nothing when GitHub is disabled", () => {
        const ok = { ...base, families: [{ name: "nightly", cpuOnly: false }] } as typeof base;
        const problems = githubConfigProblems({ ...ok, github: { enabled: true, owner: "pytorch", repositories: [{ name: "rl" }, { name: "rl" }, { name: "rl", environment: "prod" }], secretRoleArn: true } });
        assert.deepStrictEqual(problems.map((p) => p.path), ["github.repositories[1]"]);
        assert.deepStrictEqual(githubConfigProblems({ ...base, github: { enabled: false, repositories: [], secretRoleArn: true } }), []);
    });
});

describe("GithubActionsConfig (mocks)", () => {
    beforeEach(setMocks);

    async function build(args: Partial<import("../components/github/githubActionsConfig").GithubActionsConfigArgs> = {}, name = "github") {
        const { GithubActionsConfig } = await import("../components/github/githubActionsConfig");
        const component = new GithubActionsConfig(name, {
            owner: "pytorch",
            repositories: [{ name: "rl" }],
            registryUrl: REGISTRY,
            imageRefs: IMAGES,
            pipelineRoleArn: ROLE_ARN,
            pipelineSessionSeconds: 21600,
            awsRegion: "us-east-1",
            ...args,
        });
        await unwrap(component.urn);
        await settled();
        return component;
    }

    it("writes the registry, the region and each image's digest-pinned ref as repository variables", async () => {
        await build();
        const vars = byType("github:index/actionsVariable:ActionsVariable");
        const values = Object.fromEntries(vars.map((r) => [r.inputs.variableName as string, r.inputs.value]));
        assert.deepStrictEqual(values, {
            CI_IMAGES_REGISTRY: REGISTRY,
            CI_IMAGES_AWS_REGION: "us-east-1",
            CI_IMAGE_BASE_CUDA12_4_PY3_11: IMAGES["base-cuda12.4-py3.11"],
            CI_IMAGE_NIGHTLY_CUDA12_4_PY3_11: IMAGES["nightly-cuda12.4-py3.11"],
            CI_IMAGE_CPU_PY3_11: IMAGES["cpu-py3.11"],
            CI_IMAGES_PIPELINE_SESSION_SECONDS: "21600",
        }, describeRecorded());
        assert.ok(vars.every((r) => r.inputs.repository === "rl"));
        assert.strictEqual(byType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable").length, 0);
    });

    it("parents every child, names it from the component and routes it through the owner's provider", async () => {
        await build({}, "gh-a");
        const [provider] = byType("pulumi:providers:github");
        assert.ok(provider, describeRecorded());
        assert.strictEqual(provider.inputs.owner, "pytorch");
        const children = recorded.filter((r) => r.type.startsWith("github:"));
        assert.strictEqual(children.length, 7, describeRecorded());
        for (const child of children) {
            assert.ok(child.name.startsWith("gh-a-"), `${child.type} ${child.name}`);
            assert.match(child.provider ?? "", /\$pulumi:providers:github::gh-a-provider::gh-a-provider-id$/, `${child.name} is not routed through the component's provider`);
        }
        const childUrns = registeredUrns().filter((u) => u.includes("github:index/"));
        assert.strictEqual(childUrns.length, 7);
        for (const urn of childUrns) assert.match(urn, /::mlci:github:GithubActionsConfig\$github:index\//, `${urn} is not parented to the component`);
    });

    it("keeps the pipeline role ARN secret, and gives the provider no token input (it reads GITHUB_TOKEN; #27 seam 5)", async () => {
        const component = await build();
        const [secret] = byType("github:index/actionsSecret:ActionsSecret");
        assert.ok(secret, describeRecorded());
        assert.strictEqual(secret.inputs.secretName, PIPELINE_ROLE_NAME);
        assert.ok(isSecretValue(secret.inputs.value), `ActionsSecret value is not a secret: ${JSON.stringify(secret.inputs.value)}`);
        assert.strictEqual((secret.inputs.value as { value: unknown }).value, ROLE_ARN);
        assert.strictEqual(secret.inputs.plaintextValue, undefined, "uses the deprecated plaintextValue input");
        const [provider] = byType("pulumi:providers:github");
        // The component passes no token (the machine's GITHUB_TOKEN, if any, is copied in by the SDK itself, as a secret).
        assert.ok(provider.inputs.token === undefined || isSecretValue(provider.inputs.token), `provider token: ${JSON.stringify(provider.inputs.token)}`);
        for (const r of recorded) {
            const leaked = plaintextStrings(r.inputs).filter((s) => s.includes(ROLE_ARN) || s.includes(TOKEN));
            assert.deepStrictEqual(leaked, [], `${r.type} ${r.name} carries a secret in plaintext`);
        }
        assert.deepStrictEqual(component.secretNames, [PIPELINE_ROLE_NAME]);
    });

    it("publishes the role ARN as a plain variable when secretRoleArn is false", async () => {
        await build({ secretRoleArn: false });
        assert.strictEqual(byType("github:index/actionsSecret:ActionsSecret").length, 0);
        const role = byType("github:index/actionsVariable:ActionsVariable").find((r) => r.inputs.variableName === PIPELINE_ROLE_NAME);
        assert.strictEqual(role?.inputs.value, ROLE_ARN, describeRecorded());
    });

    it("writes environment-scoped variables and secrets when the repository names an environment", async () => {
        await build({ repositories: [{ name: "rl", environment: "prod" }, { name: "tensordict" }] });
        const envVars = byType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable");
        const envSecrets = byType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
        assert.strictEqual(envVars.length, 6, describeRecorded());
        assert.ok(envVars.every((r) => r.inputs.repository === "rl" && r.inputs.environment === "prod"));
        assert.strictEqual(envSecrets.length, 1);
        assert.ok(isSecretValue(envSecrets[0].inputs.value) && envSecrets[0].inputs.environment === "prod");
        const repoVars = byType("github:index/actionsVariable:ActionsVariable");
        assert.ok(repoVars.length === 6 && repoVars.every((r) => r.inputs.repository === "tensordict"), describeRecorded());
    });

    it("writes no role ARN or region when none is given", async () => {
        const component = await build({ pipelineRoleArn: undefined, awsRegion: undefined });
        assert.deepStrictEqual(component.secretNames, []);
        assert.ok(!component.variableNames.includes(PIPELINE_ROLE_NAME) && !component.variableNames.includes(AWS_REGION_VARIABLE));
        assert.strictEqual(recorded.filter((r) => r.type.startsWith("github:index/actionsSecret")).length, 0);
    });

    it("refuses colliding image names and a repository listed twice before registering anything GitHub", async () => {
        await assert.rejects(build({ imageRefs: { "a.b-py3.11": "x", "a-b-py3.11": "y" } }), /both map to the GitHub variable CI_IMAGE_A_B_PY3_11/);
        await assert.rejects(build({ repositories: [{ name: "rl" }, { name: "rl" }] }), /repository "rl" is listed twice/);
        assert.strictEqual(recorded.filter((r) => r.type.startsWith("github:") || r.type === "pulumi:providers:github").length, 0, describeRecorded());
    });
});
