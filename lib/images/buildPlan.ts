/**
 * The build plan: which BuildKit builder builds which image (and which platform of a
 * multi-platform family), and in which order, so that every platform is built natively on a
 * builder that serves it and no builder runs more than `maxParallel` builds at once.
 * Also the idempotent `docker buildx` command that creates or reuses each builder.
 * Pure: no Pulumi, no process.env, no I/O.
 *
 * Concurrency is expressed as data the program turns into `dependsOn` edges: each builder has
 * `maxParallel` slots, every build task sits in one slot of one wave, and a task depends on the
 * task before it in the same slot (`after`) and on every task of its parent image. A slot runs one
 * build at a time, so a builder never runs more than `maxParallel` builds at once.
 */
import type { ConfigProblem } from "../config/problems";
import type { StackConfig } from "../config/schema";

/** buildx drivers a configured builder can use (docker-build supports docker-container and remote; cloud needs exec mode). */
export type BuilderDriver = "remote" | "docker-container" | "cloud";

/** mTLS client settings of a `remote` builder (buildx remote driver opts; paths must be absolute). */
export interface BuilderTls {
    /** CA certificate that signed buildkitd's server certificate. */
    cacert: string;
    /** Client certificate. */
    cert: string;
    /** Client key. */
    key: string;
    /** TLS server name. @default the endpoint's host */
    servername?: string;
}

/** One named BuildKit builder (`mlci:build.builders[]`). */
export interface BuilderSpec {
    /** buildx builder name, passed to docker-build as `builder.name`. For `cloud`: `cloud-<org>-<builder>`. */
    name: string;
    driver: BuilderDriver;
    /** `remote`: buildkitd address `tcp://host:port`; `cloud`: `<org>/<builder>` of Docker Build Cloud. */
    endpoint?: string;
    /** `remote` only: mTLS client certificates. */
    tls?: BuilderTls;
    /** Platforms this builder builds natively, e.g. ["linux/arm64"]. */
    platforms: string[];
    /** Builds this builder runs at once (the config's default is 1). */
    maxParallel: number;
    /** `docker-container` only: run BuildKit on the host network (`--driver-opt network=host`). @default false */
    hostNetwork?: boolean;
}

/** What the plan needs to know about one image of the graph. */
export interface PlanImage {
    name: string;
    family: string;
    platforms: string[];
    /** Parent image name (built first). */
    parent?: string;
}

/** One build: an image, or one platform of a multi-platform image, on one builder. */
export interface BuildTask {
    /** `<image>` for a whole-image build, `<image>/<arch>` for one platform of a per-platform build. */
    id: string;
    image: string;
    family: string;
    /** Platforms this build produces (one, unless the plan has no builders and builds the image as a whole). */
    platforms: string[];
    /** Set when the image is built per platform and joined by an index: the platform of this build. */
    platform?: string;
    /** Builder name; undefined = the engine's default builder. */
    builder?: string;
    /** 0-based wave: every dependency of a task is in an earlier wave. */
    wave: number;
    /** Slot of the builder this task occupies (0 ≤ slot < maxParallel). */
    slot: number;
    /** Id of the previous task in the same builder slot: the program makes this task depend on it. */
    after?: string;
}

/** How an image is built: as one build, or per platform and joined by an index. */
export interface ImageBuildPlan {
    image: string;
    /** True when each platform is built on its own builder and an index joins them. */
    perPlatform: boolean;
    tasks: BuildTask[];
}

/** The whole plan, images in input order (parents first). */
export interface BuildPlan {
    images: ImageBuildPlan[];
    /** Every task, in input order of images and platforms. */
    tasks: BuildTask[];
    /** Number of waves (the critical path measured in builds, given the slots). */
    waves: number;
    /** Tasks per builder name (`(default)` for the default builder). */
    tasksPerBuilder: Record<string, number>;
}

/** Options of {@link planBuilds}. */
export interface PlanBuildsOptions {
    /** Which images are built in this run; adopted images need no task. @default every image */
    isBuilt?: (image: string) => boolean;
    /** `build.builder.name` shorthand: one existing builder that serves every platform (the local stack's). */
    defaultBuilderName?: string;
}

/** Name the plan reports for the engine's default builder. */
export const DEFAULT_BUILDER = "(default)";

