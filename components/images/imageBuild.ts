import * as dockerbuild from "@pulumi/docker-build";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { TaggedImage } from "../../lib/images/graph";
import { forcedTag } from "../../lib/images/tags";

/** Registry credentials for pushes (the password is a short-lived secret token). */
export interface RegistryCredentials {
    address: pulumi.Input<string>;
    username: pulumi.Input<string>;
    password: pulumi.Input<string>;
}

/** Smoke test settings. */
export interface SmokeTestSettings {
    /** Run docker/test_image.sh against every newly pushed digest. */
    enabled: boolean;
    /** Also require CUDA to be available (needs a GPU host). */
    gpu: boolean;
    /** Maximum image size in GB. */
    sizeBudgetGb: number;
}

/** Arguments of {@link ImageBuild}. */
export interface ImageBuildArgs {
    /** The graph node: name, context, args, tags. */
    image: TaggedImage;
    /** Repository URL to push to, e.g. `<account>.dkr.ecr.<region>.amazonaws.com/ml-ci/nightly`. */
    repositoryUrl: pulumi.Input<string>;
    /** Parent's digest-pinned ref, passed as BASE_IMAGE (children only). */
    baseImage?: pulumi.Input<string>;
    /** Registry prefix for public base images, passed as BASE_REGISTRY (roots only). @default "docker.io" */
    baseRegistry?: pulumi.Input<string>;
    /** Push credentials; undefined for a registry that needs none (localhost). */
    credentials?: RegistryCredentials;
    /** Digest of the content-hash tag already in the registry: adopt it, build nothing. */
    existingDigest?: string;
    /** The dated tag is already in the registry (dated tags are immutable: first build of an epoch keeps it). @default false */
    datedTagExists?: boolean;
    /** Push the image. */
    push: boolean;
    /** Use a registry layer cache `:cache-<cell>` in the same repository. */
    cache: boolean;
    /** Build during `pulumi preview` too. */
    buildOnPreview: boolean;
    /** Named buildx builder (e.g. a remote BuildKit). @default the local default builder */
    builderName?: pulumi.Input<string>;
    /** Force a rebuild: this nonce goes into the build (never into the content-hash tag). */
    rebuildNonce?: string;
    /** Smoke test settings. */
    smokeTest: SmokeTestSettings;
    /** Absolute project root (where docker/test_image.sh lives). */
    projectRoot: string;
}

/**
 * One image of the graph: build and push its content-hash tag (or adopt it when the registry
 * already has it), smoke-test the pushed digest, and only then move the `-latest` alias (and,
 * for date-rebuilt families, publish the dated tag). Images and aliases are retained on delete:
 * registry retention is the lifecycle policy's job, never a side effect of a Pulumi delete.
 */
export class ImageBuild extends pulumi.ComponentResource {
    /** `<repo>:<tag>@sha256:…` — what CI should pull. */
    public readonly ref: pulumi.Output<string>;
    /** `<repo>:<tag>`. */
    public readonly uri: pulumi.Output<string>;
    public readonly digest: pulumi.Output<string>;
    /** The tag the digest was pushed under (the content-hash tag, or the forced tag `<cell>-f<hash>-r<nonce>` when forced). */
    public readonly tag: string;
    /** True when this run declares a build; false when an existing registry image is adopted. */
    public readonly built: boolean;
    /** The build resource, when built. */
    public readonly build?: dockerbuild.Image;

    constructor(name: string, args: ImageBuildArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:images:ImageBuild", name, {}, opts);
        const img = args.image;
        const repo = pulumi.output(args.repositoryUrl);
        const forced = args.rebuildNonce !== undefined;
        this.built = forced || args.existingDigest === undefined;
        this.tag = forced ? forcedTag(img.cell.label, img.contentHash, args.rebuildNonce!) : img.tag;
        this.uri = pulumi.interpolate`${repo}:${this.tag}`;
        const registries = args.credentials ? [args.credentials] : undefined;

        if (this.built) {
            const buildArgs: Record<string, pulumi.Input<string>> = { ...img.buildArgs };
            if (img.parent !== undefined) {
                if (args.baseImage === undefined) throw new Error(`internal: ${img.name} has parent ${img.parent} but no BASE_IMAGE`);
                buildArgs.BASE_IMAGE = args.baseImage;
            } else {
                buildArgs.BASE_REGISTRY = args.baseRegistry ?? "docker.io";
            }
            if (forced) buildArgs.MLCI_REBUILD_NONCE = args.rebuildNonce!;
            const cacheRef = pulumi.interpolate`${repo}:${img.cacheTag}`;
            this.build = new dockerbuild.Image(
                `${name}-build`,
                {
                    tags: [this.uri],
                    push: args.push,
                    context: { location: path.join(args.projectRoot, img.context) },
                    dockerfile: { location: path.join(args.projectRoot, img.dockerfile) },
                    buildArgs,
                    target: img.target,
                    platforms: img.platforms as dockerbuild.Platform[],
                    buildOnPreview: args.buildOnPreview,
                    noCache: forced,
                    cacheFrom: args.cache && !forced ? [{ registry: { ref: cacheRef } }] : undefined,
                    cacheTo: args.cache && args.push ? [{ registry: { ref: cacheRef, imageManifest: true, ociMediaTypes: true, mode: dockerbuild.CacheMode.Max } }] : undefined,
                    registries,
                    builder: args.builderName !== undefined ? { name: args.builderName } : undefined,
                    labels: {
                        "org.opencontainers.image.title": img.name,
                        "io.mlci.content-hash": img.contentHash,
                        "io.mlci.family": img.family,
                    },
                },
                { parent: this, retainOnDelete: true },
            );
            this.digest = this.build.digest;
        } else {
            this.digest = pulumi.output(args.existingDigest!);
        }
        this.ref = pulumi.interpolate`${this.uri}@${this.digest}`;

        // Aliases move only after the smoke test of this exact digest passed.
        const gates: pulumi.Resource[] = [];
        if (args.smokeTest.enabled && args.push) {
            const script = path.join(args.projectRoot, "docker", "test_image.sh");
            const flags = [`--size-budget-gb ${args.smokeTest.sizeBudgetGb}`, ...(args.smokeTest.gpu && img.cell.cuda ? ["--gpu"] : []), ...(img.smokeImports.length ? [`--imports ${img.smokeImports.join(",")}`] : [])];
            gates.push(
                new command.local.Command(
                    `${name}-smoke-test`,
                    {
                        create: pulumi.interpolate`bash ${script} ${this.ref} ${flags.join(" ")}`,
                        triggers: [this.ref],
                        dir: args.projectRoot,
                        logging: command.local.Logging.StdoutAndStderr,
                    },
                    { parent: this, dependsOn: this.build ? [this.build] : [] },
                ),
            );
        }
        if (args.push) {
            const aliasTags = [img.latestTag, ...(img.datedTag && !args.datedTagExists ? [img.datedTag] : [])];
            for (const alias of aliasTags) {
                const suffix = alias === img.latestTag ? "latest" : "dated";
                new dockerbuild.Index(
                    `${name}-${suffix}`,
                    { tag: pulumi.interpolate`${repo}:${alias}`, sources: [this.ref], push: true, registry: args.credentials },
                    { parent: this, dependsOn: [...gates, ...(this.build ? [this.build] : [])], retainOnDelete: true },
                );
            }
        }
        this.registerOutputs({ ref: this.ref, uri: this.uri, digest: this.digest });
    }
}
