/**
 * Registry calls and program evaluation time at 15, 100 and 200 images (#21), in this process
 * under the test harness's mocks and its ECR model:
 * - run 1 on an empty registry builds everything (the model applies the pushes and the promotion
 *   retags, markers included);
 * - run 2 on the registry run 1 left is the weekly no-op `up`: every image adopted.
 * Registry calls are the harness's count of `aws.ecr.getImages` (plus any `getImage`) invokes; the
 * target is ≤ one per repository. Evaluation time is run 2's wall time (the module loading of the
 * first run excluded by a warm-up), per image.
 */
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import YAML from "yaml";
import { median, Row } from "./report";

const PROJECT_ROOT = path.resolve(__dirname, "..");
/** Inside the git-ignored .cache/: Dockerfiles must be under the project root. */
const SCRATCH = path.join(PROJECT_ROOT, ".cache", "bench-registry");

interface Shape {
    images: number;
    families: number;
    cuda: string[];
    python: string[];
}

/** 15 = 5 families × 1 CUDA × 3 Python; 100 = 25 × 2 × 2; 200 = 50 × 2 × 2. */
const SHAPES: Shape[] = [
    { images: 15, families: 5, cuda: ["13.0.2"], python: ["3.11", "3.12", "3.13"] },
    { images: 100, families: 25, cuda: ["13.0.2", "13.2.1"], python: ["3.12", "3.13"] },
    { images: 200, families: 50, cuda: ["13.0.2", "13.2.1"], python: ["3.12", "3.13"] },
];

/** `families` GPU families (a root and a 3-ary tree below it) under SCRATCH; returns their names. */
function writeCatalog(families: number): string[] {
    const names: string[] = [];
    for (let i = 0; i < families; i++) {
        const name = `fam${String(i).padStart(2, "0")}`;
        const dir = path.join(SCRATCH, name);
        fs.mkdirSync(dir, { recursive: true });
        const from = i > 0 ? "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n" : "ARG BASE_REGISTRY=docker.io\nARG CUDA_VERSION\nARG CUDNN_VARIANT\nFROM ${BASE_REGISTRY}/nvidia/cuda:${CUDA_VERSION}-${CUDNN_VARIANT}-devel-ubuntu24.04\n";
        fs.writeFileSync(path.join(dir, "Dockerfile"), `${from}ARG PYTHON_VERSION\nCOPY requirements.txt /opt/mlci/\nRUN echo ${name}\n`);
        fs.writeFileSync(path.join(dir, "requirements.txt"), `numpy==2.${i}.0\n`);
        names.push(name);
    }
    return names;
}

function stackYaml(shape: Shape, names: string[]): string {
    const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8"));
    const rel = path.relative(PROJECT_ROOT, SCRATCH);
    doc.config["mlci:matrix"] = { cuda: shape.cuda, python: shape.python };
    doc.config["mlci:families"] = Object.fromEntries(
        names.map((name, i) => [name, { dockerfile: `${rel}/${name}/Dockerfile`, ...(i > 0 ? { parent: names[Math.floor((i - 1) / 3)] } : {}), smokeImports: ["pytest"] }]),
    );
    doc.config["mlci:build"] = { ...(doc.config["mlci:build"] ?? {}), rebuildEpoch: "2026-11-22" };
    return YAML.stringify(doc);
}

export async function benchRegistryCalls(rounds = 3, log: (line: string) => void = () => undefined): Promise<{ rows: Row[]; details: string[] }> {
    const { runProgram } = require("../test/harness") as typeof import("../test/harness");
    const rows: Row[] = [];
    const details: string[] = [];
    try {
        for (const shape of SHAPES) {
            fs.rmSync(SCRATCH, { recursive: true, force: true });
            const names = writeCatalog(shape.families);
            const configYaml = stackYaml(shape, names);
            log(`registry calls: ${shape.images} images, first run (empty registry) …`);
            const first = await runProgram({ stack: "dev", configYaml });
            const images = Object.keys(first.outputs.images).length;
            if (images !== shape.images) throw new Error(`expected ${shape.images} images, the program declared ${images}`);
            const repositories = new Set(Object.values(first.outputs.images as Record<string, { repository: string }>).map((i) => i.repository)).size;
            const firstCalls = first.ecr.registryCalls();
            const times: number[] = [];
            let noopCalls = 0;
            let adopted = 0;
            for (let r = 0; r < rounds; r++) {
                log(`registry calls: ${shape.images} images, no-op run ${r + 1}/${rounds} …`);
                const before = first.ecr.registryCalls();
                const t0 = performance.now();
                const again = await runProgram({ stack: "dev", configYaml, ecr: first.ecr });
                times.push((performance.now() - t0) / 1000);
                noopCalls = first.ecr.registryCalls() - before;
                adopted = images - (again.outputs.builtImages as string[]).length;
            }
            const perImageMs = (median(times) * 1000) / images;
            rows.push({
                section: rows.length === 0 ? "Registry lookups (#21)" : "",
                measurement: `${images} images in ${repositories} repositories: registry calls per run (first run / no-op run) ÷ repositories`,
                figure: `${firstCalls} / ${noopCalls} ÷ ${repositories}`,
                target: "calls ≤ repositories",
                status: firstCalls <= repositories && noopCalls <= repositories ? "met" : "MISSED",
            });
            rows.push({
                section: "",
                measurement: `${images} images: no-op program evaluation under mocks (${adopted} adopted), per image`,
                figure: `${perImageMs.toFixed(1)} ms`,
                target: "—",
                status: "info",
            });
            details.push(
                `registry lookups, ${images} images / ${repositories} repositories: ${firstCalls} calls on the first run, ${noopCalls} on the no-op run; no-op evaluation ${times.map((t) => t.toFixed(2)).join(", ")} s (median ${median(times).toFixed(2)} s, ${perImageMs.toFixed(1)} ms/image)`,
            );
        }
    } finally {
        fs.rmSync(SCRATCH, { recursive: true, force: true });
    }
    return { rows, details };
}
