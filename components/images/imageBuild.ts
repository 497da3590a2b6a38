import * as dockerbuild from "@pulumi/docker-build";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { TaggedImage } from "../../lib/images/graph";
import { ImageDecision } from "../../lib/registry/imageListing";
import { smokeTestArgs, smokeTestCommandLine } from "../../lib/images/smokeTest";
import { buildArgsOf, buildLabelsOf, BuildProvenance } from "../../lib/images/buildInputs";
import { ImageBuildPlanArgs, NativePlatformBuild } from "./builders";

/** Registry credentials for pushes (the password is a short-lived secret token). */
export interface RegistryCredentials {
    address: pulumi.Input<string>;
    username: pulumi.Input<string>;
    password: pulumi.Input<string>;
}

/** Smoke test settings. */
export interface SmokeTestSettings {
    /** Run docker/test_image.sh against every newly pushed digest. @default true */
    enabled: boolean;
    /** Also require CUDA to be available (needs a GPU host). @default false */
    gpu: boolean;
    /** Maximum compressed image size in GB (this image's family budget). @default 10 */
    sizeBudgetGb: number;
}

/** Arguments of {@link ImageBuild}. */
export interface ImageBuildArgs {
    /** The graph node: name, context, args, tags. */
    image: TaggedImage;
    /** What the registry listing decided: adopt a tested build, or build under a tag. */
    decision: ImageDecision;
    /** Repository URL to push to, e.g. `<account>.dkr.ecr.<region>.amazonaws.com/ml-ci/nightly`. */
    repositoryUrl: pulumi.Input<string>;
    /** Registry host of `repositoryUrl` (the smoke test's login is for it). */
    registryHost: pulumi.Input<string>;
    /** Parent's digest-pinned ref, passed as BASE_IMAGE (children only). */
    baseImage?: pulumi.Input<string>;
    /** Registry prefix for public base images, passed as BASE_REGISTRY (roots only). @default "docker.io" */
    baseRegistry?: pulumi.Input<string>;
    /** Push credentials; undefined for a registry that needs none (localhost) or with `loginFromHost`. */
    credentials?: RegistryCredentials;
    /** The run logs in itself (ECR: the host's Docker login, the CLI's own ECR token): no credential in any input. @default false */
    loginFromHost?: boolean;
    /** Push the image. @default true */
    push: boolean;
    /** Use a registry layer cache `:cache-<cell>` in the same repository. @default true */
    cache: boolean;
    /** Build during `pulumi preview` too. @default false */
    buildOnPreview: boolean;
    /** Named buildx builder (e.g. the local stack's host-network builder). @default the provider's default builder */
    builderName?: pulumi.Input<string>;
    /** Smoke test settings. */
    smokeTest: SmokeTestSettings;
    /** This image's builds from the build plan (builder per platform, slot order); see components/images/builders.ts. @default one build on `builderName` */
    plan?: ImageBuildPlanArgs;
    /** Run `ci-images scan-gate` on the pushed digest(s) before the promotion retag (ECR). @default no scan gate */
    scanGate?: { stack: string; maxSeverity: string; timeoutMinutes: number };
    /**
     * OCI `source` (repository URL) and `revision` (commit) labels. Labels are not hashed; an image
     * is built once per content tag (later runs adopt it), so `revision` names the commit that built it.
     * @default no such labels
     */
    provenance?: BuildProvenance;
}

/** `ci-images` run by the promotion Command (the project's own CLI, from node_modules/.bin). */
export const CI_IMAGES = "npx --no-install ci-images";

/** Runs a command with a throwaway DOCKER_CONFIG from MLCI_REGISTRY_AUTH (project-relative). */
export const WITH_REGISTRY_AUTH = "sh scripts/with-registry-auth.sh";


/**
 * A Command `update` that keeps the Command's stdout: pulumi-command 1.2.1 sets `stdout` from the `update` run
 * and, with `addPreviousOutputInEnv` (default true), passes the previous create/update's stdout to it as
 * PULUMI_COMMAND_STDOUT (@pulumi/command 1.2.1 local/command.d.ts, `update` and `addPreviousOutputInEnv`).
 * Only a changed (secret, rotating) environment or a trigger-free input lands here; the smoke test's measured
 * size survives it.
 */
export const KEEP_STDOUT_UPDATE = 'printf %s "$PULUMI_COMMAND_STDOUT"';

/**
 * Compressed registry size from docker/test_image.sh's stdout: the sum over its
 * `PASS|FAIL size <platform>: compressed <X.XX> GB …` lines, in bytes (the script prints GB with
 * two decimals, so this is exact to 10 MB). Undefined when no such line was printed.
 */
