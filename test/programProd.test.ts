import { strict as assert } from "assert";
import { ACCOUNT_ID, isSecret, isSecretInput, plain, REGION, runProgram, runProgramExpectingError } from "./harness";


describe("program: prod stack wiring (registry, access, GitHub, outputs)", function () {
    this.timeout(120_000);
    let run: Awaited<ReturnType<typeof runProgram>>;
    before(async () => {
        run = await runProgram({ stack: "prod" });
    });

    it("one protected, retained, scan-on-push, immutable-with-exclusion repository per family", () => {
        const repos = run.byType("aws:ecr/repository:Repository");
        assert.deepEqual(repos.map((r) => r.inputs.name).sort(), ["ml-ci/base", "ml-ci/cpu", "ml-ci/habitat", "ml-ci/nightly", "ml-ci/stable"]);
        for (const r of repos) {
            assert.equal(r.protect, true, r.urn);
            assert.equal(r.retainOnDelete, true, r.urn);
            assert.equal(r.inputs.forceDelete ?? false, false);
            assert.equal(r.inputs.imageScanningConfiguration.scanOnPush, true);
            assert.equal(r.inputs.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
            assert.ok(r.inputs.imageTagMutabilityExclusionFilters.some((f: any) => f.filter === "*-latest" && f.filterType === "WILDCARD"));
        }
        assert.equal(run.byType("aws:ecr/lifecyclePolicy:LifecyclePolicy").length, 5);
    });

    it("grants runners pull on exactly these repositories and the cache prefix", () => {
        const policy = run.byType("aws:iam/policy:Policy").find((p) => p.name === "runner-access-pull-policy")!;
        const doc = JSON.parse(plain(policy.inputs.policy));
        const resources: string[] = doc.Statement.flatMap((s: any) => [s.Resource].flat());
        for (const family of ["base", "cpu", "habitat", "nightly", "stable"]) assert.ok(resources.includes(`arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/ml-ci/${family}`), family);
        assert.ok(resources.includes(`arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/docker-hub/*`));
        const star = doc.Statement.filter((s: any) => [s.Resource].flat().includes("*"));
        assert.equal(star.length, 1);
        assert.deepEqual([star[0].Action].flat(), ["ecr:GetAuthorizationToken"]);
        const attachments = run.byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) => a.inputs.role);
        assert.ok(attachments.includes("gh-runner-gpu-linux"), "the existing runner role gets the pull policy");
        assert.equal(run.byType("aws:iam/instanceProfile:InstanceProfile").length, 1);
    });

    it("lets only the configured GitHub subjects assume the push role", () => {
        const role = run.one("aws:iam/role:Role", "pipeline-access-role");
        const trust = JSON.parse(plain(role.inputs.assumeRolePolicy));
        const text = JSON.stringify(trust);
        // The role runs `pulumi up`: only the prod environment of the workflow repository, never a branch ref (#27 seam 3).
        assert.deepStrictEqual(trust.Statement.flatMap((s: any) => [s.Condition?.StringEquals?.["token.actions.githubusercontent.com:sub"] ?? [], s.Condition?.StringLike?.["token.actions.githubusercontent.com:sub"] ?? []].flat()), ["repo:pytorch/ml-ci-images:environment:prod"]);
        assert.match(text, /"token\.actions\.githubusercontent\.com:aud":"sts\.amazonaws\.com"/);
        assert.ok(!text.includes('"*"'));
    });

    it("writes GitHub Actions variables with digest-pinned refs and keeps the role ARN secret", () => {
        const vars = run.byType("github:index/actionsVariable:ActionsVariable");
        const byName = new Map<string, any>(vars.filter((v) => v.inputs.repository === "rl").map((v) => [v.inputs.variableName, v.inputs]));
        assert.equal(byName.get("CI_IMAGES_REGISTRY").value, `${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com`);
        const nightly = byName.get("CI_IMAGE_NIGHTLY_CUDA13_2_PY3_12");
        assert.equal(nightly.repository, "rl");
        assert.equal(nightly.value, run.outputs.images["nightly-cuda13.2-py3.12"].ref);
        const secret = run.byType("github:index/actionsSecret:ActionsSecret").find((s) => s.inputs.secretName === "CI_IMAGES_PIPELINE_ROLE_ARN")!;
        assert.ok(isSecretInput(secret.inputs.value) || isSecretInput(secret.inputs.plaintextValue), "role ARN stays secret");
    });

    it("exports the role outputs CI and launch templates need", async () => {
        assert.match(run.outputs.runnerRoleArn, new RegExp(`^arn:aws:iam::${ACCOUNT_ID}:role/`));
        assert.match(run.outputs.instanceProfileArn, new RegExp(`^arn:aws:iam::${ACCOUNT_ID}:instance-profile/`));
        assert.ok(run.outputs.instanceProfileName);
        assert.match(run.outputs.pipelineRoleArn, new RegExp(`^arn:aws:iam::${ACCOUNT_ID}:role/`));
        assert.equal(run.outputs.registryServer, `${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com`);
        assert.equal(await isSecret(run.rawOutputs.images), false, "the images map is plain so CI can read it");
    });

    it("fails before any resource when GitHub is enabled without a token", async () => {
        const { error, resources } = await runProgramExpectingError({ stack: "prod", githubToken: null, env: { GITHUB_TOKEN: undefined } });
        assert.match(error.message, /GITHUB_TOKEN/);
        assert.deepEqual(resources, []);
    });
});
