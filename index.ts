/**
 * ml-ci-images: reads and validates the stack config, computes the image graph and its
 * content-hash tags, then composes the registry, the builds, access and GitHub wiring.
 * Any config problem fails here, before a single resource is registered.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./lib/config/problems";
import { descendantsOf } from "./lib/images/graph";
import { listingCacheAllowed, plaintextCredentialKeys, planStack, rawConfigFromEntries } from "./lib/stackPlan";
import { GithubActionsConfig } from "./components/github/githubActionsConfig";
import { ImageBuild } from "./components/images/imageBuild";
import { PipelinePushAccess } from "./components/access/pipelinePushAccess";
import { RunnerPullAccess } from "./components/access/runnerPullAccess";
import { PreviewReadAccess } from "./components/access/previewReadAccess";
import { createRegistryBackend } from "./components/registry/registryBackend";
import { decideImage, ImageDecision, imageRegistryState, ListedImage } from "./lib/registry/imageListing";
import { planBuilds } from "./lib/images/buildPlan";
import { BuildKitBuilders, imageBuildPlans } from "./components/images/builders";
import { deployPolicy, deployPolicyArgsFor, PIPELINE_ACCESS_NAME, RUNNER_ACCESS_NAME, stackBoundaryPolicyName, stackIamPath, stackPermissionsBoundary } from "./lib/access/deployPolicy";
import { ECR_PUSH_ACTIONS } from "./lib/access/ecrPolicies";
import { StackBoundary } from "./components/access/stackBoundary";

/** Whether the engine holds a config key as a secret (`pulumi config set --secret`). */
const isConfigSecret: (key: string) => boolean = require("@pulumi/pulumi/runtime/config").isConfigSecret;

