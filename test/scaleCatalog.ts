/**
 * A generated catalog for plans at scale (test/buildPlanScale.test.ts and bench/buildPlan.ts):
 * GPU families in a tree of parents (4 cells each) and multi-platform CPU families, on a fleet of
 * three remote builders.
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import type { BuilderSpec } from "../lib/images/buildPlan";

const PROJECT_ROOT = path.resolve(__dirname, "..");

/** Two amd64 builders and one arm64 builder. */
export const FLEET: BuilderSpec[] = [
    { name: "fleet-amd64-a", driver: "remote", endpoint: "tcp://bk-amd64-a.ci.internal:1234", platforms: ["linux/amd64"], maxParallel: 3 },
    { name: "fleet-amd64-b", driver: "remote", endpoint: "tcp://bk-amd64-b.ci.internal:1234", platforms: ["linux/amd64"], maxParallel: 2 },
    { name: "fleet-arm64", driver: "remote", endpoint: "tcp://bk-arm64.ci.internal:1234", platforms: ["linux/arm64"], maxParallel: 2 },
];

/** Writes the generated catalog's Dockerfiles and returns the stack YAML. */
export function scaleStackYaml(gpuFamilies: number, cpuFamilies: number, dir: string, pad = 2): string {
    const families: Record<string, unknown> = {};
    const rel = path.relative(PROJECT_ROOT, dir);
    for (let i = 0; i < gpuFamilies; i++) {
        const name = `gpu${String(i).padStart(pad, "0")}`;
        fs.mkdirSync(path.join(dir, name), { recursive: true });
        const from = i > 0 ? "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n" : "ARG BASE_REGISTRY=docker.io\nARG CUDA_VERSION\nARG CUDNN_VARIANT\nFROM ${BASE_REGISTRY}/nvidia/cuda:${CUDA_VERSION}-${CUDNN_VARIANT}-devel-ubuntu24.04\n";
        fs.writeFileSync(path.join(dir, name, "Dockerfile"), `${from}ARG PYTHON_VERSION\nRUN echo ${name}\n`);
        families[name] = { dockerfile: `${rel}/${name}/Dockerfile`, ...(i > 0 ? { parent: `gpu${String(Math.floor((i - 1) / 3)).padStart(pad, "0")}` } : {}) };
    }
    for (let i = 0; i < cpuFamilies; i++) {
        const name = `cpu${String(i).padStart(pad, "0")}`;
        fs.mkdirSync(path.join(dir, name), { recursive: true });
        fs.writeFileSync(path.join(dir, name, "Dockerfile"), `ARG BASE_REGISTRY=docker.io\nARG PYTHON_VERSION\nFROM \${BASE_REGISTRY}/library/python:\${PYTHON_VERSION}-slim\nRUN echo ${name}\n`);
        families[name] = { dockerfile: `${rel}/${name}/Dockerfile`, cpuOnly: true, platforms: ["linux/amd64", "linux/arm64"] };
    }
    const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8"));
    doc.config["mlci:matrix"] = { cuda: ["13.0.2", "13.2.1"], python: ["3.12", "3.13"] };
    doc.config["mlci:families"] = families;
    doc.config["mlci:build"] = { ...(doc.config["mlci:build"] ?? {}), rebuildEpoch: "2026-11-22", builders: FLEET };
    // The catalog measures the build plan. Dev writes its GitHub names into one environment, where GitHub
    // allows 100 variables: one CI_IMAGE_* per image would refuse hundreds of images before any plan.
    doc.config["mlci:github"] = { enabled: false };
    return YAML.stringify(doc);
}

/** The most builds that start in the same time unit on each builder, from `(builder, start)` pairs. */
export function peakPerBuilderOf(starts: Iterable<{ builder: string; start: number }>): Map<string, number> {
    const running = new Map<string, number>();
    for (const { builder, start } of starts) {
        const key = `${builder}@${start}`;
        running.set(key, (running.get(key) ?? 0) + 1);
    }
    const peak = new Map<string, number>();
    for (const [key, n] of running) {
        const b = key.split("@")[0];
        peak.set(b, Math.max(peak.get(b) ?? 0, n));
    }
    return peak;
}
