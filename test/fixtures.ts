/** Throwaway project trees for tests of config, hashing and the CLI. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RawConfig } from "../lib/config/config";

/** Files of a small catalog: base → nightly → habitat, plus a cpu root. Mode 0o755 where given. */
export function catalogFiles(): Record<string, string | { content: string; mode: number }> {
    return {
        "Pulumi.yaml": "name: fixture\nruntime: nodejs\n",
        "docker/base/Dockerfile": 'ARG BASE_REGISTRY=docker.io\nARG CUDA_VERSION\nARG CUDNN_VARIANT\nFROM ${BASE_REGISTRY}/nvidia/cuda:${CUDA_VERSION}-${CUDNN_VARIANT}-devel-ubuntu22.04\nCOPY 10_nvidia.json /usr/share/glvnd/egl_vendor.d/\nCOPY scripts/ /opt/scripts/\nARG PYTHON_VERSION\n',
        "docker/base/.dockerignore": "cache\n**/*.pyc\n*.md\n!KEEP.md\n",
        "docker/base/10_nvidia.json": '{"file_format_version":"1.0.0","ICD":{"library_path":"libEGL_nvidia.so.0"}}\n',
        "docker/base/scripts/install.sh": { content: "#!/bin/sh\necho install\n", mode: 0o755 },
        "docker/base/KEEP.md": "kept\n",
        "docker/base/NOTES.md": "ignored\n",
        "docker/base/cache/big.bin": "ignored cache\n",
        "docker/nightly/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY requirements.txt /tmp/\nARG CUDA_VERSION\nARG CUDNN_VARIANT\nARG PYTHON_VERSION\n",
        "docker/nightly/requirements.txt": "pytest\n",
        "docker/habitat/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG CUDA_VERSION\nARG CUDNN_VARIANT\nARG PYTHON_VERSION\nRUN echo habitat\n",
        "docker/cpu/Dockerfile": "ARG BASE_REGISTRY=docker.io\nARG PYTHON_VERSION\nFROM ${BASE_REGISTRY}/library/python:${PYTHON_VERSION}-slim\n",
    };
}

/** Raw `mlci:*` config for {@link catalogFiles}. */
export function catalogConfig(): RawConfig {
    return {
        matrix: { cuda: ["12.4.1", "11.8.0"], python: ["3.10", "3.11"] },
        families: {
            base: {},
            nightly: { parent: "base", dateRebuilt: true },
            habitat: { parent: "nightly", matrix: { cuda: ["12.4.1"], python: ["3.10"] } },
            cpu: { cpuOnly: true, platforms: ["linux/amd64", "linux/arm64"] },
        },
        registry: { prefix: "ml-ci", pullThroughCache: { credentialSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub" } },
        build: { rebuildEpoch: "2026-11-22" },
        access: { pipeline: { subjects: [{ repo: "pytorch/rl", branches: ["main"] }] } },
    };
}

/** Writes `files` (in the given order) under a fresh temp directory and returns it. */
export function writeTree(files: Record<string, string | { content: string; mode: number }>, order?: string[]): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-test-"));
    for (const rel of order ?? Object.keys(files)) {
        const spec = files[rel];
        const abs = path.join(root, rel);
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        const content = typeof spec === "string" ? spec : spec.content;
        fs.writeFileSync(abs, content);
        fs.chmodSync(abs, typeof spec === "string" ? 0o644 : spec.mode);
    }
    return root;
}

/** A deep copy, so each test mutates its own config. */
export function clone<T>(v: T): T {
    return JSON.parse(JSON.stringify(v));
}

/** A copy of the project's stack files and docker/ contexts in a temp dir (`prefix` names it), to break as a user would. */
export function projectCopy(prefix: string): string {
    const root = path.resolve(__dirname, "..");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    for (const f of fs.readdirSync(root).filter((f) => /^Pulumi(\.[^.]+)?\.yaml$/.test(f))) fs.copyFileSync(path.join(root, f), path.join(dir, f));
    fs.cpSync(path.join(root, "docker"), path.join(dir, "docker"), { recursive: true });
    return dir;
}
