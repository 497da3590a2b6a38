/**
 * Rebuild minimality: a scripted history of changes to a generated catalog. After each step,
 * the images whose content-hash tag changed (or that are new) are the builds this project
 * does; they are compared with the minimal set the step calls for, and with what a
 * whole-directory hash (PyTorch's calculate-docker-image: one tag for every image, the git
 * tree hash of `.ci/docker`, build script and all) would rebuild.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { RawConfig } from "../lib/config/config";
import { planStack, readStackConfigFile } from "../lib/stackPlan";
import { Row } from "./report";

const FILES: Record<string, string | { content: string; mode: number }> = {
    "Pulumi.yaml": "name: bench\nruntime: nodejs\n",
    "docker/base/Dockerfile": "ARG BASE_REGISTRY=docker.io\nARG CUDA_VERSION\nARG CUDNN_VARIANT\nFROM ${BASE_REGISTRY}/nvidia/cuda:${CUDA_VERSION}-${CUDNN_VARIANT}-devel-ubuntu22.04\nCOPY 10_nvidia.json /usr/share/glvnd/egl_vendor.d/\nCOPY scripts/ /opt/scripts/\n",
    "docker/base/.dockerignore": "cache\n**/*.pyc\n*.md\n!KEEP.md\n",
    "docker/base/10_nvidia.json": '{"file_format_version":"1.0.0"}\n',
    "docker/base/scripts/install.sh": { content: "#!/bin/sh\necho install\n", mode: 0o755 },
    "docker/base/KEEP.md": "kept\n",
    "docker/nightly/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY requirements.txt /tmp/\n",
    "docker/nightly/requirements.txt": "pytest\n",
    "docker/stable/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG TORCH_VERSION\nCOPY requirements.txt /tmp/\n",
    "docker/stable/requirements.txt": "pytest\n",
    "docker/habitat/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo habitat\n",
    "docker/cpu/Dockerfile": "ARG BASE_REGISTRY=docker.io\nARG PYTHON_VERSION\nFROM ${BASE_REGISTRY}/library/python:${PYTHON_VERSION}-slim\n",
};

/** The dev stack's config (so the bench follows the schema), with this catalog's families and matrix. */
function config(): RawConfig {
    return {
        ...readStackConfigFile(path.resolve(__dirname, ".."), "dev"),
        matrix: { cuda: ["12.4.1", "11.8.0"], python: ["3.10", "3.11"] },
        families: {
            base: {},
            nightly: { parent: "base", dateRebuilt: true },
            stable: { parent: "base", buildArgs: { TORCH_VERSION: "2.9.1" } },
            habitat: { parent: "nightly", matrix: { cuda: ["12.4.1"], python: ["3.10"] } },
            cpu: { cpuOnly: true },
        },
        build: { rebuildEpoch: "2026-11-22" },
    };
}

const PARENT: Record<string, string | undefined> = { base: undefined, nightly: "base", stable: "base", habitat: "nightly", cpu: undefined };

/** A family and every family built on it. */
function withDescendants(families: string[]): Set<string> {
    const out = new Set(families);
    for (let grew = true; grew; ) {
        grew = false;
        for (const [f, p] of Object.entries(PARENT)) {
            if (p !== undefined && out.has(p) && !out.has(f)) {
                out.add(f);
                grew = true;
            }
        }
    }
    return out;
}

interface Step {
    title: string;
    apply: (root: string, raw: RawConfig) => void;
    /** Images the step must (re)build, from the step's own description of what changed. */
    minimal: (images: string[], previous: Set<string>) => string[];
}

const ofFamilies = (families: string[]) => (images: string[]) => {
    const hit = withDescendants(families);
    return images.filter((n) => hit.has(n.split("-")[0]));
};
const none = () => [];