export function compressedSizeFromSmokeTest(stdout: string): number | undefined {
    const sizes = [...stdout.matchAll(/^(?:PASS|FAIL) size [^:\s]+: compressed ([0-9]+(?:\.[0-9]+)?) GB\b/gm)].map((m) => Number(m[1]));
    return sizes.length ? Math.round(sizes.reduce((a, b) => a + b, 0) * 1e9) : undefined;
}

/**
 * One image of the graph: build and push it under the decided tag (or adopt the tested build the
 * registry already has), smoke-test the pushed digest, and only then promote it: the smoke-test
 * marker, `-latest` and (date-rebuilt families, when absent) the dated tag are put on THAT digest
 * by a same-digest retag. The exported `ref` resolves only after the promotion.
 * Images are retained on delete: registry retention is the lifecycle policy's job.
 */
export class ImageBuild extends pulumi.ComponentResource {
    /** `<repo>:<tag>@sha256:…`, available once the image is promoted (what CI should pull). */
    public readonly ref: pulumi.Output<string>;
    /** `<repo>:<tag>@sha256:…` as pushed, before the smoke test (children build FROM it). */
    public readonly pushedRef: pulumi.Output<string>;
    /** `<repo>:<tag>`. */
    public readonly uri: pulumi.Output<string>;
    public readonly digest: pulumi.Output<string>;
    /** The tag the digest was pushed under: the content tag, or a forced rebuild `-r<N>`. */
    public readonly tag: string;
    /** True when this run declares a build; false when a tested registry image is adopted. */
    public readonly built: boolean;
    /** Compressed registry size from this run's smoke test; undefined when not measured here. */
    public readonly sizeBytes: pulumi.Output<number | undefined>;
    /** The build resource, when built as one docker-build Image. */
    public readonly build?: dockerbuild.Image;
    /** The per-platform builds and their index, when the plan builds platforms natively. */
    public readonly platformBuild?: NativePlatformBuild;
    /** The promotion Command (marker, `-latest`, dated), when pushing. */
    public readonly promotion?: command.local.Command;

