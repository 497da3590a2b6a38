import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import type { EcrRegistryArgs } from "../components/registry/ecrRegistry";
import { repositoryOptions } from "../components/registry/familyRepository";
import { accountWideResources, creationTemplateFor, registryHost, registryProblems, registryReplication, registryScanning, repositoryPullPolicy } from "../lib/registry/documents";
import { recordRegistrations, RecordedResource } from "./harness";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const REGISTRY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const FAMILIES = ["base", "nightly", "stable", "habitat", "cpu"];

type Recorded = RecordedResource;

/** Resolves an Output to a Promise, for assertions outside `apply`. */
function unwrap<T>(output: pulumi.Input<T> | undefined): Promise<T | undefined> {
    return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T | undefined)));
}

function stateFor(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, any> } {
    switch (type) {
        case "aws:ecr/repository:Repository":
            return { id: inputs.name, state: { ...inputs, arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${inputs.name}`, registryId: ACCOUNT, repositoryUrl: `${REGISTRY}/${inputs.name}` } };
        case "aws:secretsmanager/secret:Secret": {
            const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${inputs.name}-AbCdEf`;
            return { id: arn, state: { ...inputs, arn } };
        }
        case "aws:secretsmanager/secretVersion:SecretVersion":
            return { id: `${inputs.secretId}|v1`, state: { ...inputs, arn: inputs.secretId, versionId: "v1" } };
        case "aws:ecr/pullThroughCacheRule:PullThroughCacheRule":
            return { id: inputs.ecrRepositoryPrefix, state: { ...inputs, registryId: ACCOUNT } };
        case "aws:ecr/lifecyclePolicy:LifecyclePolicy":
        case "aws:ecr/repositoryPolicy:RepositoryPolicy":
            return { id: inputs.repository, state: { ...inputs, registryId: ACCOUNT } };
        default:
            return { id: `${name}-id`, state: { ...inputs, registryId: ACCOUNT } };
    }
}

/** Constructs an EcrRegistry under fresh mocks and records every registration with its options. */
async function run(args: EcrRegistryArgs) {
    const resources: Recorded[] = [];
    const calls: string[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (a) => stateFor(a.type, a.name, a.inputs),
            call: (a) => {
                calls.push(a.token);
                if (a.token === "aws:index/getCallerIdentity:getCallerIdentity") return { accountId: ACCOUNT, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/session`, userId: "AROAEXAMPLE:session", id: ACCOUNT };
                if (a.token === "aws:index/getRegion:getRegion") return { region: REGION, name: REGION, id: REGION, endpoint: `ec2.${REGION}.amazonaws.com`, description: "US East (N. Virginia)" };
                throw new Error(`unmocked call ${a.token}`);
            },
        },
        "ml-ci-images",
        "test",
        false,
    );
    recordRegistrations(resources);
    const { EcrRegistry } = await import("../components/registry/ecrRegistry");
    const registry = new EcrRegistry("registry", args);
    const outputs = {
        registryUrl: await unwrap(registry.registryUrl),
        registryId: await unwrap(registry.registryId),
        pullThroughCachePrefix: await unwrap(registry.pullThroughCachePrefix),
        pullThroughCacheRepositoryArnPattern: await unwrap(registry.pullThroughCacheRepositoryArnPattern),
        repositories: Object.fromEntries(
            await Promise.all(Object.entries(registry.repositories).map(async ([f, r]) => [f, { name: await unwrap(r.name), url: await unwrap(r.url), arn: await unwrap(r.arn), registryId: await unwrap(r.registryId) }] as const)),
        ),
    };
    await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
    const byType = (type: string) => resources.filter((r) => r.type === type);
    const one = (type: string, name: string) => {
        const found = resources.filter((r) => r.type === type && r.name === name);
        assert.strictEqual(found.length, 1, `expected one ${type} named ${name}; registered: ${resources.map((r) => r.urn).join(", ")}`);
        return found[0];
    };
    return { resources, calls, outputs, byType, one };
}

const RULE = (rulePriority: number, description: string, selection: Record<string, unknown>) => ({ rulePriority, description, selection, action: { type: "expire" } });
const KEEP = (pattern: string) => ({ tagStatus: "tagged", tagPatternList: [pattern], countType: "imageCountMoreThan", countNumber: 9999 });

// Written out by hand from the retention requirements (dev keeps 10 builds, prod 30).
const DEV_NIGHTLY_LIFECYCLE = {
    rules: [
        RULE(1, "Keep every moving <cell>-latest alias", KEEP("*-latest")),
        RULE(2, "Keep every BuildKit layer-cache ref cache-<cell>", KEEP("cache-*")),
        RULE(3, "Keep every protected release tag release-*", KEEP("release-*")),
        RULE(4, "Keep every protected release tag v*", KEEP("v*")),
        RULE(5, "Expire dated <cell>-YYYYMMDD images after 7 days", { tagStatus: "tagged", tagPatternList: ["*-20*"], countType: "sinceImagePushed", countUnit: "days", countNumber: 7 }),
        RULE(6, "Keep the newest 10 content-hash builds", { tagStatus: "tagged", tagPatternList: ["*-h*"], countType: "imageCountMoreThan", countNumber: 10 }),
        RULE(7, "Keep the newest 10 forced rebuilds", { tagStatus: "tagged", tagPatternList: ["*-f*"], countType: "imageCountMoreThan", countNumber: 10 }),
        RULE(8, "Expire untagged images after 1 day", { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }),
    ],
};
const DEV_BASE_LIFECYCLE = {
    rules: [
        RULE(1, "Keep every moving <cell>-latest alias", KEEP("*-latest")),
        RULE(2, "Keep every BuildKit layer-cache ref cache-<cell>", KEEP("cache-*")),
        RULE(3, "Keep every protected release tag release-*", KEEP("release-*")),
        RULE(4, "Keep every protected release tag v*", KEEP("v*")),
        RULE(5, "Keep the newest 10 content-hash builds", { tagStatus: "tagged", tagPatternList: ["*-h*"], countType: "imageCountMoreThan", countNumber: 10 }),
        RULE(6, "Keep the newest 10 forced rebuilds", { tagStatus: "tagged", tagPatternList: ["*-f*"], countType: "imageCountMoreThan", countNumber: 10 }),
        RULE(7, "Expire untagged images after 1 day", { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }),
    ],
};
const PROD_STABLE_LIFECYCLE = {
    rules: [
        RULE(1, "Keep every moving <cell>-latest alias", KEEP("*-latest")),
        RULE(2, "Keep every BuildKit layer-cache ref cache-<cell>", KEEP("cache-*")),
        RULE(3, "Keep every protected release tag release-*", KEEP("release-*")),
        RULE(4, "Keep the newest 30 content-hash builds", { tagStatus: "tagged", tagPatternList: ["*-h*"], countType: "imageCountMoreThan", countNumber: 30 }),
        RULE(5, "Keep the newest 30 forced rebuilds", { tagStatus: "tagged", tagPatternList: ["*-f*"], countType: "imageCountMoreThan", countNumber: 30 }),
        RULE(6, "Expire untagged images after 2 days", { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 2 }),
    ],
};
const PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

function devArgs(): EcrRegistryArgs {
    return {
        prefix: "ml-ci",
        families: FAMILIES,
        datedFamilies: ["nightly"],
        retention: { datedTagDays: 7, keepHashBuilds: 10, untaggedDays: 1, protectedTagPatterns: ["release-*", "v*"] },
        protect: false,
        forceDelete: true,
        encryption: { type: "AES256" },
        scanning: { type: "BASIC", continuous: false },
        pullThroughCache: { enabled: true, prefix: "docker-hub", dockerHubUsername: "mlci-bot", dockerHubAccessToken: pulumi.secret("dckr_pat_example") },
        replicationRegions: [],
        manageRegistrySettings: true,
        pullAccounts: [],
    };
}

function prodArgs(): EcrRegistryArgs {
    return {
        prefix: "ml-ci",
        families: FAMILIES,
        datedFamilies: ["nightly"],
        retention: { datedTagDays: 7, keepHashBuilds: 30, untaggedDays: 2, protectedTagPatterns: ["release-*"] },
        protect: true,
        forceDelete: false,
        encryption: { type: "KMS", kmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab` },
        scanning: { type: "ENHANCED", continuous: true },
        pullThroughCache: { enabled: true, prefix: "docker-hub", credentialSecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-Xy12Ab` },
        replicationRegions: ["us-west-2", "eu-west-1"],
        manageRegistrySettings: true,
        pullAccounts: ["210987654321", "111122223333"],
        pullOrganizationId: "o-a1b2c3d4e5",
    };
}

describe("EcrRegistry (mocks): dev-like stack", function () {
    this.timeout(60_000);
    let r: Awaited<ReturnType<typeof run>>;
    before(async () => {
        r = await run(devArgs());
    });

    it("creates one immutable-with-exclusion repository per family with exactly these inputs", () => {
        const repos = r.byType("aws:ecr/repository:Repository");
        assert.deepStrictEqual(repos.map((x) => x.inputs.name).sort(), FAMILIES.map((f) => `ml-ci/${f}`).sort());
        for (const repo of repos) {
            assert.deepStrictEqual(
                repo.inputs,
                {
                    name: repo.inputs.name,
                    imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
                    imageTagMutabilityExclusionFilters: [
                        { filter: "*-latest", filterType: "WILDCARD" },
                        { filter: "cache-*", filterType: "WILDCARD" },
                    ],
                    imageScanningConfiguration: { scanOnPush: true },
                    encryptionConfigurations: [{ encryptionType: "AES256" }],
                    forceDelete: true,
                    tags: { "mlci:protected": "false" },
                },
                repo.urn,
            );
            assert.strictEqual(repo.protect, false, repo.urn);
            assert.strictEqual(repo.retainOnDelete, false, repo.urn);
        }
    });

    it("gives the date-rebuilt family the dated-expiry rule and the others none (exact lifecycle JSON)", () => {
        const policies = r.byType("aws:ecr/lifecyclePolicy:LifecyclePolicy");
        assert.strictEqual(policies.length, FAMILIES.length);
        assert.deepStrictEqual(JSON.parse(r.one("aws:ecr/lifecyclePolicy:LifecyclePolicy", "registry-nightly-lifecycle").inputs.policy), DEV_NIGHTLY_LIFECYCLE);
        for (const f of FAMILIES.filter((x) => x !== "nightly")) {
            const p = r.one("aws:ecr/lifecyclePolicy:LifecyclePolicy", `registry-${f}-lifecycle`);
            assert.strictEqual(p.inputs.repository, `ml-ci/${f}`, p.urn);
            assert.deepStrictEqual(JSON.parse(p.inputs.policy), DEV_BASE_LIFECYCLE, p.urn);
        }
    });

    it("creates the Docker Hub credential secret under ecr-pullthroughcache/ and wires it into the cache rule", () => {
        const secret = r.one("aws:secretsmanager/secret:Secret", "registry-docker-hub-credentials");
        assert.strictEqual(secret.inputs.name, "ecr-pullthroughcache/ml-ci-docker-hub");
        assert.strictEqual(secret.inputs.recoveryWindowInDays, 0, "dev: destroy + up can reuse the name at once");
        const version = r.one("aws:secretsmanager/secretVersion:SecretVersion", "registry-docker-hub-credentials-value");
        assert.strictEqual(version.inputs.secretId, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ecr-pullthroughcache/ml-ci-docker-hub-AbCdEf`);
        const { specialSigKey, specialSecretSig } = require("@pulumi/pulumi/runtime/rpc");
        assert.strictEqual(version.inputs.secretString?.[specialSigKey], specialSecretSig, "the credential JSON is sent as a secret");
        assert.deepStrictEqual(JSON.parse(version.inputs.secretString.value), { username: "mlci-bot", accessToken: "dckr_pat_example" });
        const rule = r.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "registry-docker-hub-cache");
        assert.deepStrictEqual(rule.inputs, { ecrRepositoryPrefix: "docker-hub", upstreamRegistryUrl: "registry-1.docker.io", credentialArn: version.inputs.secretId });
        assert.ok(rule.dependencies.includes(version.urn), "the rule waits for the secret's value");
    });

    it("scans the family and cache repositories on push, replicates nothing, grants no cross-account pull", () => {
        const scanning = r.one("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "registry-scanning");
        assert.deepStrictEqual(scanning.inputs, {
            scanType: "BASIC",
            rules: [{ scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "ml-ci/*", filterType: "WILDCARD" }, { filter: "docker-hub/*", filterType: "WILDCARD" }] }],
        });
        assert.deepStrictEqual(r.byType("aws:ecr/replicationConfiguration:ReplicationConfiguration"), []);
        assert.deepStrictEqual(r.byType("aws:ecr/repositoryPolicy:RepositoryPolicy"), []);
        assert.deepStrictEqual(r.byType("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"), []);
    });

    it("outputs the registry host, each repository, and the cache prefix and ARN pattern", () => {
        assert.strictEqual(r.outputs.registryUrl, REGISTRY);
        assert.strictEqual(r.outputs.registryId, ACCOUNT);
        assert.deepStrictEqual(r.outputs.repositories.nightly, { name: "ml-ci/nightly", url: `${REGISTRY}/ml-ci/nightly`, arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/ml-ci/nightly`, registryId: ACCOUNT });
        assert.deepStrictEqual(Object.keys(r.outputs.repositories).sort(), [...FAMILIES].sort());
        assert.strictEqual(r.outputs.pullThroughCachePrefix, `${REGISTRY}/docker-hub`);
        assert.strictEqual(r.outputs.pullThroughCacheRepositoryArnPattern, `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/docker-hub/*`);
    });

    it("parents every child under the registry, named from the component's name", () => {
        const component = r.resources.find((x) => x.type === "mlci:registry:EcrRegistry")!;
        const familyUrns = new Set(r.resources.filter((x) => x.type === "mlci:registry:FamilyRepository").map((x) => x.urn));
        assert.strictEqual(familyUrns.size, FAMILIES.length);
        for (const x of r.resources.filter((y) => y !== component)) {
            assert.ok(x.parentUrn === component.urn || familyUrns.has(x.parentUrn), `${x.urn} is parented to ${x.parentUrn}`);
            assert.ok(x.name.startsWith("registry-"), x.urn);
        }
        assert.deepStrictEqual([...new Set(r.calls)].sort(), ["aws:index/getCallerIdentity:getCallerIdentity", "aws:index/getRegion:getRegion"]);
    });
});

describe("EcrRegistry (mocks): prod-like stack", function () {
    this.timeout(60_000);
    let r: Awaited<ReturnType<typeof run>>;
    before(async () => {
        r = await run(prodArgs());
    });

    it("protects every repository and retains it on delete, never force-deleting", () => {
        const repos = r.byType("aws:ecr/repository:Repository");
        assert.strictEqual(repos.length, FAMILIES.length);
        for (const repo of repos) {
            assert.strictEqual(repo.protect, true, repo.urn);
            assert.strictEqual(repo.retainOnDelete, true, repo.urn);
            assert.strictEqual(repo.inputs.tags["mlci:protected"], "true", "the policy pack reads the protection the config asks for from this tag");
            assert.strictEqual(repo.inputs.forceDelete, false, repo.urn);
            assert.deepStrictEqual(repo.inputs.encryptionConfigurations, [{ encryptionType: "KMS", kmsKey: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab` }], repo.urn);
        }
    });

    it("keeps 30 builds with the prod retention (exact lifecycle JSON)", () => {
        assert.deepStrictEqual(JSON.parse(r.one("aws:ecr/lifecyclePolicy:LifecyclePolicy", "registry-stable-lifecycle").inputs.policy), PROD_STABLE_LIFECYCLE);
    });

    it("grants pull to the listed accounts and the organization on every repository", () => {
        const policies = r.byType("aws:ecr/repositoryPolicy:RepositoryPolicy");
        assert.deepStrictEqual(policies.map((p) => p.inputs.repository).sort(), FAMILIES.map((f) => `ml-ci/${f}`).sort());
        for (const p of policies) {
            assert.deepStrictEqual(JSON.parse(p.inputs.policy), {
                Version: "2012-10-17",
                Statement: [
                    { Sid: "PullFromListedAccounts", Effect: "Allow", Principal: { AWS: ["arn:aws:iam::111122223333:root", "arn:aws:iam::210987654321:root"] }, Action: PULL_ACTIONS },
                    { Sid: "PullFromOrganization", Effect: "Allow", Principal: "*", Action: PULL_ACTIONS, Condition: { StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } } },
                ],
            }, p.urn);
        }
    });

    it("references the existing credential secret instead of creating one", () => {
        assert.deepStrictEqual(r.byType("aws:secretsmanager/secret:Secret"), []);
        assert.deepStrictEqual(r.byType("aws:secretsmanager/secretVersion:SecretVersion"), []);
        const rule = r.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "registry-docker-hub-cache");
        assert.strictEqual(rule.inputs.credentialArn, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-Xy12Ab`);
    });

    it("gives every replica region ONE creation template for the stack prefix, which (ECR appends /) matches every replica", () => {
        const templates = r.byType("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate");
        assert.deepStrictEqual(templates.map((t) => [t.name, t.inputs.region, t.inputs.prefix]), [["registry-replica-us-west-2", "us-west-2", "ml-ci"], ["registry-replica-eu-west-1", "eu-west-1", "ml-ci"]]);
        const west = templates[0].inputs;
        assert.deepStrictEqual(west.appliedFors, ["REPLICATION"]);
        assert.strictEqual(west.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
        assert.deepStrictEqual(west.imageTagMutabilityExclusionFilters, [{ filter: "*-latest", filterType: "WILDCARD" }, { filter: "cache-*", filterType: "WILDCARD" }]);
        // The date-rebuilt family's policy: its dated rule selects nothing in the other families.
        assert.strictEqual(west.lifecyclePolicy, r.one("aws:ecr/lifecyclePolicy:LifecyclePolicy", "registry-nightly-lifecycle").inputs.policy);
        assert.strictEqual(west.repositoryPolicy, r.one("aws:ecr/repositoryPolicy:RepositoryPolicy", "registry-stable-pull-policy").inputs.policy);
        // ECR's prefix rule: every replica <prefix>/<family> gets this template.
        for (const region of ["us-west-2", "eu-west-1"]) {
            const prefixes = templates.filter((t) => t.inputs.region === region).map((t) => t.inputs.prefix as string);
            for (const repo of r.byType("aws:ecr/repository:Repository")) assert.strictEqual(creationTemplateFor(repo.inputs.name, prefixes), "ml-ci", `${region} ${repo.inputs.name}`);
        }
    });

    it("under ECR's prefix rule, the old per-family templates (prefix ml-ci/<family>) matched no replica at all", () => {
        const oldPrefixes = FAMILIES.map((f) => `ml-ci/${f}`);
        for (const f of FAMILIES) assert.strictEqual(creationTemplateFor(`ml-ci/${f}`, oldPrefixes), undefined, `ml-ci/${f} would get ECR's defaults`);
        assert.strictEqual(creationTemplateFor("ml-ci/base/x", oldPrefixes), "ml-ci/base", "they matched only names one level deeper");
        assert.strictEqual(creationTemplateFor("ml-ci-dev/base", ["ml-ci"]), undefined, "prod's template does not reach the dev prefix");
        assert.strictEqual(creationTemplateFor("other", ["ml-ci", "ROOT"]), "ROOT");
        assert.throws(() => creationTemplateFor("ml-ci/base/x", ["ml-ci", "ml-ci/base"]), /does not document which applies/);
    });

    it("scans continuously with ENHANCED scanning and replicates the prefix to both regions", () => {
        const scanning = r.one("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "registry-scanning");
        assert.strictEqual(scanning.inputs.scanType, "ENHANCED");
        assert.strictEqual(scanning.inputs.rules[0].scanFrequency, "CONTINUOUS_SCAN");
        const replication = r.one("aws:ecr/replicationConfiguration:ReplicationConfiguration", "registry-replication");
        assert.deepStrictEqual(replication.inputs.replicationConfiguration, {
            rules: [{ destinations: [{ region: "us-west-2", registryId: ACCOUNT }, { region: "eu-west-1", registryId: ACCOUNT }], repositoryFilters: [{ filter: "ml-ci/", filterType: "PREFIX_MATCH" }] }],
        });
    });
});

describe("EcrRegistry (mocks): variants and refusals", function () {
    this.timeout(60_000);

    it("without a pull-through cache there is no rule, no secret and no cache outputs", async () => {
        const r = await run({ ...devArgs(), pullThroughCache: { enabled: false } });
        assert.deepStrictEqual(r.byType("aws:ecr/pullThroughCacheRule:PullThroughCacheRule"), []);
        assert.deepStrictEqual(r.byType("aws:secretsmanager/secret:Secret"), []);
        assert.strictEqual(r.outputs.pullThroughCachePrefix, undefined);
        assert.strictEqual(r.outputs.pullThroughCacheRepositoryArnPattern, undefined);
    });

    it("a second stack in the same account leaves the registry-wide singletons alone", async () => {
        const r = await run({ ...prodArgs(), manageRegistrySettings: false });
        assert.deepStrictEqual(r.byType("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"), []);
        assert.deepStrictEqual(r.byType("aws:ecr/replicationConfiguration:ReplicationConfiguration"), []);
        assert.deepStrictEqual(r.byType("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"), []);
    });

    it("refuses a Docker Hub cache without credentials, in its Args terms", async () => {
        await assert.rejects(run({ ...devArgs(), pullThroughCache: { enabled: true } }), (e: Error) => {
            assert.match(e.message, /EcrRegistryArgs\.pullThroughCache: enabled without credentials; give credentialSecretArn, or dockerHubUsername and dockerHubAccessToken/);
            return true;
        });
    });

    it("refuses forceDelete on a protected registry", async () => {
        await assert.rejects(run({ ...prodArgs(), forceDelete: true }), /EcrRegistryArgs: protect and forceDelete are both true/);
    });
});

describe("repositoryOptions: prod repositories are protected and retained", () => {
    it("protect implies retainOnDelete; the default is neither", () => {
        assert.deepStrictEqual(repositoryOptions({ protect: true }), { protect: true, retainOnDelete: true });
        assert.deepStrictEqual(repositoryOptions({ protect: false }), { protect: false, retainOnDelete: false });
        assert.deepStrictEqual(repositoryOptions({}), { protect: false, retainOnDelete: false });
    });
});

describe("registrySettings documents", () => {
    it("grants no repository policy when nobody outside the account pulls", () => {
        assert.strictEqual(repositoryPullPolicy({}), undefined);
        assert.strictEqual(repositoryPullPolicy({ pullAccounts: [] }), undefined);
    });

    it("names accounts once each, in the partition given", () => {
        const doc = repositoryPullPolicy({ pullAccounts: ["222222222222", "111111111111", "222222222222"] }, "aws-us-gov")!;
        assert.deepStrictEqual(doc.Statement, [{ Sid: "PullFromListedAccounts", Effect: "Allow", Principal: { AWS: ["arn:aws-us-gov:iam::111111111111:root", "arn:aws-us-gov:iam::222222222222:root"] }, Action: PULL_ACTIONS }]);
    });

    it("BASIC scanning is on push even when continuous is asked (the config check reports it)", () => {
        assert.strictEqual(registryScanning({ type: "BASIC", continuous: true }, ["ml-ci"]).rules[0].scanFrequency, "SCAN_ON_PUSH");
        assert.deepStrictEqual(registryProblems({ manageRegistrySettings: true, protect: false, forceDelete: false, scanning: { type: "BASIC", continuous: true }, replicationRegions: [], pullThroughCache: { enabled: false, prefix: "docker-hub" } }, { hasDockerHubAccessToken: false }), [
            { path: "registry.scanning.continuous", message: "needs ENHANCED scanning (BASIC scans only on push or manually)", fix: "set registry.scanning.type: ENHANCED, or continuous: false" },
        ]);
    });

    it("replication selects the prefix's repositories only, with a filter ECR's API pattern accepts", () => {
        const [filter] = registryReplication("ml-ci", ["us-west-2"], ACCOUNT).rules[0].repositoryFilters;
        // RepositoryFilter.filter pattern from the ECR API reference.
        assert.match(filter.filter, /^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*\/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$/);
        assert.ok("ml-ci/base".startsWith(filter.filter));
        assert.ok(!"ml-ci-dev/base".startsWith(filter.filter), "a dev stack's repositories are not replicated by prod's rule");
    });

    it("replication lists each region once; the home region is a config problem", () => {
        assert.deepStrictEqual(registryReplication("ml-ci", ["us-west-2", "us-west-2"], ACCOUNT).rules[0].destinations, [{ region: "us-west-2", registryId: ACCOUNT }]);
        const problems = registryProblems({ manageRegistrySettings: true, protect: false, forceDelete: false, scanning: { type: "BASIC" }, replicationRegions: ["us-east-1"], pullThroughCache: { enabled: false, prefix: "docker-hub" } }, { hasDockerHubAccessToken: false, region: "us-east-1" });
        assert.deepStrictEqual(problems.map((p) => p.path), ["registry.replicationRegions"]);
    });

    it("registry hosts follow the partition's DNS suffix", () => {
        assert.strictEqual(registryHost(ACCOUNT, "us-east-1"), REGISTRY);
        assert.strictEqual(registryHost(ACCOUNT, "cn-north-1"), `${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn`);
    });
});