const STEPS: Step[] = [
    { title: "no-op (preview / weekly up, nothing changed)", apply: () => undefined, minimal: none },
    { title: "edit a leaf Dockerfile (habitat)", apply: (r) => fs.appendFileSync(path.join(r, "docker/habitat/Dockerfile"), "RUN echo more\n"), minimal: ofFamilies(["habitat"]) },
    { title: "edit the base Dockerfile", apply: (r) => fs.appendFileSync(path.join(r, "docker/base/Dockerfile"), "ENV LANG=C.UTF-8\n"), minimal: ofFamilies(["base"]) },
    {
        title: "add ignored files (cache/, *.md, *.pyc)",
        apply: (r) => {
            fs.mkdirSync(path.join(r, "docker/base/cache"), { recursive: true });
            fs.writeFileSync(path.join(r, "docker/base/cache/layer.bin"), "x".repeat(4096));
            fs.writeFileSync(path.join(r, "docker/base/NOTES.md"), "notes\n");
            fs.writeFileSync(path.join(r, "docker/base/scripts/helper.pyc"), "\0");
        },
        minimal: none,
    },
    { title: "flip an executable bit (base/scripts/install.sh)", apply: (r) => fs.chmodSync(path.join(r, "docker/base/scripts/install.sh"), 0o644), minimal: ofFamilies(["base"]) },
    { title: "bump a build arg (stable TORCH_VERSION)", apply: (_r, raw) => ((raw.families as any).stable.buildArgs.TORCH_VERSION = "2.10.0"), minimal: ofFamilies(["stable"]) },
    { title: "add a matrix cell (Python 3.12)", apply: (_r, raw) => (raw.matrix as any).python.push("3.12"), minimal: (images, previous) => images.filter((n) => !previous.has(n)) },
    { title: "no-op again", apply: () => undefined, minimal: none },
];

/** PyTorch's approach: one hash over the whole docker directory (bytes, modes, paths, ignored or not) and its build settings. */
function directoryHash(root: string, raw: RawConfig): string {
    const h = createHash("sha256").update(JSON.stringify(raw));
    const walk = (rel: string) => {
        for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
            const r = `${rel}/${name}`;
            const st = fs.lstatSync(path.join(root, r));
            if (st.isDirectory()) walk(r);
            else h.update(`${r}\0${st.mode & 0o111 ? "x" : "-"}\0`).update(fs.readFileSync(path.join(root, r)));
        }
    };
    walk("docker");
    return h.digest("hex");
}

function writeTree(root: string): void {
    for (const [rel, spec] of Object.entries(FILES)) {
        const abs = path.join(root, rel);
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        fs.writeFileSync(abs, typeof spec === "string" ? spec : spec.content);
        fs.chmodSync(abs, typeof spec === "string" ? 0o644 : spec.mode);
    }
}

export async function benchRebuildMinimality(workDir: string): Promise<{ rows: Row[]; details: string[] }> {
    const root = path.join(workDir, "catalog");
    writeTree(root);
    const raw = config();
    // The project's own per-file hash cache (under <root>/.cache, outside docker/), as a real run uses it.
    const plan = async () => Object.fromEntries((await planStack(raw, { projectRoot: root, env: {} })).images.map((i) => [i.name, i.tag]));
    let tags = await plan();
    let dirHash = directoryHash(root, raw);
    const initial = Object.keys(tags).length;
    const rows: Row[] = [];
    const details: string[] = [`catalog: base → {nightly → habitat, stable}, cpu; ${initial} images at the start; the first build of all of them is not counted`];
    let totalProject = 0;
    let totalMinimal = 0;
    let totalDirectory = 0;
    let exact = true;
    for (const step of STEPS) {
        step.apply(root, raw);
        const after = await plan();
        const retagged = Object.keys(after).filter((n) => after[n] !== tags[n]).sort();
        const minimal = step.minimal(Object.keys(after), new Set(Object.keys(tags))).sort();
        const dirAfter = directoryHash(root, raw);
        const directoryBuilds = dirAfter !== dirHash ? Object.keys(after).length : 0;
        const same = retagged.length === minimal.length && retagged.every((n, i) => n === minimal[i]);
        exact &&= same;
        totalProject += retagged.length;
        totalMinimal += minimal.length;
        totalDirectory += directoryBuilds;
        rows.push({
            section: rows.length === 0 ? "Rebuild minimality" : "",
            measurement: `${step.title}: project / minimal / dir-hash builds`,
            figure: `${retagged.length} / ${minimal.length} / ${directoryBuilds}`,
            target: "project = minimal",
            status: same ? "met" : "MISSED",
        });
        if (!same) details.push(`${step.title}: project re-tagged [${retagged.join(", ")}], minimal [${minimal.join(", ")}]`);
        tags = after;
        dirHash = dirAfter;
    }
    rows.push({
        section: "",
        measurement: `whole history: project ÷ minimal builds (${totalProject} / ${totalMinimal})`,
        figure: `${(totalProject / totalMinimal).toFixed(2)}×`,
        target: "1.00×, 0 on no-op",
        status: exact ? "met" : "MISSED",
    });
    rows.push({ section: "", measurement: `whole history: directory hash ÷ minimal builds (${totalDirectory} / ${totalMinimal})`, figure: `${(totalDirectory / totalMinimal).toFixed(2)}×`, target: "—", status: "info" });
    return { rows, details };
}
