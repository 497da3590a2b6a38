/**
 * `ci-images publish --stack S [images…]`: build, smoke-test and push only the images whose tested
 * build is missing from the registry, parents first (cdk-assets' `publish`, PyTorch's
 * calculate-docker-image). The decision per image is the program's (lib/registry/imageListing.ts
 * `decideImage` over one listing per repository): a tested build (its marker on the same digest) is
 * skipped; otherwise the image is built under its content tag, or the next forced `-r<N>` tag when an
 * untested build holds the content tag (tags are immutable). After the smoke test passes, only the
 * marker is added: `-latest` and the dated tag move when `pulumi up` adopts the build.
 */
import type { TaggedImage } from "../../lib/images/graph";
import { smokeTestArgs } from "../../lib/images/smokeTest";
import { markerTag, parseTag } from "../../lib/images/tags";
import { decideImage, imageRegistryState, ListedImage, listingFromTagDigests } from "../../lib/registry/imageListing";
import type { RegistryHttpClient } from "../../lib/registry/registryHttp";
import type { StackPlan } from "../../lib/stackPlan";
import { closest } from "../../lib/config/problems";
import { CliError, CommandContext, UsageError } from "../context";
import type { ImageBuilder } from "../dockerPublish";

/** Where publish pushes. */
export interface PublishRegistry {
    /** `localhost:5000` or `<account>.dkr.ecr.<region>.amazonaws.com`. */
    host: string;
    client: Pick<RegistryHttpClient, "listTags" | "manifestDigest" | "retag">;
}

/** What publish did with one image. */
export interface PublishedImage {
    name: string;
    /** `built`: built, tested and marked now; `skipped`: a tested build was there; `would-build`: --dry-run. */
    action: "built" | "skipped" | "would-build";
    /** The build's tag (content tag, or forced `-r<N>`). */
    tag: string;
    /** `<host>/<repo>:<tag>@sha256:…`; null for --dry-run builds. */
    ref: string | null;
    /** The smoke test ran (false with --no-smoke-test, or when the stack disables it). */
    smokeTested: boolean;
}

/** Options of {@link publishImages}. */
export interface PublishOptions {
    /** Image names given on the command line; empty = all. Their ancestors are included. */
    names: string[];
    dryRun: boolean;
    /** Run the smoke test (and only then add the marker). */
    smokeTest: boolean;
}

/** The images to publish: the named ones and their ancestors, in plan order (parents first). */
export function selectImages(images: TaggedImage[], names: string[]): TaggedImage[] {
    if (names.length === 0) return images;
    const byName = new Map(images.map((i) => [i.name, i]));
    const wanted = new Set<string>();
    for (const name of names) {
        if (!byName.has(name)) {
            const hint = closest(name, [...byName.keys()]);
            throw new UsageError(`unknown image "${name}"${hint ? `. Did you mean ${hint}?` : ""} (ci-images tags lists the stack's images)`);
        }
        for (let n: string | undefined = name; n !== undefined; n = byName.get(n)!.parent) wanted.add(n);
    }
    return images.filter((i) => wanted.has(i.name));
}

async function listRepository(registry: PublishRegistry, repository: string): Promise<ListedImage[]> {
    try {
        return listingFromTagDigests(Object.fromEntries((await registry.client.listTags(repository)).map((t) => [t, ""])));
    } catch (e) {
        const status = (e as { status?: number }).status;
        const fix =
            status === 401 || status === 403
                ? "the caller needs ecr:ListImages on the repository (the pipeline role has it) and a login for the registry"
                : e instanceof TypeError || status === 0
                  ? "the registry did not answer: check --registry / CI_IMAGES_REGISTRY, and for the local stack start it (npm run up:local)"
                  : "retry when the registry answers (nothing was built)";
        throw new CliError(`listing ${registry.host}/${repository} failed: ${(e as Error).message}. Fix: ${fix}`);
    }
}

/**
 * Publishes the selected images to `registry`: one listing per repository, then parents first,
 * skip or build. Progress goes to `ctx.err`; returns what was done. A failure is a CliError naming
 * the image; images built before it stay pushed (and tested).
 */
