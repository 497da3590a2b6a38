/**
 * BuildKit builders and native per-platform builds.
 *
 * - {@link BuildKitBuilders}: one `command.local.Command` per configured builder that creates it
 *   if buildx does not know it (`docker buildx inspect X || docker buildx create …`) and recreates
 *   it when its config changes. Deleting the stack leaves builders in place (they may predate it).
 * - {@link NativePlatformBuild}: a multi-platform image built as one docker-build `Image` per
 *   platform, each on the builder the plan assigned (a builder that serves that platform natively,
 *   with its own registry cache `cache-<cell>-<arch>`), pushed by digest, then joined by a
 *   docker-build `Index` under the image's tag — the use the docker-build docs give for `Index`.
 * - {@link BuildTaskResources}: lets a build depend on the build before it in its builder slot
 *   (lib/images/buildPlan.ts), even when that build is declared later in the program.
 */
import * as command from "@pulumi/command";
import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { BuilderSpec, BuildPlan, BuildTask, builderEnsureCommand, builderRecreateCommand, platformSuffix } from "../../lib/images/buildPlan";
import { cacheTag } from "../../lib/images/tags";

/** Arguments of {@link BuildKitBuilders}. */
export interface BuildKitBuildersArgs {
    /** The validated `build.builders`. */
    builders: BuilderSpec[];
}

/** Creates or reuses every configured buildx builder on the machine that runs `pulumi up`. */
export class BuildKitBuilders extends pulumi.ComponentResource {
    /** The Command that ensures each builder, by builder name: builds depend on it. */
    public readonly ensured: Record<string, command.local.Command>;

    constructor(name: string, args: BuildKitBuildersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:images:BuildKitBuilders", name, {}, opts);
        this.ensured = {};
        for (const b of args.builders) {
            this.ensured[b.name] = new command.local.Command(
                `${name}-${b.name}`,
                { create: builderEnsureCommand(b), update: builderRecreateCommand(b), logging: command.local.Logging.StdoutAndStderr },
                { parent: this },
            );
        }
        this.registerOutputs({});
    }
}

/**
 * Build resources by plan task id. `dependency(id)` can be asked before `register(id, …)`: it is
 * an Input that resolves once the task's resource is declared, so declaration order does not
 * have to follow the builder slots.
 */
export class BuildTaskResources {
    private readonly waiting = new Map<string, { promise: Promise<pulumi.Resource>; resolve: (r: pulumi.Resource) => void }>();

    private entry(id: string) {
        let e = this.waiting.get(id);
        if (e === undefined) {
            let resolve!: (r: pulumi.Resource) => void;
            const promise = new Promise<pulumi.Resource>((r) => (resolve = r));
            e = { promise, resolve };
            this.waiting.set(id, e);
        }
        return e;
    }

    /** Declares the resource that performs task `id`. */
    register(id: string, resource: pulumi.Resource): void {
        this.entry(id).resolve(resource);
    }

    /** The resource of task `id`, as a dependency. */
    dependency(id: string): pulumi.Input<pulumi.Resource> {
        return this.entry(id).promise;
    }

    /** Ids asked for but never registered (a program bug: a dependency that would never resolve). */
    unregistered(registered: Iterable<string>): string[] {
        const done = new Set(registered);
        return [...this.waiting.keys()].filter((id) => !done.has(id));
    }
}

/** The per-platform registry cache ref `cache-<cell>-<arch>` (cache tags match the `cache-*` keep rule). */
export function platformCacheTag(cell: string, platform: string): string {
    return `${cacheTag(cell)}-${platformSuffix(platform)}`;
}

/** Arguments of {@link NativePlatformBuild}. */
export interface NativePlatformBuildArgs {
    /** docker-build Image inputs every platform shares (context, dockerfile, buildArgs, target, labels, registries, buildOnPreview, noCache). */
    image: Omit<dockerbuild.ImageArgs, "platforms" | "tags" | "exports" | "push" | "cacheFrom" | "cacheTo" | "builder" | "exec">;
    /** Repository URL the platform images and the index are pushed to. */
    repositoryUrl: pulumi.Input<string>;
    /** Tag of the index (the content-hash tag, or the forced tag). */
    tag: string;
    /** Cell label, for the per-platform cache refs. */
    cell: string;
    /** The plan's tasks of this image, one per platform. */
    tasks: BuildTask[];
    /** Builders by name (a `cloud` builder builds in exec mode). */
    builders: Record<string, BuilderSpec>;
    /** Push the platform images and the index. */
    push: boolean;
    /** Read and write the per-platform registry cache. */
    cache: boolean;
    /** Credentials of the index push (the platform images use `image.registries`). */
    registry?: dockerbuild.types.input.RegistryArgs;
    /** What each platform build waits for besides its parent: its slot predecessor, its builder. */
    taskDependencies: (task: BuildTask) => pulumi.Input<pulumi.Resource>[];
}

