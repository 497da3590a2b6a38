/**
 * One GitHub OIDC provider per account (#14 item 4) and the deploy-rights warning (#15): the shipped stack files,
 * the pure checks, and the program under an IAM model that behaves like IAM (test/iamModel.ts).
 */
import * as assert from "assert";
import * as fs from "fs";
import YAML from "yaml";
import { deployRightsWarnings } from "../lib/access/deployRights";
import { deployRightsProblems } from "../cli/commands/check";
import { oidcProviderOwnershipProblems, OidcProviderClaim } from "../lib/access/githubOidc";
import { parseStackConfig } from "../lib/config/config";
import { accountWideResources } from "../lib/registry/documents";
import { readStackConfigFile } from "../lib/stackPlan";
import { PROJECT_ROOT, runProgram, runProgramExpectingError } from "./harness";
import { IamModel } from "./iamModel";

const GITHUB = "https://token.actions.githubusercontent.com";
const ENV = { MLCI_REBUILD_EPOCH: "2026-11-22" };
const PROD = { stack: "prod", env: ENV };

/** Every shipped stack's claim on the OIDC provider, read from its Pulumi.<stack>.yaml. */
function shippedClaims(): OidcProviderClaim[] {
    return fs.readdirSync(PROJECT_ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((file) => {
        const stack = file.slice("Pulumi.".length, -".yaml".length);
        const entries = (YAML.parse(fs.readFileSync(`${PROJECT_ROOT}/${file}`, "utf8")).config ?? {}) as Record<string, unknown>;
        const config = parseStackConfig(readStackConfigFile(PROJECT_ROOT, stack), { projectRoot: PROJECT_ROOT, env: {} });
        return { stack, accountIds: entries["aws:allowedAccountIds"] as string[] | undefined, pipeline: config.access.pipeline };
    });
}

describe("one GitHub OIDC provider per account (#14.4)", () => {
    it("the shipped stacks have at most one creator per account: prod creates, dev looks up", () => {
        const claims = shippedClaims();
        assert.deepStrictEqual(oidcProviderOwnershipProblems(claims), []);
        const mode = (s: string) => claims.find((c) => c.stack === s)!.pipeline;
        assert.deepStrictEqual([mode("prod").oidcProvider, mode("dev").oidcProvider], ["create", "lookup"]);
        assert.deepStrictEqual(claims.find((c) => c.stack === "dev")!.accountIds, claims.find((c) => c.stack === "prod")!.accountIds);
    });

    it("the old shipped pair (both creating in one account) is reported, as are creators of unknown accounts and lookups nobody serves", () => {
        const both = ["dev", "prod"].map((stack) => ({ stack, accountIds: ["123456789012"], pipeline: { enabled: true } }));
        assert.deepStrictEqual(oidcProviderOwnershipProblems(both), [
            "stacks dev, prod all create the GitHub OIDC provider in account 123456789012; IAM holds one per URL, so the second fails with EntityAlreadyExists: keep oidcProvider: create in one and set oidcProvider: lookup in the others",
        ]);
        assert.deepStrictEqual(oidcProviderOwnershipProblems([{ stack: "x", pipeline: { enabled: true } }]), [
            "stack x creates the GitHub OIDC provider but does not say which account it runs in: set aws:allowedAccountIds",
        ]);
        assert.deepStrictEqual(oidcProviderOwnershipProblems([{ stack: "d", accountIds: ["1"], pipeline: { enabled: true, oidcProvider: "lookup" } }]), [
            "stacks d look up the GitHub OIDC provider in account 1, but no stack creates it: set oidcProvider: create in one stack, or oidcProviderArn",
        ]);
        // An explicit ARN neither creates nor looks up.
        assert.deepStrictEqual(oidcProviderOwnershipProblems([...both.slice(0, 1), { stack: "p", accountIds: ["123456789012"], pipeline: { enabled: true, oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" } }]), []);
    });

    it("in one account, prod creates the provider and dev then finds it by URL and trusts it", async function () {
        this.timeout(120_000);
        const iam = new IamModel("123456789012");
        const prod = await runProgram({ ...PROD, iam });
        assert.strictEqual(prod.byType("aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 1);
        const dev = await runProgram({ stack: "dev", iam, env: ENV });
        assert.strictEqual(dev.byType("aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);
        assert.deepStrictEqual(dev.calls.filter((c) => c.token === "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider").map((c) => c.inputs), [{ url: GITHUB }]);
        assert.strictEqual(dev.outputs.oidcProviderArn, "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com");
        const trust = JSON.parse(dev.one("aws:iam/role:Role", "pipeline-access-role").inputs.assumeRolePolicy);
        assert.strictEqual(trust.Statement[0].Principal.Federated, dev.outputs.oidcProviderArn);
    });

    it("a second creator fails with IAM's EntityAlreadyExists text; a lookup before any creator fails with the provider's not-found text", async function () {
        this.timeout(120_000);
        const iam = new IamModel("123456789012");
        await runProgram({ ...PROD, iam });
        const second = await runProgramExpectingError({ stack: "dev", iam, env: ENV, overrides: { access: { pipeline: { oidcProvider: "create" } } } });
        assert.match(second.error.message, /^creating IAM OIDC Provider: operation error IAM: CreateOpenIDConnectProvider, https response error StatusCode: 409, RequestID: [0-9a-f-]{36}, EntityAlreadyExists: Provider with url https:\/\/token\.actions\.githubusercontent\.com already exists\.$/);
        const lonely = await runProgramExpectingError({ stack: "dev", iam: new IamModel("123456789012"), env: ENV });
        assert.match(lonely.error.message, /finding IAM OIDC Provider by url \(https:\/\/token\.actions\.githubusercontent\.com\): not found/);
    });

    it("validation refuses both a mode and an ARN", async () => {
        const { error } = await runProgramExpectingError({ stack: "dev", env: ENV, overrides: { access: { pipeline: { oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" } } } });
        assert.match(error.message, /config mlci:access\.pipeline\.oidcProvider: is "lookup" while oidcProviderArn names the provider\. Fix: remove one/);
    });
});

describe("deploy rights of a pipeline role that runs pulumi up (#15)", () => {
    const state = { type: "s3" as const, bucket: "ml-ci-pulumi-state", prefix: "ml-ci-images" };
    const pipeline = { enabled: true, runsPulumiUp: true, deployPolicyArns: ["arn:aws:iam::123456789012:policy/ml-ci-deploy"] };

    it("the shipped prod stack: deploy rights come from the generated deploy policy; without it nothing grants them", () => {
        const prod = parseStackConfig(readStackConfigFile(PROJECT_ROOT, "prod"), { projectRoot: PROJECT_ROOT, env: {} });
        assert.deepStrictEqual(deployRightsWarnings(prod.access).map((w) => w.path), ["access.pipeline.runsPulumiUp"]);
        assert.deepStrictEqual(deployRightsProblems(prod, "prod"), []);
        const dev = parseStackConfig(readStackConfigFile(PROJECT_ROOT, "dev"), { projectRoot: PROJECT_ROOT, env: {} });
        assert.deepStrictEqual(deployRightsProblems(dev, "dev"), [], "dev's role only pushes (PR code runs with it)");
    });

    it("warns when the listed policies lack the state backend's rights, and not when they grant them", () => {
        const s3Only = { Version: "2012-10-17" as const, Statement: [{ Effect: "Allow" as const, Action: ["s3:GetObject", "s3:ListBucket"], Resource: ["arn:aws:s3:::ml-ci-pulumi-state", "arn:aws:s3:::ml-ci-pulumi-state/*"] }] };
        assert.deepStrictEqual(deployRightsWarnings({ pipeline, stateBackend: state }, { deployPolicyDocuments: [s3Only] }).map((w) => w.message), [
            "do not grant the state backend: s3:PutObject on arn:aws:s3:::ml-ci-pulumi-state/ml-ci-images/.pulumi/locks/example/lock.json, s3:DeleteObject on arn:aws:s3:::ml-ci-pulumi-state/ml-ci-images/.pulumi/locks/example/lock.json",
        ]);
        const full = { Version: "2012-10-17" as const, Statement: [
            { Effect: "Allow" as const, Action: "s3:ListBucket", Resource: "arn:aws:s3:::ml-ci-pulumi-state" },
            { Effect: "Allow" as const, Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::ml-ci-pulumi-state/ml-ci-images/.pulumi/*" },
        ] };
        assert.deepStrictEqual(deployRightsWarnings({ pipeline, stateBackend: state }, { deployPolicyDocuments: [JSON.stringify(full)] }), []);
        const denied = { Version: "2012-10-17" as const, Statement: [...full.Statement, { Effect: "Deny" as const, Action: "s3:DeleteObject", Resource: "*" }] };
        assert.strictEqual(deployRightsWarnings({ pipeline, stateBackend: state }, { deployPolicyDocuments: [denied] }).length, 1, "an explicit Deny wins");
        assert.deepStrictEqual(deployRightsWarnings({ pipeline, stateBackend: { type: "pulumi-cloud" } }, { deployPolicyDocuments: [] }), [], "Pulumi Cloud needs no AWS rights");
        assert.deepStrictEqual(deployRightsWarnings({ pipeline }).map((w) => w.path), ["access.stateBackend"]);
        assert.deepStrictEqual(deployRightsWarnings({ pipeline: { ...pipeline, runsPulumiUp: false, deployPolicyArns: [] } }), []);
    });
});

describe("account-wide settings are owned by one stack that opts in (#14.14)", () => {
    const parse = (stack: string) => parseStackConfig(readStackConfigFile(PROJECT_ROOT, stack), { projectRoot: PROJECT_ROOT, env: {} });

    it("prod owns the scanning and replication configurations and the OIDC provider; dev owns nothing account-wide", () => {
        assert.deepStrictEqual(accountWideResources(parse("prod")).map((r) => r.type), [
            "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",
            "aws:ecr/replicationConfiguration:ReplicationConfiguration",
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        ]);
        assert.match(accountWideResources(parse("prod"))[1].effect, /^replaces the account's replication configuration \(ml-ci\/ to us-west-2\)/);
        assert.deepStrictEqual(accountWideResources(parse("dev")), []);
    });

    it("the program declares exactly the account-wide resources the function lists", async function () {
        this.timeout(120_000);
        const run = await runProgram(PROD);
        for (const r of accountWideResources(parse("prod"))) assert.strictEqual(run.byType(r.type).length, 1, r.type);
        const dev = await runProgram({ stack: "dev", env: ENV });
        for (const type of ["aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "aws:ecr/replicationConfiguration:ReplicationConfiguration", "aws:iam/openIdConnectProvider:OpenIdConnectProvider"]) {
            assert.strictEqual(dev.byType(type).length, 0, type);
        }
    });

    it("replication or non-default scanning without the opt-in fails validation, naming the key and the fix", async () => {
        const { error, resources } = await runProgramExpectingError({ ...PROD, overrides: { registry: { manageRegistrySettings: false, scanning: { type: "ENHANCED" } } } });
        assert.match(error.message, /config mlci:registry\.replicationRegions: needs the account-wide ReplicationConfiguration, which this stack does not own \(registry\.manageRegistrySettings is false\)\. Fix: set registry\.manageRegistrySettings: true in the ONE stack/);
        assert.match(error.message, /config mlci:registry\.scanning: is set in the account-wide RegistryScanningConfiguration/);
        assert.deepStrictEqual(resources, []);
    });
});
