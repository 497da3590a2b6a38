/**
 * Build plan at scale (#20): evaluation time per image at 50, 100, 200 and 400 images, with a
 * fleet of builders configured (two amd64, one arm64; a sixth of the images are multi-platform CPU
 * images built per platform and joined by an index).
 * - the pure plan (lib/images/buildPlan.ts), median of repeated runs;
 * - the whole program under the test harness's mocks on an empty registry (every image built, so
 *   every build is planned, ensured on its builder, chained in its slot), after a warm-up run.
 * Linear means the time per image at 400 images stays within 1.5× of the time per image at 50.
 * The program part takes about two minutes on 2 cores (750 images under mocks), the whole bench's
 * budget, so it runs only when asked for: `npm run bench -- --only plan,plan-program`.
 */
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { planBuilds, PlanImage } from "../lib/images/buildPlan";
import { FLEET, scaleStackYaml } from "../test/scaleCatalog";
import { median, Row } from "./report";

const PROJECT_ROOT = path.resolve(__dirname, "..");
/** Inside the git-ignored .cache/: Dockerfiles must be under the project root. */
const SCRATCH = path.join(PROJECT_ROOT, ".cache", "bench-build-plan");
const SIZES = [50, 100, 200, 400];

/** `images` images: GPU families (4 cells each, a 3-ary tree) and CPU families (2 cells, 2 platforms), about 5:1. */
function shape(images: number): { gpu: number; cpu: number } {
    let cpu = Math.max(1, Math.round(images / 12));
    if ((images - 2 * cpu) % 4 !== 0) cpu += 1;
    return { gpu: (images - 2 * cpu) / 4, cpu };
}

function planImages(images: number): PlanImage[] {
    const { gpu, cpu } = shape(images);
    const out: PlanImage[] = [];
    for (let f = 0; f < gpu; f++) for (let c = 0; c < 4; c++) out.push({ name: `gpu${f}-c${c}`, family: `gpu${f}`, platforms: ["linux/amd64"], parent: f > 0 ? `gpu${Math.floor((f - 1) / 3)}-c${c}` : undefined });
    for (let f = 0; f < cpu; f++) for (let c = 0; c < 2; c++) out.push({ name: `cpu${f}-c${c}`, family: `cpu${f}`, platforms: ["linux/amd64", "linux/arm64"] });
    return out;
}

function stackYaml(images: number): string {
    const { gpu, cpu } = shape(images);
    if (!Number.isInteger(gpu)) throw new Error(`internal: ${images} images do not split into 4-cell GPU families`);
    fs.rmSync(SCRATCH, { recursive: true, force: true });
    return scaleStackYaml(gpu, cpu, SCRATCH, 3);
}

function perImageRows(what: string, perImage: Map<number, number>, unit: "µs" | "ms"): Row[] {
    const scale = unit === "µs" ? 1e6 : 1e3;
    const rows: Row[] = SIZES.map((n) => ({ section: "Build plan at scale", measurement: `${what}, ${n} images: per image`, figure: `${(perImage.get(n)! * scale).toFixed(unit === "µs" ? 1 : 1)} ${unit}`, target: "—", status: "info" }));
    const growth = perImage.get(SIZES[SIZES.length - 1])! / perImage.get(SIZES[0])!;
    rows.push({ section: "Build plan at scale", measurement: `${what}: per-image time at ${SIZES[SIZES.length - 1]} ÷ at ${SIZES[0]} images (linear = flat)`, figure: `${growth.toFixed(2)}×`, target: "≤ 1.5×", status: growth <= 1.5 ? "met" : "MISSED" });
    return rows;
}

export async function benchBuildPlan(rounds = 3, log: (line: string) => void = () => undefined, withProgram = false): Promise<{ rows: Row[]; details: string[] }> {
    const rows: Row[] = [];
    const details: string[] = [];

    // The pure plan: repeat each size until ~100 ms have passed, `rounds` times, median per image.
    const pure = new Map<number, number>();
    for (let i = 0; i < 200; i++) planBuilds(planImages(SIZES[SIZES.length - 1]), FLEET); // JIT warm-up
    for (const n of SIZES) {
        const images = planImages(n);
        const samples: number[] = [];
        for (let r = 0; r < rounds; r++) {
            let runs = 0;
            const t0 = performance.now();
            while (performance.now() - t0 < 100) {
                planBuilds(images, FLEET);
                runs++;
            }
            samples.push((performance.now() - t0) / 1000 / runs / n);
        }
        pure.set(n, median(samples));
    }
    rows.push(...perImageRows("pure plan (planBuilds)", pure, "µs"));
    if (!withProgram) return { rows, details };

    // The program under mocks, every image built.
    const { runProgram } = require("../test/harness") as typeof import("../test/harness");
    const program = new Map<number, number>();
    try {
        log("build plan: program warm-up (50 images) …");
        await runProgram({ stack: "dev", configYaml: stackYaml(50) });
        for (const n of SIZES) {
            const configYaml = stackYaml(n);
            const samples: number[] = [];
            for (let r = 0; r < Math.max(1, Math.min(rounds, n >= 200 ? 1 : 2)); r++) {
                log(`build plan: program, ${n} images, run ${r + 1} …`);
                const t0 = performance.now();
                const run = await runProgram({ stack: "dev", configYaml });
                const seconds = (performance.now() - t0) / 1000;
                const declared = Object.keys(run.outputs.images).length;
                if (declared !== n) throw new Error(`expected ${n} images, the program declared ${declared}`);
                samples.push(seconds / n);
                if (r === 0) details.push(`Build plan at scale, ${n} images: ${run.resources.length} resources, ${run.byType("docker-build:index:Image").length} docker-build Images, ${run.byType("docker-build:index:Index").length} Indexes, ${seconds.toFixed(1)} s`);
            }
            program.set(n, median(samples));
        }
    } finally {
        fs.rmSync(SCRATCH, { recursive: true, force: true });
    }
    rows.push(...perImageRows("program under mocks, every image built", program, "ms"));
    return { rows, details };
}