export = async () => {
    const entries = pulumi.runtime.allConfig();
    // The GitHub provider reads GITHUB_TOKEN itself (a per-run App installation token); config never holds a token.
    const githubTokenInEnvironment = (process.env.GITHUB_TOKEN ?? "") !== "";
    // @pulumi/github 6.15.0's Provider copies the program's GITHUB_TOKEN into its `token` input when given none
    // (provider.js: `?? utilities.getEnv("GITHUB_TOKEN")`), and provider inputs are stored in the state. The provider
    // plugin is a separate process with the CLI's environment and reads GITHUB_TOKEN there (terraform-provider-github
    // provider.go, EnvDefaultFunc), so the program removes its own copy before any provider is constructed.
    delete process.env.GITHUB_TOKEN;
    const plan = await planStack(rawConfigFromEntries(entries), {
        projectRoot: __dirname,
        env: process.env,
        // Where the per-file hash cache lives (the test harness points it at a temp dir). @default .cache/mlci/ in the project
        hashCachePath: process.env.MLCI_HASH_CACHE || undefined,
        useListingCache: listingCacheAllowed(process.env),
        region: entries["aws:region"],
        credentials: { githubToken: githubTokenInEnvironment, githubTokenInConfig: entries["github:token"] !== undefined, plaintext: plaintextCredentialKeys(entries, (key) => isConfigSecret(key)) },
    });
    const { config, images } = plan;
    // Validation has checked owner, repositories and token: only the values are assembled here.
    const github = config.github.enabled && githubTokenInEnvironment
        ? { owner: config.github.owner!, repositories: config.github.repositories, secretRoleArn: config.github.secretRoleArn }
        : undefined;
    const secrets = new pulumi.Config(CONFIG_NAMESPACE);

    const registry = createRegistryBackend(config, { dockerHubAccessToken: secrets.getSecret("dockerHubAccessToken") });

    const force = config.build.forceRebuild;
    const forced = new Set(force === true ? images.map((i) => i.name) : force === false ? [] : force.flatMap((n) => descendantsOf(images, n)));

    // Registry lookups: ONE listing per repository answers every image's questions (#21).
    const repositoryNames = [...new Set(images.map((i) => i.repositoryName))];
    const listings = new Map<string, ListedImage[]>(await Promise.all(repositoryNames.map(async (r) => [r, await registry.listRepository(r)] as const)));
    const decisions = new Map<string, ImageDecision>();
    for (const image of images) {
        const state = imageRegistryState(listings.get(image.repositoryName)!, image);
        const adoptable = state.adoptable;
        // A tags list names tags without digests: resolve only what is adopted (and its dated tag).
        if (adoptable && adoptable.digest === "") adoptable.digest = (await registry.resolveDigest(image.repositoryName, adoptable.tag)) ?? "";
        if (state.datedTagExists && state.datedTagDigest === undefined && adoptable) state.datedTagDigest = await registry.resolveDigest(image.repositoryName, image.datedTag!);
        if (adoptable && adoptable.digest === "") state.adoptable = undefined;
        decisions.set(image.name, decideImage(state, image, { forced: forced.has(image.name), adoptExisting: config.build.adoptExisting }));
    }
    // OCI source/revision labels from the CI run, when there is one (labels are not hashed).
    const provenance = {
        source: process.env.GITHUB_SERVER_URL && process.env.GITHUB_REPOSITORY ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}` : undefined,
        revision: process.env.GITHUB_SHA || undefined,
    };

    // Which builder builds what (each platform natively when build.builders is set), in slots of maxParallel.
    const buildPlan = planBuilds(images, config.build.builders, { isBuilt: (n) => decisions.get(n)!.action === "build", defaultBuilderName: config.build.builder?.name });
    const builders = config.build.builders.length > 0 ? new BuildKitBuilders("builders", { builders: config.build.builders }) : undefined;
    const plans = imageBuildPlans(buildPlan, config.build.builders, builders);
    // Promotion waits for ECR's scan of the new digest (the local registry has no scanner).
    const scanGate =
        config.registry.backend === "ecr" && config.promotion.scanGate
            ? { stack: pulumi.getStack(), maxSeverity: config.promotion.maxSeverity, timeoutMinutes: config.promotion.scanTimeoutMinutes }
            : undefined;

    const builds = new Map<string, ImageBuild>();
    for (const image of images) {
        const parent = image.parent !== undefined ? builds.get(image.parent) : undefined;
        const family = config.families.find((f) => f.name === image.family)!;
        builds.set(
            image.name,
            new ImageBuild(
                image.name,
                {
                    image,
                    decision: decisions.get(image.name)!,
                    repositoryUrl: registry.repositoryUrls[image.family],
                    registryHost: registry.server,
                    // Children build FROM the parent's promoted (smoke-tested) digest.
                    baseImage: parent?.ref,
                    baseRegistry: registry.baseRegistry,
                    credentials: registry.credentials,
                    loginFromHost: registry.loginFromHost,
                    push: config.build.push,
                    cache: config.build.cache,
                    buildOnPreview: config.build.buildOnPreview,
                    builderName: config.build.builder?.name,
                    smokeTest: { ...config.build.smokeTest, sizeBudgetGb: family.sizeBudgetGb ?? config.build.smokeTest.sizeBudgetGb },
                    plan: plans.get(image.name),
                    scanGate,
                    provenance,
                },
                { dependsOn: [...registry.ready, ...(parent ? [parent] : [])] },
            ),
        );
    }

    const imagesOutput = pulumi.output(
        Object.fromEntries(
            images.map((image) => {
                const b = builds.get(image.name)!;
                return [
                    image.name,
                    {
                        uri: b.uri,
                        ref: b.ref,
                        digest: b.digest,
                        tag: b.tag,
                        contentTag: image.tag,
                        latestTag: image.latestTag,
                        datedTag: image.datedTag ?? null,
                        repository: registry.repositoryUrls[image.family],
                        /** Compressed registry size measured by this run's smoke test; null when not measured (adopted). */
                        sizeBytes: b.sizeBytes.apply((n) => n ?? null),
                        family: image.family,
                        cuda: image.cell.cuda ?? null,
                        python: image.cell.python,
                        parent: image.parent ?? null,
                    },
                ];
            }),
        ),
    );

    // Access is granted on exactly this stack's repositories (ECR only: config validation
    // rejects access with the local registry).
    // Every role, policy and instance profile of the stack lives under its IAM path: the deploy policy's scope.
    const iamPath = stackIamPath(pulumi.getStack());
    const access = { repositoryArns: registry.repositoryArns, pullThroughCacheRepositoryArnPattern: registry.pullThroughCacheRepositoryArnPattern, iamPath };
    const pipelineConfig = config.access.pipeline;
    // The pipeline that runs `pulumi up` gets the stack's generated least-privilege deploy policy (#27 seam 1).
    const runsUp = pipelineConfig.enabled && pipelineConfig.runsPulumiUp;
    const deployArgs = runsUp
        ? aws.getCallerIdentityOutput({}).apply((identity) =>
              deployPolicyArgsFor(config, { stack: pulumi.getStack(), accountId: identity.accountId, region: aws.config.region, partition: identity.arn.split(":")[1] }))
        : undefined;
    const deployDocument = deployArgs?.apply((args) => JSON.stringify(deployPolicy(args)));
    // The boundary on every role the stack creates: the pipeline cannot escalate past the stack's own rights.
    const boundary = deployArgs
        ? new StackBoundary("stack-boundary", {
              policyName: stackBoundaryPolicyName(pulumi.getStack()),
              policy: pulumi.all([deployArgs, pulumi.output(registry.pullThroughCacheRepositoryArnPattern)]).apply(([args, pattern]) =>
                  JSON.stringify(stackPermissionsBoundary({ ...args, pushActions: ECR_PUSH_ACTIONS, pullThroughCacheRepositoryArnPattern: pattern }))),
          })
        : undefined;
    const permissionsBoundary = boundary?.policyArn;
    const runner = config.access.runner.enabled
        ? new RunnerPullAccess(RUNNER_ACCESS_NAME, { ...access, permissionsBoundary, createRole: config.access.runner.createRole, existingRoleNames: config.access.runner.existingRoleNames })
        : undefined;
    const pipeline = config.access.pipeline.enabled
        ? new PipelinePushAccess(PIPELINE_ACCESS_NAME, {
              ...access,
              permissionsBoundary,
              subjects: config.access.pipeline.subjects,
              oidcProviderArn: config.access.pipeline.oidcProviderArn,
              oidcProvider: config.access.pipeline.oidcProvider,
              deployPolicyArns: config.access.pipeline.deployPolicyArns,
              deployPolicy: deployDocument,
          })
        : undefined;
    // Validation requires the pipeline (its OIDC provider) for the read-only PR preview role.
    const preview =
        config.access.preview.enabled && pipeline
            ? new PreviewReadAccess("preview-access", {
                  oidcProviderArn: pipeline.oidcProviderArn,
                  repositories: config.access.preview.repositories,
                  repositoryArns: registry.repositoryArns,
                  roleArns: [pipeline.roleArn, ...(runner && config.access.runner.createRole ? [runner.roleArn.apply((a) => a!)] : [])],
                  policyArns: [pipeline.policyArn, pipeline.oidcProviderArn, ...(runner ? [runner.policyArn] : [])],
                  stateBackend: config.access.stateBackend,
                  secretsKeyArn: config.access.secretsKeyArn,
                  checkpoint: { project: pulumi.getProject(), stack: pulumi.getStack() },
                  iamPath,
                  permissionsBoundary,
              })
            : undefined;

    if (github) {
        new GithubActionsConfig("github", {
            ...github,
            registryUrl: registry.server,
            awsRegion: aws.config.region,
            imageRefs: Object.fromEntries(images.map((i) => [i.name, config.build.push ? builds.get(i.name)!.ref : builds.get(i.name)!.uri])),
            pipelineRoleArn: pipeline?.roleArn,
            pipelineSessionSeconds: pipeline?.maxSessionSeconds,
            previewRoleArn: preview?.roleArn,
        });
    }

    return {
        images: imagesOutput,
        registryServer: registry.server,
        repositories: registry.repositoryUrls,
        rebuildEpoch: config.rebuildEpoch,
        builtImages: images.filter((i) => builds.get(i.name)!.built).map((i) => i.name),
        // Sum of the sizes measured this run (adopted images are not re-measured): null when none was.
        totalStorageBytes: pulumi
            .all(images.map((i) => builds.get(i.name)!.sizeBytes))
            .apply((sizes) => (sizes.some((n) => n !== undefined) ? sizes.reduce<number>((a, n) => a + (n ?? 0), 0) : null)),
        runnerRoleArn: runner?.roleArn,
        instanceProfileName: runner?.instanceProfileName,
        instanceProfileArn: runner?.instanceProfileArn,
        runnerPullPolicyArn: runner?.policyArn,
        pipelineRoleArn: pipeline?.roleArn,
        deployPolicyArn: pipeline?.deployPolicyArn,
        oidcProviderArn: pipeline?.oidcProviderArn,
        previewRoleArn: preview?.roleArn,
    };
};