/** Short platform name for resource names and cache tags: `linux/amd64` → `amd64`, `linux/arm/v7` → `armv7`. */
export function platformSuffix(platform: string): string {
    return platform.split("/").slice(1).join("");
}

/**
 * Assigns every built image (every platform of it, when builders are configured) to a builder
 * that serves the platform natively, in waves that respect parents and each builder's
 * `maxParallel`. Among the builders that serve a platform, the one with the fewest tasks per slot
 * so far is chosen (ties: config order), which spreads a family's cells over a fleet.
 * Without builders, each image is one build on `defaultBuilderName` (or the engine's default),
 * unbounded, as before. Throws on a platform no builder serves: {@link buildPlanProblems}
 * reports that as a config problem first. Runs in O(images × platforms × builders).
 */
export function planBuilds(images: PlanImage[], builders: BuilderSpec[], opts: PlanBuildsOptions = {}): BuildPlan {
    const isBuilt = opts.isBuilt ?? (() => true);
    const servers = serversByPlatform(builders);
    const slots = new Map<string, WaveSlots>(builders.map((b) => [b.name, new WaveSlots(b.maxParallel)]));
    const unbounded = new WaveSlots(Number.POSITIVE_INFINITY);
    const assigned = new Map<string, number>(builders.map((b) => [b.name, 0]));
    const lastWaveOf = new Map<string, number>();
    const plans: ImageBuildPlan[] = [];
    const tasks: BuildTask[] = [];
    const tasksPerBuilder: Record<string, number> = {};
    let waves = 0;

    for (const image of images) {
        if (!isBuilt(image.name)) continue;
        const earliest = image.parent !== undefined && lastWaveOf.has(image.parent) ? lastWaveOf.get(image.parent)! + 1 : 0;
        const perPlatform = builders.length > 0;
        const units = perPlatform ? image.platforms.map((p) => [p]) : [image.platforms];
        const imageTasks: BuildTask[] = [];
        let lastWave = earliest;
        for (const platforms of units) {
            let builder: BuilderSpec | undefined;
            if (perPlatform) {
                const candidates = servers.get(platforms[0]);
                if (candidates === undefined) throw new Error(`no builder serves ${platforms[0]} (image ${image.name}); buildPlanProblems reports this as a config problem`);
                builder = leastLoaded(candidates, assigned);
                assigned.set(builder.name, assigned.get(builder.name)! + 1);
            }
            const { wave, slot } = (builder ? slots.get(builder.name)! : unbounded).take(earliest);
            const builderName = builder?.name ?? opts.defaultBuilderName;
            const task: BuildTask = {
                id: perPlatform && image.platforms.length > 1 ? `${image.name}/${platformSuffix(platforms[0])}` : image.name,
                image: image.name,
                family: image.family,
                platforms,
                platform: perPlatform ? platforms[0] : undefined,
                builder: builderName,
                wave,
                slot,
            };
            imageTasks.push(task);
            tasks.push(task);
            tasksPerBuilder[builderName ?? DEFAULT_BUILDER] = (tasksPerBuilder[builderName ?? DEFAULT_BUILDER] ?? 0) + 1;
            lastWave = Math.max(lastWave, wave);
            waves = Math.max(waves, wave + 1);
        }
        lastWaveOf.set(image.name, lastWave);
        plans.push({ image: image.name, perPlatform: perPlatform && image.platforms.length > 1, tasks: imageTasks });
    }
    chainSlots(tasks, builders);
    return { images: plans, tasks, waves, tasksPerBuilder };
}

/** Builders serving each platform, in config order. */
function serversByPlatform(builders: BuilderSpec[]): Map<string, BuilderSpec[]> {
    const out = new Map<string, BuilderSpec[]>();
    for (const b of builders) for (const p of b.platforms) out.set(p, [...(out.get(p) ?? []), b]);
    return out;
}

function leastLoaded(candidates: BuilderSpec[], assigned: Map<string, number>): BuilderSpec {
    let best = candidates[0];
    for (const c of candidates) if (assigned.get(c.name)! / c.maxParallel < assigned.get(best.name)! / best.maxParallel) best = c;
    return best;
}

/**
 * Occupancy of one builder's waves: `take(w)` puts a task into the first wave ≥ w with a free
 * slot. Full waves are skipped through a union-find "next wave" pointer, so placing n tasks
 * costs near-linear time however the waves fill.
 */