/** A multi-platform image built natively per platform and joined by an index. */
export class NativePlatformBuild extends pulumi.ComponentResource {
    /** `<repo>:<tag>@<index digest>` (the tag alone during preview). */
    public readonly ref: pulumi.Output<string>;
    /** The index digest ("" until pushed). */
    public readonly digest: pulumi.Output<string>;
    /** Digest of each platform's image manifest, by platform: what ECR scans. */
    public readonly platformDigests: pulumi.Output<Record<string, string>>;
    /** The platform images by task id. */
    public readonly platformImages: Record<string, dockerbuild.Image>;
    public readonly index: dockerbuild.Index;

    constructor(name: string, args: NativePlatformBuildArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:images:NativePlatformBuild", name, {}, opts);
        const repo = pulumi.output(args.repositoryUrl);
        const noCache = pulumi.output(args.image.noCache).apply((v) => v === true);
        this.platformImages = {};
        const sources: pulumi.Output<string>[] = [];
        const digests: Record<string, pulumi.Output<string>> = {};
        for (const task of args.tasks) {
            if (task.platform === undefined || task.builder === undefined) throw new Error(`internal: task ${task.id} of a per-platform build has no platform or builder`);
            const arch = platformSuffix(task.platform);
            const cacheRef = pulumi.interpolate`${repo}:${platformCacheTag(args.cell, task.platform)}`;
            const image = new dockerbuild.Image(
                `${name}-${arch}`,
                {
                    ...args.image,
                    platforms: [task.platform as dockerbuild.Platform],
                    builder: { name: task.builder },
                    exec: args.builders[task.builder]?.driver === "cloud" ? true : undefined,
                    push: false,
                    exports: [{ image: { names: [repo], push: args.push, pushByDigest: true, ociMediaTypes: true } }],
                    cacheFrom: args.cache ? noCache.apply((nc) => (nc ? [] : [{ registry: { ref: cacheRef } }])) : undefined,
                    cacheTo: args.cache && args.push ? [{ registry: { ref: cacheRef, imageManifest: true, ociMediaTypes: true, mode: dockerbuild.CacheMode.Max } }] : undefined,
                },
                { parent: this, retainOnDelete: true, dependsOn: args.taskDependencies(task) },
            );
            this.platformImages[task.id] = image;
            sources.push(pulumi.interpolate`${repo}@${image.digest}`);
            digests[task.platform] = image.digest;
        }
        this.index = new dockerbuild.Index(
            `${name}-index`,
            { tag: pulumi.interpolate`${repo}:${args.tag}`, sources, push: args.push, registry: args.registry },
            { parent: this, retainOnDelete: true },
        );
        this.ref = this.index.ref;
        this.digest = this.index.ref.apply((r) => (r.includes("@") ? r.slice(r.indexOf("@") + 1) : ""));
        this.platformDigests = pulumi.output(digests);
        this.registerOutputs({ ref: this.ref, digest: this.digest, platformDigests: this.platformDigests });
    }
}

/** What {@link ImageBuild} needs from the build plan for one image. */
export interface ImageBuildPlanArgs {
    /** The image's tasks: one whole-image build, or one per platform. */
    tasks: BuildTask[];
    /** Build each platform on its own builder and join them with an index. */
    perPlatform: boolean;
    /** Configured builders by name. */
    builders: Record<string, BuilderSpec>;
    /** What a task's build waits for: the previous build in its builder slot, and the builder's creation. */
    dependencies: (task: BuildTask) => pulumi.Input<pulumi.Resource>[];
    /** Declares the resource that performs a task (its slot successor waits for it). */
    register: (taskId: string, resource: pulumi.Resource) => void;
}

/**
 * The plan arguments of every built image: builders created by `builders` (if any), slot
 * dependencies resolved through one {@link BuildTaskResources}.
 */
export function imageBuildPlans(plan: BuildPlan, specs: BuilderSpec[], builders: BuildKitBuilders | undefined): Map<string, ImageBuildPlanArgs> {
    const resources = new BuildTaskResources();
    const byName = Object.fromEntries(specs.map((b) => [b.name, b]));
    const dependencies = (task: BuildTask): pulumi.Input<pulumi.Resource>[] => [
        ...(task.after !== undefined ? [resources.dependency(task.after)] : []),
        ...(task.builder !== undefined && builders?.ensured[task.builder] ? [builders.ensured[task.builder]] : []),
    ];
    const register = (id: string, r: pulumi.Resource) => resources.register(id, r);
    return new Map(plan.images.map((p) => [p.image, { tasks: p.tasks, perPlatform: p.perPlatform, builders: byName, dependencies, register }]));
}