export async function publishImages(ctx: Pick<CommandContext, "err">, plan: StackPlan, registry: PublishRegistry, builder: ImageBuilder, opts: PublishOptions): Promise<PublishedImage[]> {
    const selected = selectImages(plan.images, opts.names);
    const repositories = [...new Set(selected.map((i) => i.repositoryName))];
    const listings = new Map(await Promise.all(repositories.map(async (r) => [r, await listRepository(registry, r)] as const)));
    const refs = new Map<string, string>();
    const done: PublishedImage[] = [];
    for (const image of selected) {
        const repositoryUrl = `${registry.host}/${image.repositoryName}`;
        const state = imageRegistryState(listings.get(image.repositoryName)!, image);
        if (state.adoptable) state.adoptable.digest = (await registry.client.manifestDigest(image.repositoryName, state.adoptable.tag)) ?? "";
        if (state.adoptable?.digest === "") state.adoptable = undefined;
        const decision = decideImage(state, image, { forced: false, adoptExisting: true });
        if (decision.action === "adopt") {
            const ref = `${repositoryUrl}:${decision.tag}@${decision.digest}`;
            refs.set(image.name, ref);
            done.push({ name: image.name, action: "skipped", tag: decision.tag, ref, smokeTested: true });
            ctx.err.write(`skip  ${image.name}: a tested build is in the registry (${decision.tag})\n`);
            continue;
        }
        if (opts.dryRun) {
            done.push({ name: image.name, action: "would-build", tag: decision.tag, ref: null, smokeTested: false });
            ctx.err.write(`would build  ${image.name} as ${repositoryUrl}:${decision.tag}\n`);
            continue;
        }
        const baseImageRef = image.parent !== undefined ? refs.get(image.parent) : undefined;
        if (image.parent !== undefined && baseImageRef === undefined) throw new Error(`internal: ${image.parent} was not published before ${image.name}`);
        ctx.err.write(`build ${image.name} as ${repositoryUrl}:${decision.tag} (${builder.name})${baseImageRef ? ` FROM ${baseImageRef}` : ""}\n`);
        let digest: string;
        try {
            digest = await builder.buildAndPush(image, decision.tag, baseImageRef);
        } catch (e) {
            throw new CliError(`building ${image.name} failed: ${(e as Error).message}${done.some((d) => d.action === "built") ? ` (already published: ${done.filter((d) => d.action === "built").map((d) => d.name).join(", ")})` : ""}`);
        }
        const ref = `${repositoryUrl}:${decision.tag}@${digest}`;
        const rebuild = parseTag(decision.tag)?.rebuild ?? 0;
        const smokeTested = opts.smokeTest && plan.config.build.smokeTest.enabled;
        if (smokeTested) {
            const family = plan.config.families.find((f) => f.name === image.family)!;
            const args = smokeTestArgs(image, { gpu: plan.config.build.smokeTest.gpu, sizeBudgetGb: family.sizeBudgetGb ?? plan.config.build.smokeTest.sizeBudgetGb });
            try {
                await builder.smokeTest(ref, args);
            } catch (e) {
                throw new CliError(`smoke test of ${image.name} (${ref}) failed: ${(e as Error).message}. The build stays pushed as ${decision.tag} without its marker: the next publish (or pulumi up) rebuilds it under a new -r tag`);
            }
        }
        if (opts.smokeTest) {
            // Only the marker: -latest and the dated tag move when `pulumi up` adopts this build.
            await registry.client.retag(image.repositoryName, digest, [markerTag(image.cell.label, image.contentHash, rebuild)]);
        }
        refs.set(image.name, ref);
        done.push({ name: image.name, action: "built", tag: decision.tag, ref, smokeTested });
    }
    return done;
}

function report(stack: string, host: string, builder: string, done: PublishedImage[]): string {
    const lines = done.map((d) => `${d.action.padEnd(11)}  ${d.name}  ${d.ref ?? `${host}/…:${d.tag}`}`);
    const count = (a: PublishedImage["action"]) => done.filter((d) => d.action === a).length;
    lines.push(`stack ${stack}: ${count("built")} built, ${count("skipped")} skipped${count("would-build") ? `, ${count("would-build")} to build (dry run)` : ""} in ${host} (${builder})`);
    return `${lines.join("\n")}\n`;
}

export async function run(ctx: CommandContext): Promise<number> {
    const stack = ctx.stack();
    const plan = await ctx.plan();
    const { registryAccess } = require("../registryAccess") as typeof import("../registryAccess");
    const { dockerImageBuilder } = require("../dockerPublish") as typeof import("../dockerPublish");
    const access = await registryAccess(ctx, plan, { registry: ctx.flag("registry") });
    const builder: ImageBuilder = ctx.has("dry-run") ? { name: "dry run", buildAndPush: async () => "", smokeTest: async () => undefined } : dockerImageBuilder(ctx, plan, access);
    const done = await publishImages(ctx, plan, access, builder, { names: ctx.positional, dryRun: ctx.has("dry-run"), smokeTest: !ctx.has("no-smoke-test") });
    ctx.out.write(ctx.json ? `${JSON.stringify({ stack, registry: access.host, builder: builder.name, images: done }, null, 2)}\n` : report(stack, access.host, builder.name, done));
    return 0;
}