class WaveSlots {
    private readonly used: number[] = [];
    private readonly next: number[] = [];
    constructor(private readonly capacity: number) {}

    take(earliest: number): { wave: number; slot: number } {
        const wave = this.find(earliest);
        const slot = this.used[wave] ?? 0;
        this.used[wave] = slot + 1;
        if (slot + 1 >= this.capacity) this.next[wave] = wave + 1;
        return { wave, slot };
    }

    private find(w: number): number {
        let root = w;
        while (this.next[root] !== undefined) root = this.next[root];
        while (this.next[w] !== undefined && this.next[w] !== root) {
            const up = this.next[w];
            this.next[w] = root;
            w = up;
        }
        return root;
    }
}

/** Links each task to the previous task of the same builder slot (by wave), so one slot runs one build at a time. */
function chainSlots(tasks: BuildTask[], builders: BuilderSpec[]): void {
    const bounded = new Set(builders.map((b) => b.name));
    const byBuilderWave = new Map<string, BuildTask[][]>();
    for (const t of tasks) {
        if (t.builder === undefined || !bounded.has(t.builder)) continue;
        const waves = byBuilderWave.get(t.builder) ?? [];
        (waves[t.wave] ??= []).push(t);
        byBuilderWave.set(t.builder, waves);
    }
    for (const waves of byBuilderWave.values()) {
        const lastInSlot: string[] = [];
        for (const wave of waves) {
            if (wave === undefined) continue;
            for (const t of wave) {
                if (lastInSlot[t.slot] !== undefined) t.after = lastInSlot[t.slot];
                lastInSlot[t.slot] = t.id;
            }
        }
    }
}

const BUILDERS_PATH = "build.builders";

/**
 * Config problems of `build.builders` against the images: duplicate or reserved names, remote
 * builders without a tcp endpoint or with relative/incomplete TLS paths, cloud builders whose
 * name is not the one buildx gives them, and every platform of every family that no builder
 * serves (named with the builders that exist). Empty when no builders are configured.
 */
export function buildPlanProblems(builders: BuilderSpec[], images: Pick<PlanImage, "family" | "platforms">[]): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (builders.length === 0) return problems;
    const seen = new Map<string, number>();
    builders.forEach((b, i) => {
        const at = `${BUILDERS_PATH}[${i}]`;
        if (b.name === "default") problems.push({ path: `${at}.name`, message: '"default" is reserved by buildx for the engine\'s own builder', fix: 'choose another name, e.g. "fleet-amd64"' });
        if (seen.has(b.name)) problems.push({ path: `${at}.name`, message: `"${b.name}" is also the name of ${BUILDERS_PATH}[${seen.get(b.name)}]`, fix: "give each builder its own name (buildx create refuses a second builder of the same name)" });
        else seen.set(b.name, i);
        if (b.driver === "remote") {
            if (b.endpoint === undefined || !/^tcp:\/\/[^/:]+:\d+$/.test(b.endpoint)) {
                problems.push({ path: `${at}.endpoint`, message: `a remote builder needs its buildkitd address as tcp://<host>:<port>, got ${JSON.stringify(b.endpoint)}`, fix: 'set it like "tcp://buildkitd-amd64.internal:1234"' });
            }
            for (const key of ["cacert", "cert", "key"] as const) {
                const p = b.tls?.[key];
                if (p !== undefined && !p.startsWith("/")) problems.push({ path: `${at}.tls.${key}`, message: `"${p}" is not an absolute path (buildx: non-absolute path provided for ${key})`, fix: "give the absolute path of the file on the machine that runs pulumi" });
            }
        } else if (b.endpoint !== undefined && b.driver === "docker-container") {
            problems.push({ path: `${at}.endpoint`, message: "a docker-container builder runs on the local engine and takes no endpoint", fix: 'remove endpoint, or use driver: remote for a buildkitd at "tcp://…"' });
        }
        if (b.tls !== undefined && b.driver !== "remote") problems.push({ path: `${at}.tls`, message: `only remote builders take TLS settings, this one is ${b.driver}`, fix: "remove tls, or use driver: remote" });
        if (b.driver === "cloud") {
            const m = /^([a-z0-9][a-z0-9_-]*)\/([A-Za-z0-9][A-Za-z0-9_.-]*)$/.exec(b.endpoint ?? "");
            if (!m) problems.push({ path: `${at}.endpoint`, message: `a cloud builder needs its Docker Build Cloud builder as "<org>/<builder>", got ${JSON.stringify(b.endpoint)}`, fix: 'set it like "acme/ml-ci"' });
            else if (b.name !== cloudBuilderName(b.endpoint!)) {
                problems.push({ path: `${at}.name`, message: `buildx names the cloud builder ${b.endpoint} "${cloudBuilderName(b.endpoint!)}", not "${b.name}"`, fix: `set name: ${cloudBuilderName(b.endpoint!)}` });
            }
        }
        if (b.hostNetwork === true && b.driver !== "docker-container") problems.push({ path: `${at}.hostNetwork`, message: `only docker-container builders run on the host network, this one is ${b.driver}`, fix: "remove hostNetwork" });
    });
    const served = new Set(builders.flatMap((b) => b.platforms));
    const reported = new Set<string>();
    for (const image of images) {
        for (const p of image.platforms) {
            const key = `${image.family}\u0000${p}`;
            if (served.has(p) || reported.has(key)) continue;
            reported.add(key);
            problems.push({
                path: `families.${image.family}.platforms`,
                message: `no builder in ${BUILDERS_PATH} serves ${p} (builders: ${builders.map((b) => `${b.name} [${b.platforms.join(", ")}]`).join("; ")})`,
                fix: `add a builder that builds ${p} natively to ${BUILDERS_PATH} (e.g. { name: fleet-${platformSuffix(p)}, driver: remote, endpoint: "tcp://buildkitd-${platformSuffix(p)}.internal:1234", platforms: [${p}] }), or remove ${p} from the family`,
            });
        }
    }
    return problems;
}