    constructor(name: string, args: ImageBuildArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:images:ImageBuild", name, {}, opts);
        const img = args.image;
        const d = args.decision;
        const repo = pulumi.output(args.repositoryUrl);
        this.built = d.action === "build";
        this.tag = d.tag;
        this.uri = pulumi.interpolate`${repo}:${this.tag}`;
        const registries = args.credentials ? [args.credentials] : undefined;

        if (d.action === "build") {
            const buildArgs = buildArgsOf<pulumi.Input<string>>(img, { baseImage: args.baseImage, baseRegistry: args.baseRegistry });
            const cacheRef = pulumi.interpolate`${repo}:${img.cacheTag}`;
            const common = {
                // Relative to the project root (the provider's cwd): no checkout path in state.
                context: { location: img.context },
                dockerfile: { location: img.dockerfile },
                buildArgs,
                target: img.target,
                buildOnPreview: args.buildOnPreview,
                noCache: d.forced,
                registries,
                labels: buildLabelsOf(img, args.provenance),
            };
            const plan = args.plan;
            if (plan?.perPlatform) {
                this.platformBuild = new NativePlatformBuild(
                    `${name}-build`,
                    { image: common, repositoryUrl: repo, tag: this.tag, cell: img.cell.label, tasks: plan.tasks, builders: plan.builders, push: args.push, cache: args.cache, registry: args.credentials, taskDependencies: plan.dependencies },
                    { parent: this },
                );
                for (const [id, image] of Object.entries(this.platformBuild.platformImages)) plan.register(id, image);
                this.digest = this.platformBuild.digest;
            } else {
                const task = plan?.tasks[0];
                const builderName = task?.builder ?? args.builderName;
                this.build = new dockerbuild.Image(
                    `${name}-build`,
                    {
                        ...common,
                        tags: [this.uri],
                        push: args.push,
                        platforms: img.platforms as dockerbuild.Platform[],
                        cacheFrom: args.cache && !d.forced ? [{ registry: { ref: cacheRef } }] : undefined,
                        cacheTo: args.cache && args.push ? [{ registry: { ref: cacheRef, imageManifest: true, ociMediaTypes: true, mode: dockerbuild.CacheMode.Max } }] : undefined,
                        builder: builderName !== undefined ? { name: builderName } : undefined,
                        exec: task?.builder !== undefined && plan!.builders[task.builder]?.driver === "cloud" ? true : undefined,
                    },
                    { parent: this, retainOnDelete: true, dependsOn: task && plan ? plan.dependencies(task) : [] },
                );
                if (task && plan) plan.register(task.id, this.build);
                this.digest = this.build.digest;
            }
        } else {
            this.digest = pulumi.output(d.digest);
        }
        this.pushedRef = pulumi.interpolate`${this.uri}@${this.digest}`;
        const buildResource: pulumi.Resource | undefined = this.build ?? this.platformBuild;

        // The registry login of both Commands: a secret env var, never part of the command text.
        // With loginFromHost, MLCI_REGISTRY_AUTH is unset: with-registry-auth.sh keeps the caller's Docker logins and
        // `ci-images` logs in to ECR with the run's AWS credentials (cli/registryAccess.ts).
        const registryAuth: Record<string, pulumi.Input<string>> = args.loginFromHost
            ? {}
            : { MLCI_REGISTRY_AUTH: args.credentials ? pulumi.secret(pulumi.interpolate`${args.credentials.username}:${args.credentials.password}`) : "" };
        const environment = { MLCI_REGISTRY_HOST: args.registryHost, ...registryAuth };

        // Both Commands are named per build (`<image>-<step>-<build tag without the cell label>`) and
        // blind to `environment` changes: the registry login in it rotates every run, so an unchanged
        // build must not diff (a no-op `up`), and a new build is a NEW resource whose create takes the
        // fresh login (ignoreChanges would replay the old, expired one on a replacement). Their
        // triggers are per-build constants (the pushed digest, the promoted tags). EVERY smoke-test flag is a trigger
        // too, and the `update` re-prints the previous stdout (KEEP_STDOUT_UPDATE): pulumi-command 1.2.1 sets `stdout`
        // from the `update` command (local/commandOutputs.go), so a no-op update would blank the measured size.
        const perBuild = this.tag.slice(img.cell.label.length + 1);
        let smoke: command.local.Command | undefined;
        if (this.built && args.smokeTest.enabled && args.push) {
            const flags = smokeTestArgs(img, args.smokeTest);
            smoke = new command.local.Command(
                `${name}-smoke-test-${perBuild}`,
                {
                    create: this.pushedRef.apply((ref) => smokeTestCommandLine(WITH_REGISTRY_AUTH.split(" "), ref, flags)),
                    update: KEEP_STDOUT_UPDATE,
                    triggers: [this.pushedRef, ...flags],
                    environment,
                    logging: command.local.Logging.StdoutAndStderr,
                },
                { parent: this, dependsOn: buildResource ? [buildResource] : [], ignoreChanges: ["environment"] },
            );
        }
        // stdout is secret only because the environment holds the token; the script never prints it.
        this.sizeBytes = smoke ? pulumi.unsecret(smoke.stdout).apply(compressedSizeFromSmokeTest) : pulumi.output(undefined);

        if (args.push) {
            const tags = d.promoteTags;
            /**
             * Promotion contract (implemented by the CLI, cli/): `ci-images retag <repository-url>@<digest> <tag>...`
             * GETs the manifest `<repository-url>@<digest>` with the OCI/Docker Accept headers and PUTs the
             * exact bytes under each tag (the digest never changes; a tag already on the digest is left alone),
             * authenticated with MLCI_REGISTRY_AUTH = `user:password` (empty: no login). Exit 0 = all tags
             * point at the digest; non-zero = the registry's error (e.g. ECR TAG_INVALID) on stderr.
             */
            const retag = pulumi.interpolate`${CI_IMAGES} retag ${repo}@${this.digest} ${tags.join(" ")}`;
            // ECR scans image manifests: a per-platform build is gated on each platform's digest.
            const scanned = this.platformBuild ? this.platformBuild.platformDigests.apply((p) => Object.values(p)) : this.digest.apply((x) => [x]);
            const gate = args.scanGate;
            const create = gate
                ? pulumi
                      .all([repo, scanned, retag])
                      .apply(([r, digests, rt]) => `${CI_IMAGES} scan-gate ${digests.map((x) => `${r}@${x}`).join(" ")} --stack ${gate.stack} --max-severity ${gate.maxSeverity} --timeout ${gate.timeoutMinutes}m && ${rt}`)
                : retag;
            this.promotion = new command.local.Command(
                `${name}-promote-${perBuild}`,
                {
                    create,
                    update: KEEP_STDOUT_UPDATE,
                    triggers: [pulumi.interpolate`${repo}@${this.digest}`, ...tags],
                    environment: registryAuth,
                    logging: command.local.Logging.StdoutAndStderr,
                },
                { parent: this, dependsOn: [...(smoke ? [smoke] : []), ...(buildResource ? [buildResource] : [])], ignoreChanges: ["environment"] },
            );
            this.ref = pulumi.all([this.pushedRef, this.promotion.id]).apply(([r]) => r);
        } else {
            this.ref = this.pushedRef;
        }
        this.registerOutputs({ ref: this.ref, uri: this.uri, digest: this.digest });
    }
}
