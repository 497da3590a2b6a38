/**
 * Program evaluation: the real program (index.ts) under the mocks harness for a 100-image
 * matrix, against a bare program that loads the same SDK modules and registers the same
 * resources, flat, with no logic of its own. Each run is a fresh process (module loading is
 * most of the fixed cost), timed from process start to the end of the run. The registry
 * already holds every tag (the `preview` / no-op `up` case).
 *
 * Two ways to run TypeScript: the project transpiled once to JS (the program's own cost), and
 * under ts-node as `pulumi preview` runs a TS program (adds transpiling the project's files).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { median, ratio, Row, seconds } from "./report";

const PROJECT_ROOT = path.resolve(__dirname, "..");
/** Inside the git-ignored .cache/, so node_modules resolve and Dockerfile paths stay inside the project root. */
const SCRATCH = path.join(PROJECT_ROOT, ".cache", "bench-program");

/** 25 GPU families (a root and a tree below it) × 2 CUDA × 2 Python = 100 images, under `dir`. */
export function writeCatalog(dir: string): string[] {
    const names: string[] = [];
    for (let i = 0; i < 25; i++) {
        const name = `fam${String(i).padStart(2, "0")}`;
        const famDir = path.join(dir, name);
        fs.mkdirSync(path.join(famDir, "scripts"), { recursive: true });
        const parent = i === 0 ? undefined : `fam${String(Math.floor((i - 1) / 3)).padStart(2, "0")}`;
        const from = parent ? "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n" : "ARG BASE_REGISTRY=docker.io\nARG CUDA_VERSION\nARG CUDNN_VARIANT\nFROM ${BASE_REGISTRY}/nvidia/cuda:${CUDA_VERSION}-${CUDNN_VARIANT}-devel-ubuntu22.04\n";
        fs.writeFileSync(path.join(famDir, "Dockerfile"), `# syntax=docker/dockerfile:1\n${from}ARG PYTHON_VERSION\nCOPY requirements.txt /opt/mlci/\nCOPY scripts/ /opt/mlci/scripts/\nRUN sh /opt/mlci/scripts/setup.sh\n`);
        fs.writeFileSync(path.join(famDir, "requirements.txt"), `pytest\nnumpy==2.${i}.0\n`);
        fs.writeFileSync(path.join(famDir, "scripts", "setup.sh"), `#!/bin/sh\necho ${name}\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(famDir, ".dockerignore"), "**/*.pyc\n");
        names.push(name);
    }
    return names;
}

/** The dev stack's own config (so the bench follows the schema), with the generated families and matrix. */
export function stackYaml(names: string[], catalogRel: string): string {
    const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8"));
    doc.config["mlci:matrix"] = { cuda: ["12.4.1", "12.6.3"], python: ["3.10", "3.11"] };
    doc.config["mlci:families"] = Object.fromEntries(
        names.map((name, i) => [name, { dockerfile: `${catalogRel}/${name}/Dockerfile`, ...(i > 0 ? { parent: names[Math.floor((i - 1) / 3)] } : {}), smokeImports: ["pytest"] }]),
    );
    doc.config["mlci:build"] = { ...(doc.config["mlci:build"] ?? {}), rebuildEpoch: "2026-11-22" };
    return YAML.stringify(doc);
}

/** Transpiles the program, its libraries, the harness and the child script to JS under `jsRoot`, as tsc would emit them. */
export function transpileProject(jsRoot: string): void {
    const ts: typeof import("typescript") = require("typescript");
    const tsconfig = ts.readConfigFile(path.join(PROJECT_ROOT, "tsconfig.json"), ts.sys.readFile).config;
    const { options } = ts.convertCompilerOptionsFromJson(tsconfig.compilerOptions, PROJECT_ROOT);
    const sources = ["index.ts", "test/harness.ts", "test/ecrModel.ts", "test/fakeRegistry.ts", "bench/programChild.ts"];
    // Domain folders (lib/images, components/registry, …): every .ts below lib/ and components/.
    const walk = (dir: string): string[] =>
        fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : []));
    for (const dir of ["lib", "components"]) sources.push(...walk(dir));
    for (const rel of sources) {
        const out = ts.transpileModule(fs.readFileSync(path.join(PROJECT_ROOT, rel), "utf8"), { compilerOptions: options, fileName: rel }).outputText;
        fs.mkdirSync(path.dirname(path.join(jsRoot, rel)), { recursive: true });
        fs.writeFileSync(path.join(jsRoot, rel.replace(/\.ts$/, ".js")), out);
    }
}

interface Variant {
    name: string;
    /** node arguments before the child's own. */
    command: string[];
    config: string;
}

function child(v: Variant, args: string[], outPath: string): number {
    execFileSync(process.execPath, [...v.command, ...args, outPath], { cwd: PROJECT_ROOT, stdio: ["ignore", "ignore", "pipe"] });
    return JSON.parse(fs.readFileSync(outPath, "utf8")).ms / 1000;
}

/**
 * Times `rounds` real and bare runs, alternating. Without `seed`, two warm-up runs first: the
 * second finds every tag of the first in the registry, and its resources are what the bare
 * program registers. With `seed` (another variant's warm-up), one warm-up run only.
 */
async function measure(v: Variant, workDir: string, rounds: number, log: (line: string) => void, seed?: string) {
    const realOut = path.join(workDir, `${v.name}-real.json`);
    const bareOut = path.join(workDir, `${v.name}-bare.json`);
    const recordedOut = path.join(workDir, `${v.name}-recorded.json`);
    log(`program (${v.name}): warm-up …`);
    if (seed) fs.copyFileSync(seed, realOut);
    else child(v, ["real", v.config], realOut);
    child(v, ["real", v.config], realOut);
    fs.copyFileSync(realOut, recordedOut);
    const recorded = JSON.parse(fs.readFileSync(recordedOut, "utf8"));
    const real: number[] = [];
    const bare: number[] = [];
    for (let r = 0; r < rounds; r++) {
        log(`program (${v.name}): round ${r + 1}/${rounds} …`);
        real.push(child(v, ["real", v.config], realOut));
        bare.push(child(v, ["bare", recordedOut], bareOut));
    }
    return { recorded, recordedOut, real, bare, ratio: median(real) / median(bare) };
}

export async function benchProgramEvaluation(workDir: string, rounds = 3, log: (line: string) => void = () => undefined): Promise<{ rows: Row[]; details: string[] }> {
    fs.rmSync(SCRATCH, { recursive: true, force: true });
    try {
        const jsRoot = path.join(SCRATCH, "js");
        transpileProject(jsRoot);
        // index.ts resolves Dockerfiles from its own directory: one catalog inside each program root.
        const names = writeCatalog(path.join(jsRoot, "catalog"));
        writeCatalog(path.join(SCRATCH, "catalog"));
        const compiledConfig = path.join(workDir, "Pulumi.bench-js.yaml");
        const tsConfig = path.join(workDir, "Pulumi.bench-ts.yaml");
        fs.writeFileSync(compiledConfig, stackYaml(names, "catalog"));
        fs.writeFileSync(tsConfig, stackYaml(names, path.relative(PROJECT_ROOT, path.join(SCRATCH, "catalog"))));
        const compiled = await measure({ name: "compiled", command: [path.join(jsRoot, "bench/programChild.js")], config: compiledConfig }, workDir, rounds, log);
        const tsNode = await measure({ name: "ts-node", command: ["-r", "ts-node/register/transpile-only", path.join(PROJECT_ROOT, "bench/programChild.ts")], config: tsConfig }, workDir, Math.max(1, rounds - 1), log, compiled.recordedOut);
        const rec = compiled.recorded;
        const custom = rec.resources.filter((r: { custom: boolean }) => r.custom).length;
        const fmt = (xs: number[]) => `${seconds(median(xs))} (${xs.map(seconds).join(", ")})`;
        return {
            rows: [
                {
                    section: "Program evaluation",
                    measurement: `${rec.images}-image matrix under mocks ÷ bare program (same SDK modules, same ${rec.resources.length} resources flat)`,
                    figure: `${compiled.ratio.toFixed(2)}×`,
                    target: "≤ 1.5×",
                    status: compiled.ratio <= 1.5 ? "met" : "MISSED",
                },
                { section: "", measurement: "the same under ts-node (transpiles the project's TS on every run, as `pulumi preview` does)", figure: `${tsNode.ratio.toFixed(2)}×`, target: "—", status: "info" },
            ],
            details: [
                `program: ${rec.images} images, ${rec.resources.length} resources (${custom} custom), ${rec.modules.length} node_modules files loaded, registry holds every tag; compiled: real ${fmt(compiled.real)}, bare ${fmt(compiled.bare)}; ts-node: real ${fmt(tsNode.real)}, bare ${fmt(tsNode.bare)} (process start to end of run)`,
            ],
        };
    } finally {
        fs.rmSync(SCRATCH, { recursive: true, force: true });
    }
}