/** The build-plan checks of a parsed stack config: `build.builders` against the families, and the `builder.name` shorthand beside it. */
export function builderConfigChecks(config: Pick<StackConfig, "build" | "families">): ConfigProblem[] {
    const problems = buildPlanProblems(config.build.builders, config.families.map((f) => ({ family: f.name, platforms: f.platforms })));
    if (config.build.builder !== undefined && config.build.builders.length > 0) {
        problems.push({ path: "build.builder", message: "is a one-builder shorthand and cannot be combined with build.builders", fix: "remove build.builder, or list that builder in build.builders with the platforms it serves" });
    }
    return problems;
}

/** The local name buildx gives a Docker Build Cloud builder `<org>/<builder>`. */
export function cloudBuilderName(endpoint: string): string {
    return `cloud-${endpoint.replace("/", "-")}`;
}

function shellQuote(s: string): string {
    return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** The `docker buildx create …` argv for a builder (FACTS §11: drivers, driver opts, platforms). */
export function builderCreateArgs(b: BuilderSpec): string[] {
    if (b.driver === "cloud") return ["buildx", "create", "--driver", "cloud", b.endpoint!];
    const args = ["buildx", "create", "--name", b.name, "--driver", b.driver, "--platform", b.platforms.join(",")];
    if (b.driver === "docker-container") {
        if (b.hostNetwork === true) args.push("--driver-opt", "network=host");
        args.push("--bootstrap");
        return args;
    }
    const opts = b.tls ? [`cacert=${b.tls.cacert}`, `cert=${b.tls.cert}`, `key=${b.tls.key}`, ...(b.tls.servername ? [`servername=${b.tls.servername}`] : [])] : [];
    if (opts.length > 0) args.push("--driver-opt", opts.join(","));
    args.push(b.endpoint!);
    return args;
}

/**
 * A shell command that creates the builder if buildx does not know it yet and otherwise leaves
 * it alone: `docker buildx create` is not idempotent (`existing instance for "X" but no append mode`).
 */
export function builderEnsureCommand(b: BuilderSpec): string {
    return `docker buildx inspect ${shellQuote(b.name)} >/dev/null 2>&1 || docker ${builderCreateArgs(b).map(shellQuote).join(" ")}`;
}

/**
 * A shell command that replaces the builder with the current spec (after a config change):
 * removes the local builder entry, keeping a docker-container builder's BuildKit state (its cache),
 * then creates it again.
 */
export function builderRecreateCommand(b: BuilderSpec): string {
    return `docker buildx rm --keep-state ${shellQuote(b.name)} >/dev/null 2>&1 || true; docker ${builderCreateArgs(b).map(shellQuote).join(" ")}`;
}
