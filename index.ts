/**
 * ml-ci-images: reads and validates the stack config, computes the image graph and its
 * content-hash tags, then composes the registry, the builds, access and GitHub wiring.
 * Any config problem fails here, before a single resource is registered.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./lib/config/problems";
import { descendantsOf } from "./lib/images/graph";
import { plaintextCredentialKeys, planStack, rawConfigFromEntries } from "./lib/stackPlan";
import { GithubActionsConfig } from "./components/github/githubActionsConfig";
import { ImageBuild } from "./components/images/imageBuild";
import { PipelinePushAccess } from "./components/access/pipelinePushAccess";
import { RunnerPullAccess } from "./components/access/runnerPullAccess";
import { createRegistryBackend } from "./components/registry/registryBackend";

/** UTC timestamp nonce for forced rebuilds (`YYYYMMDDHHMMSS`), or MLCI_REBUILD_NONCE. */
function rebuildNonce(): string {
    return process.env.MLCI_REBUILD_NONCE ?? new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** Whether the engine holds a config key as a secret (`pulumi config set --secret`). */
const isConfigSecret: (key: string) => boolean = require("@pulumi/pulumi/runtime/config").isConfigSecret;

export = async () => {
    const entries = pulumi.runtime.allConfig();
    // The GitHub token: github:token config first, else GITHUB_TOKEN, always as a secret.
    const githubToken = new pulumi.Config("github").getSecret("token") ?? (process.env.GITHUB_TOKEN ? pulumi.secret(process.env.GITHUB_TOKEN) : undefined);
    const plan = await planStack(rawConfigFromEntries(entries), {
        projectRoot: __dirname,
        env: process.env,
        // Where the per-file hash cache lives (the test harness points it at a temp dir). @default .cache/mlci/ in the project
        hashCachePath: process.env.MLCI_HASH_CACHE || undefined,
        region: entries["aws:region"],
        credentials: { githubToken: githubToken !== undefined, plaintext: plaintextCredentialKeys(entries, (key) => isConfigSecret(key)) },
    });
    const { config, images } = plan;
    // Validation has checked owner, repositories and token: only the values are assembled here.
    const github =
        config.github.enabled && githubToken !== undefined
            ? { owner: config.github.owner!, token: githubToken, repositories: config.github.repositories, secretRoleArn: config.github.secretRoleArn }
            : undefined;
    const secrets = new pulumi.Config(CONFIG_NAMESPACE);

    const registry = createRegistryBackend(config, { dockerHubAccessToken: secrets.getSecret("dockerHubAccessToken") });

    const force = config.build.forceRebuild;
    const forced = new Set(force === true ? images.map((i) => i.name) : force === false ? [] : force.flatMap((n) => descendantsOf(images, n)));
    const nonce = forced.size > 0 ? rebuildNonce() : undefined;

    // Registry lookups, all at once: adopt content-hash tags the registry already has.
    const lookups = await Promise.all(
        images.map(async (image) => ({
            existingDigest: config.build.adoptExisting && !forced.has(image.name) ? await registry.findDigest(image.repositoryName, image.tag) : undefined,
            // Only pushes publish the dated tag, so only they need to know whether it exists.
            datedTagExists: config.build.push && image.datedTag !== undefined && (await registry.findDigest(image.repositoryName, image.datedTag)) !== undefined,
        })),
    );

    const builds = new Map<string, ImageBuild>();
    for (const [i, image] of images.entries()) {
        const isForced = forced.has(image.name);
        const { existingDigest, datedTagExists } = lookups[i];
        const parent = image.parent !== undefined ? builds.get(image.parent) : undefined;
        builds.set(
            image.name,
            new ImageBuild(
                image.name,
                {
                    image,
                    repositoryUrl: registry.repositoryUrls[image.family],
                    baseImage: parent?.ref,
                    baseRegistry: registry.baseRegistry,
                    credentials: registry.credentials,
                    existingDigest,
                    datedTagExists,
                    push: config.build.push,
                    cache: config.build.cache,
                    buildOnPreview: config.build.buildOnPreview,
                    builderName: config.build.builder?.name,
                    rebuildNonce: isForced ? nonce : undefined,
                    smokeTest: config.build.smokeTest,
                    projectRoot: config.projectRoot,
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
    const access = { repositoryArns: registry.repositoryArns, pullThroughCacheRepositoryArnPattern: registry.pullThroughCacheRepositoryArnPattern };
    const runner = config.access.runner.enabled
        ? new RunnerPullAccess("runner-access", { ...access, createRole: config.access.runner.createRole, existingRoleNames: config.access.runner.existingRoleNames })
        : undefined;
    const pipeline = config.access.pipeline.enabled
        ? new PipelinePushAccess("pipeline-access", {
              ...access,
              subjects: config.access.pipeline.subjects,
              oidcProviderArn: config.access.pipeline.oidcProviderArn,
              deployPolicyArns: config.access.pipeline.deployPolicyArns,
          })
        : undefined;

    if (github) {
        new GithubActionsConfig("github", {
            ...github,
            registryUrl: registry.server,
            awsRegion: aws.config.region,
            imageRefs: Object.fromEntries(images.map((i) => [i.name, config.build.push ? builds.get(i.name)!.ref : builds.get(i.name)!.uri])),
            pipelineRoleArn: pipeline?.roleArn,
        });
    }

    return {
        images: imagesOutput,
        registryServer: registry.server,
        repositories: registry.repositoryUrls,
        rebuildEpoch: config.rebuildEpoch,
        builtImages: images.filter((i) => builds.get(i.name)!.built).map((i) => i.name),
        runnerRoleArn: runner?.roleArn,
        instanceProfileName: runner?.instanceProfileName,
        instanceProfileArn: runner?.instanceProfileArn,
        runnerPullPolicyArn: runner?.policyArn,
        pipelineRoleArn: pipeline?.roleArn,
        oidcProviderArn: pipeline?.oidcProviderArn,
    };
};
