import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import { Arg, DockerfileParser } from "dockerfile-ast";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkCopySources, dockerignoreFile, dockerignoreMatcher, listContextFiles, parseDockerignore } from "../lib/images/dockerContext";
import { lintDockerfile } from "../lib/images/dockerfileRules";
import { parseStackConfig } from "../lib/config/config";
import { expandImageGraph, passedBuildArgNames } from "../lib/images/graph";
import { readStackConfigFile } from "../lib/stackPlan";

const root = path.resolve(__dirname, "..");
const dockerDir = path.join(root, "docker");

/** Build args the program passes per family, derived from the prod and dev stacks' real image graphs. */
const PASSED_ARGS: Record<string, { args: string[]; isChild: boolean }> = {};
/** Each family's build args per image of every stack (COPY sources are expanded with them). */
const IMAGE_ARGS: Record<string, Array<{ image: string; args: Record<string, string> }>> = {};
for (const stack of ["prod", "dev", "local"]) {
    const config = parseStackConfig(readStackConfigFile(root, stack), { projectRoot: root, env: {} });
    for (const node of expandImageGraph(config)) {
        (IMAGE_ARGS[node.family] ??= []).push({ image: `${stack}/${node.name}`, args: node.buildArgs });
        const entry = (PASSED_ARGS[node.family] ??= { args: [], isChild: node.parent !== undefined });
        entry.args = [...new Set([...entry.args, ...passedBuildArgNames(node)])].sort();
    }
}

const families = fs
    .readdirSync(dockerDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dockerDir, e.name, "Dockerfile")))
    .map((e) => e.name)
    .sort();

const lint = (text: string, isChild = false, passedArgs: string[] = []) => lintDockerfile(text, { file: "docker/x/Dockerfile", passedArgs, isChild });

/** Declared ARGs of a Dockerfile: name -> whether any declaration gives a default. */
function declaredArgs(text: string): Map<string, boolean> {
    const out = new Map<string, boolean>();
    for (const ins of DockerfileParser.parse(text).getInstructions()) {
        if (ins.getKeyword() !== "ARG") continue;
        const property = (ins as Arg).getProperty();
        if (!property) continue;
        out.set(property.getName(), (out.get(property.getName()) ?? false) || property.getValue() !== null);
    }
    return out;
}

describe("docker/<family>/Dockerfile", () => {
    it("every family of the contract has a build context", () => {
        assert.deepStrictEqual(families, Object.keys(PASSED_ARGS).sort());
    });

    for (const family of Object.keys(PASSED_ARGS)) {
        describe(family, () => {
            const file = `docker/${family}/Dockerfile`;
            const text = () => fs.readFileSync(path.join(root, file), "utf8");

            it("lints clean with the build args the program passes", () => {
                const { args, isChild } = PASSED_ARGS[family];
                assert.deepStrictEqual(lintDockerfile(text(), { file, passedArgs: args, isChild }), []);
            });

            it("passes every ARG that has no default (the lint above flags one the program does not pass)", () => {
                const required = [...declaredArgs(text())].filter(([, hasDefault]) => !hasDefault).map(([name]) => name);
                for (const name of required) assert.ok(PASSED_ARGS[family].args.includes(name), `${file}: ARG ${name} has no default and no stack passes it`);
            });

            it("the .dockerignore sends every COPY source and keeps caches, .git and READMEs out", () => {
                const contextDir = path.join(dockerDir, family);
                const ignorePath = dockerignoreFile(contextDir, path.join(contextDir, "Dockerfile"));
                assert.ok(ignorePath, `${family} has no .dockerignore`);
                const sent = listContextFiles(contextDir, path.join(contextDir, "Dockerfile")).map((f) => f.path);
                for (const { image, args } of IMAGE_ARGS[family]) assert.deepStrictEqual(checkCopySources(text(), sent, args), [], image);
                const excluded = dockerignoreMatcher(parseDockerignore(fs.readFileSync(ignorePath, "utf8")));
                for (const junk of ["README.md", "__pycache__/x.cpython-311.pyc", "sub/mod.pyc", ".git/HEAD", ".pytest_cache/v/x", ".uv-cache/x"]) {
                    assert.ok(excluded(junk), `${family}/.dockerignore lets ${junk} into the context`);
                }
            });
        });
    }

    it("test dependencies cover the TorchRL proposal's essentials in every torch family", () => {
        for (const family of ["nightly", "stable", "cpu"]) {
            const reqs = fs
                .readFileSync(path.join(dockerDir, family, "requirements.txt"), "utf8")
                .split("\n")
                .map((l) => l.replace(/#.*/, "").trim())
                .filter((l) => l !== "")
                .map((l) => l.split(/[<>=!;\[ ]/)[0].toLowerCase());
            for (const pkg of ["pytest", "pytest-xdist", "gymnasium", "mujoco", "dm_control", "hydra-core"]) {
                assert.ok(reqs.includes(pkg), `docker/${family}/requirements.txt lacks ${pkg}`);
            }
            assert.ok(!reqs.includes("torch") && !reqs.includes("tensordict"), `docker/${family}/requirements.txt must not list torch/tensordict (installed by the Dockerfile)`);
        }
    });
});

describe("lintDockerfile rules", () => {
    const clean = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo ok\n";

    it("accepts a minimal child", () => {
        assert.deepStrictEqual(lint(clean, true, ["BASE_IMAGE"]), []);
    });

    it("a child must build FROM ${BASE_IMAGE}", () => {
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nRUN echo\n", true), [
            'docker/x/Dockerfile:1: first FROM is "ubuntu:22.04" but a child image must build FROM ${BASE_IMAGE} (the parent\'s digest-pinned ref); declare "ARG BASE_IMAGE" before it and write "FROM ${BASE_IMAGE}"',
        ]);
        assert.deepStrictEqual(lint("ARG BASE_IMAGE\nFROM $BASE_IMAGE AS build\n", true, ["BASE_IMAGE"]), []);
    });

    it("a child's BASE_IMAGE has no default", () => {
        assert.deepStrictEqual(lint("ARG BASE_IMAGE=ml-ci/base:cuda12.4-py3.11-0123456789ab\nFROM ${BASE_IMAGE}\n", true), [
            'docker/x/Dockerfile:1: ARG BASE_IMAGE has the default "ml-ci/base:cuda12.4-py3.11-0123456789ab"; declare it without a default ("ARG BASE_IMAGE") so a build without the parent\'s digest ref fails',
        ]);
    });

    it("FROM without a tag, with latest, or with a -latest alias is rejected after ARG substitution", () => {
        assert.deepStrictEqual(lint("FROM ubuntu\n"), [
            'docker/x/Dockerfile:1: FROM "ubuntu" (resolves to "ubuntu") has no tag, which means :latest; pin a version tag or a digest',
        ]);
        assert.deepStrictEqual(lint("ARG REG=docker.io\nARG V=latest\nFROM ${REG}/library/python:${V}\n"), [
            'docker/x/Dockerfile:3: FROM "${REG}/library/python:${V}" uses the moving tag "latest"; pin a version tag or a digest (children get the parent\'s digest ref via BASE_IMAGE)',
        ]);
        assert.deepStrictEqual(lint("FROM localhost:5000/ml-ci/base:cuda12.4-py3.11-latest\n"), [
            'docker/x/Dockerfile:1: FROM "localhost:5000/ml-ci/base:cuda12.4-py3.11-latest" uses the moving tag "cuda12.4-py3.11-latest"; pin a version tag or a digest (children get the parent\'s digest ref via BASE_IMAGE)',
        ]);
        assert.deepStrictEqual(lint("ARG IMG=ubuntu\nFROM ${IMG}\n"), [
            'docker/x/Dockerfile:2: FROM "${IMG}" (resolves to "ubuntu") has no tag, which means :latest; pin a version tag or a digest',
        ]);
    });

    it("FROM with a digest, a stage name, scratch or a tag from a passed arg is accepted", () => {
        assert.deepStrictEqual(lint("FROM ubuntu@sha256:" + "a".repeat(64) + " AS build\nFROM build\nFROM scratch\n"), []);
        assert.deepStrictEqual(lint("ARG REG=docker.io\nARG CUDA_VERSION\nFROM ${REG}/nvidia/cuda:${CUDA_VERSION}-devel-ubuntu22.04\n", false, ["CUDA_VERSION"]), []);
        assert.deepStrictEqual(lint("ARG V\nFROM python:${V:-3.11}-slim\n"), []);
    });

    it("apt-get install needs apt-get update and the list cleanup in the same RUN", () => {
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends git \\\n    && rm -rf /var/lib/apt/lists/*\n"), [
            'docker/x/Dockerfile:3: apt-get install without apt-get update in the same RUN (a cached update layer serves stale package lists); run "apt-get update && apt-get install ..." in one RUN',
        ]);
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y git && apt-get clean\n"), [
            'docker/x/Dockerfile:2: apt-get install leaves /var/lib/apt/lists in the layer; end the same RUN with "&& rm -rf /var/lib/apt/lists/*"',
        ]);
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nRUN apt-get update \\\n    # tools\n    && apt-get install -y git \\\n    && rm -rf /var/lib/apt/lists/*\n"), []);
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nRUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y git\n"), []);
        // --no-install-recommends alone is not an install
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nRUN echo --no-install-recommends\n"), []);
    });

    it("pip install/wheel must not keep a cache", () => {
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nRUN pip install --no-cache-dir uv && python -m pip install numpy\n"), [
            'docker/x/Dockerfile:2: "pip install" keeps its download cache in the layer; add --no-cache-dir (or set ENV PIP_NO_CACHE_DIR=1)',
        ]);
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nRUN pip wheel -w /w .\n"), [
            'docker/x/Dockerfile:2: "pip wheel" keeps its download cache in the layer; add --no-cache-dir (or set ENV PIP_NO_CACHE_DIR=1)',
        ]);
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nENV PIP_NO_CACHE_DIR=1\nRUN pip install numpy\n"), []);
        assert.deepStrictEqual(lint("FROM python:3.11-slim AS a\nENV PIP_NO_CACHE_DIR=1\nFROM a\nRUN pip install numpy\n"), []);
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nENV PIP_NO_CACHE_DIR=0\nRUN pip install numpy\n").length, 1);
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nRUN PIP_NO_CACHE_DIR=1 pip install numpy\n"), []);
    });

    it("uv pip install / uv sync must not keep the uv cache", () => {
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nRUN uv pip install numpy\n"), [
            'docker/x/Dockerfile:2: "uv pip install" keeps the uv cache in the layer; add --no-cache (or set UV_NO_CACHE=1, or "rm -rf /root/.cache/uv" in the same RUN)',
        ]);
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nRUN uv sync --frozen\n"), [
            'docker/x/Dockerfile:2: "uv sync" keeps the uv cache in the layer; add --no-cache (or set UV_NO_CACHE=1, or "rm -rf /root/.cache/uv" in the same RUN)',
        ]);
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nRUN uv pip install --no-cache numpy\n"), []);
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nENV UV_NO_CACHE=1\nRUN uv pip install numpy\n"), []);
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nRUN uv pip install numpy && rm -rf /root/.cache/uv\n"), []);
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache/uv uv sync\n"), []);
        // uv pip install is not mistaken for a pip install
        assert.deepStrictEqual(lint("FROM python:3.11-slim\nRUN uv pip install --no-cache numpy\n"), []);
    });

    it("every passed build arg is declared where it is used", () => {
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nRUN echo hi\n", false, ["TORCH_VERSION"]), [
            'docker/x/Dockerfile:1: build arg TORCH_VERSION is passed by the program but no ARG declares it; add "ARG TORCH_VERSION" where it is used (or drop it from the family\'s buildArgs)',
        ]);
        assert.deepStrictEqual(lint("FROM nvidia/cuda:${CUDA_VERSION}-devel\nARG CUDA_VERSION\n", false, ["CUDA_VERSION"]), [
            'docker/x/Dockerfile:1: FROM uses ${CUDA_VERSION} but ARG CUDA_VERSION is not declared before the first FROM; add "ARG CUDA_VERSION" at the top of the file',
        ]);
        assert.deepStrictEqual(lint("ARG CUDA_VERSION\nFROM ubuntu:22.04\nRUN echo cu${CUDA_VERSION}\n", false, ["CUDA_VERSION"]), [
            'docker/x/Dockerfile:3: RUN uses ${CUDA_VERSION} but this stage does not declare "ARG CUDA_VERSION" before it (ARGs before FROM are not visible inside a stage); add "ARG CUDA_VERSION" after the stage\'s FROM',
        ]);
        assert.deepStrictEqual(lint("ARG CUDA_VERSION\nFROM ubuntu:22.04 AS a\nARG CUDA_VERSION\nRUN echo $CUDA_VERSION\nFROM a\nLABEL cuda=${CUDA_VERSION}\n", false, ["CUDA_VERSION"]), [
            'docker/x/Dockerfile:6: LABEL uses ${CUDA_VERSION} but this stage does not declare "ARG CUDA_VERSION" before it (ARGs before FROM are not visible inside a stage); add "ARG CUDA_VERSION" after the stage\'s FROM',
        ]);
        assert.deepStrictEqual(lint("ARG CUDA_VERSION\nFROM nvidia/cuda:${CUDA_VERSION}-devel\nARG CUDA_VERSION\nRUN echo ${CUDA_VERSION}\n", false, ["CUDA_VERSION"]), []);
        // quoted defaults with spaces are one declaration, not two
        assert.deepStrictEqual(lint('FROM ubuntu:22.04\nARG PYS="3.9 3.10" TORCH_VERSION\nRUN echo ${PYS} ${TORCH_VERSION}\n', false, ["PYS", "TORCH_VERSION"]), []);
    });

    it("ADD of a remote URL is rejected", () => {
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nADD https://example.com/uv.tar.gz /tmp/\n"), [
            'docker/x/Dockerfile:2: ADD of the remote URL "https://example.com/uv.tar.gz" downloads unverified content at build time and is not part of the content hash; download it in a RUN with a pinned version and checksum check, or COPY it from the context',
        ]);
        assert.strictEqual(lint("FROM ubuntu:22.04\nADD git@github.com:pytorch/tensordict.git /src\n").length, 1);
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nADD vendor.tar.gz /opt/\n"), []);
    });

    it("COPY/ADD sources outside the build context are checkCopySources' job (one rule), not the linter's", () => {
        const text = "FROM ubuntu:22.04\nCOPY ../shared/req.txt /y\nCOPY ./a/../../b /z\n";
        assert.deepStrictEqual(lint(text), []);
        assert.deepStrictEqual(checkCopySources(text, []).map((v) => [v.line, v.source, v.reason]), [
            [2, "../shared/req.txt", "outside-context"],
            [3, "./a/../../b", "outside-context"],
        ]);
        assert.deepStrictEqual(lint('FROM ubuntu:22.04 AS b\nFROM ubuntu:22.04\nCOPY --from=b /wheels /wheels\nCOPY --chmod=644 ["req.txt", "/opt/"]\n'), []);
    });

    it("an ARG without a default must be passed by the program", () => {
        assert.deepStrictEqual(lint("ARG TORCH_VERSION\nFROM ubuntu:22.04\nARG TORCH_VERSION\nRUN echo ${TORCH_VERSION}\n", false, []), [
            "docker/x/Dockerfile:1: ARG TORCH_VERSION has no default and the program does not pass it, so the build sees it empty; set it in the family's buildArgs, or give it a default",
            "docker/x/Dockerfile:3: ARG TORCH_VERSION has no default and the program does not pass it, so the build sees it empty; set it in the family's buildArgs, or give it a default",
        ]);
        assert.deepStrictEqual(lint("FROM ubuntu:22.04\nARG TORCH_VERSION\nARG TARGETARCH\nRUN echo ${TORCH_VERSION} ${TARGETARCH}\n", false, ["TORCH_VERSION"]), []);
    });
});

// --- docker/test_image.sh with a fake docker ------------------------------------------------

const FAKE_DOCKER = `#!/usr/bin/env bash
# Fake docker: answers image inspect / pull / manifest inspect from env vars and runs
# "docker run IMAGE CMD..." locally (python resolves to the host interpreter, PYTHONPATH to stub modules).
set -euo pipefail
printf '%s\\n' "$*" >> "$FAKE_DOCKER_LOG"
case "$1" in
    image)
        if [[ "$2" == rm ]]; then
            [[ -e "$FAKE_DOCKER_STATE/pulled" ]] || { echo "Error: No such image: $3" >&2; exit 1; }
            rm -f "$FAKE_DOCKER_STATE/pulled"; exit 0
        fi
        if [[ "\${FAKE_DOCKER_NEEDS_PULL:-0}" == 1 && ! -e "$FAKE_DOCKER_STATE/pulled" ]]; then
            echo "Error: No such image: \${@: -1}" >&2; exit 1
        fi
        if [[ "$*" == *Architecture* ]]; then echo linux/amd64
        elif [[ "$*" == *.Id* ]]; then echo "sha256:$(printf 'f%.0s' {1..64})"
        elif [[ "$*" == *RepoDigests* ]]; then echo "fake/repo@sha256:$(printf 'b%.0s' {1..64})"
        else echo "$FAKE_DOCKER_SIZE"; fi ;;
    pull)
        [[ "\${FAKE_DOCKER_PULL_FAILS:-0}" == 1 ]] && { echo "pull access denied" >&2; exit 1; }
        touch "$FAKE_DOCKER_STATE/pulled" ;;
    manifest)
        [[ -n "\${FAKE_DOCKER_MANIFEST_FAILS:-}" ]] && { echo "$FAKE_DOCKER_MANIFEST_FAILS" >&2; exit 1; }
        echo "$FAKE_DOCKER_MANIFEST" ;;
    run)
        shift
        while [[ $# -gt 0 ]]; do
            case "$1" in --rm) shift ;; --gpus|--name|--platform) shift 2 ;; *) break ;; esac
        done
        shift # image
        [[ -n "\${FAKE_DOCKER_RUN_SLEEP:-}" ]] && sleep "$FAKE_DOCKER_RUN_SLEEP"
        echo "==========\\n== CUDA ==\\n==========" # entrypoint banner noise
        PYTHONPATH="$FAKE_DOCKER_SITE" exec "$@" ;;
    rm) ;;
    *) echo "fake docker: unexpected $*" >&2; exit 99 ;;
esac
`;

/** Fake uv: `uv pip check` answers from FAKE_UV_CHECK (problem lines, exit 1) or reports a clean environment. */
const FAKE_UV = `#!/usr/bin/env bash
[[ "$1 $2" == "pip check" ]] || { echo "fake uv: unexpected $*" >&2; exit 99; }
if [[ -n "\${FAKE_UV_CHECK:-}" ]]; then printf '%b\\n' "$FAKE_UV_CHECK"; echo "Found 1 incompatibility"; exit 1; fi
echo "Checked 84 packages in 2ms"
echo "All installed packages are compatible"
`;

/** `docker manifest inspect -v` output: one object for a manifest, an array for an index. */
function verboseManifest(platforms: { os: string; architecture: string; config: number; layers: number[] }[], index = false): string {
    const entries = platforms.map((p) => ({
        Ref: "r",
        Descriptor: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"c".repeat(64)}`, size: 900, platform: { architecture: p.architecture, os: p.os } },
        OCIManifest: { schemaVersion: 2, config: { size: p.config, digest: `sha256:${"d".repeat(64)}` }, layers: p.layers.map((size) => ({ size, digest: `sha256:${"e".repeat(64)}` })) },
    }));
    return JSON.stringify(index ? entries : entries[0]);
}

const TORCH_STUB = `import os
__version__ = os.environ["FAKE_TORCH_VERSION"]
class version:
    cuda = os.environ.get("FAKE_TORCH_CUDA") or None
class cuda:
    @staticmethod
    def is_available():
        return os.environ.get("FAKE_CUDA_AVAILABLE") == "1"
    @staticmethod
    def get_device_name(i):
        return "Fake A10G"
class _Tensor:
    def __init__(self, values):
        self.values = values
    def __mul__(self, k):
        return _Tensor([v * k for v in self.values])
    def sum(self):
        return _Tensor([sum(self.values)])
    def item(self):
        if os.environ.get("FAKE_CUDA_OP_BROKEN") == "1":
            raise RuntimeError("CUDA error: no kernel image is available for execution on the device")
        return self.values[0]
def ones(n, device=None):
    return _Tensor([1.0] * n)
`;

describe("docker/test_image.sh (fake docker on PATH)", function () {
    this.timeout(30000);
    const script = path.join(dockerDir, "test_image.sh");
    const hostPython = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
    const hostPy = execFileSync(hostPython, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).trim();
    let tmp: string;

    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "test-image-"));
        const bin = path.join(tmp, "bin");
        const site = path.join(tmp, "site");
        fs.mkdirSync(bin);
        fs.mkdirSync(site);
        fs.mkdirSync(path.join(tmp, "state"));
        fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "uv"), FAKE_UV, { mode: 0o755 });
        fs.symlinkSync(hostPython, path.join(bin, "python"));
        fs.mkdirSync(path.join(site, "torch"));
        fs.writeFileSync(path.join(site, "torch", "__init__.py"), TORCH_STUB);
        for (const m of ["torchvision", "tensordict", "gymnasium", "dm_control", "pytest", "xdist", "hydra", "habitat_sim", "habitat"]) {
            fs.mkdirSync(path.join(site, m));
            fs.writeFileSync(path.join(site, m, "__init__.py"), "");
        }
        fs.mkdirSync(path.join(site, "mujoco"));
        fs.writeFileSync(path.join(site, "mujoco", "__init__.py"), 'import os\nif os.environ.get("FAKE_MUJOCO_BROKEN") == "1":\n    raise ImportError("libGL.so.1: cannot open shared object file")\n');
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    function run(args: string[], env: Record<string, string> = {}) {
        const res = spawnSync("bash", [script, ...args], {
            encoding: "utf8",
            env: {
                PATH: `${path.join(tmp, "bin")}:${process.env.PATH}`,
                HOME: tmp,
                FAKE_DOCKER_LOG: path.join(tmp, "docker.log"),
                FAKE_DOCKER_STATE: path.join(tmp, "state"),
                FAKE_DOCKER_SITE: path.join(tmp, "site"),
                FAKE_DOCKER_SIZE: "8500000000",
                FAKE_DOCKER_MANIFEST: verboseManifest([{ os: "linux", architecture: "amd64", config: 12_000, layers: [2_000_000_000, 1_199_988_000] }]),
                FAKE_TORCH_VERSION: "2.7.0.dev20250105+cu124",
                FAKE_TORCH_CUDA: "12.4",
                ...env,
            },
        });
        const log = fs.existsSync(path.join(tmp, "docker.log")) ? fs.readFileSync(path.join(tmp, "docker.log"), "utf8") : "";
        const lines = res.stdout.split("\n");
        return { status: res.status, stdout: res.stdout, stderr: res.stderr, lines, log };
    }
    const nightly = () => `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly:cuda12.4-py${hostPy}-0123456789ab@sha256:${"b".repeat(64)}`;

    it("a good nightly image passes every check and exits 0", () => {
        const r = run([nightly()]);
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
        assert.ok(r.lines.includes(`image: ${nightly()} (family nightly, python ${hostPy}, cuda 12.4)`), r.stdout);
        for (const line of [
            "PASS size linux/amd64: compressed 3.20 GB <= budget 10 GB (uncompressed 8.50 GB)",
            `PASS python: ${hostPy} (expected ${hostPy})`,
            "PASS torch: 2.7.0.dev20250105+cu124 is a nightly (dev) build",
            "PASS cuda: torch.version.cuda=12.4 (expected 12.4)",
            "PASS import tensordict",
            "PASS import mujoco",
            "PASS import xdist",
            "PASS pip check: uv pip check finds no broken requirement",
            "SUMMARY: 13 passed, 0 failed",
        ]) {
            assert.ok(r.lines.includes(line), `missing "${line}" in:\n${r.stdout}`);
        }
        assert.ok(!r.stdout.includes("FAIL"), r.stdout);
        assert.ok(!/--gpus/.test(r.log), "no --gpus without --gpu");
    });

    it("wrong Python version fails with the python line", () => {
        const r = run([`ml-ci/nightly:cuda12.4-py3.99-0123456789ab`]);
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes(`FAIL python: ${hostPy} (expected 3.99)`), r.stdout);
    });

    it("wrong CUDA build of torch fails with the cuda line", () => {
        const r = run([nightly()], { FAKE_TORCH_CUDA: "11.8" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL cuda: torch.version.cuda=11.8 (expected 12.4)"), r.stdout);
    });

    it("the budget is on the compressed size in the registry manifest (config + layers), from the flag or IMAGE_SIZE_BUDGET_GB", () => {
        const over = verboseManifest([{ os: "linux", architecture: "amd64", config: 1_000, layers: [12_000_000_000, 345_677_901] }]);
        let r = run([nightly()], { FAKE_DOCKER_MANIFEST: over, FAKE_DOCKER_SIZE: "30000000000" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL size linux/amd64: compressed 12.35 GB > budget 10 GB (uncompressed 30.00 GB)"), r.stdout);
        assert.ok(r.log.split("\n").includes(`manifest inspect -v 123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly@sha256:${"b".repeat(64)}`), r.log);
        r = run([nightly(), "--size-budget-gb", "12.5"], { FAKE_DOCKER_MANIFEST: over });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes("PASS size linux/amd64: compressed 12.35 GB <= budget 12.5 GB (uncompressed 8.50 GB)"), r.stdout);
        r = run([nightly()], { IMAGE_SIZE_BUDGET_GB: "3" });
        assert.ok(r.lines.includes("FAIL size linux/amd64: compressed 3.20 GB > budget 3 GB (uncompressed 8.50 GB)"), r.stdout);
    });

    it("an index is budgeted per platform; attestation manifests are skipped; localhost registries are read with --insecure", () => {
        const index = verboseManifest(
            [
                { os: "linux", architecture: "amd64", config: 0, layers: [4_000_000_000] },
                { os: "linux", architecture: "arm64", config: 0, layers: [11_000_000_000] },
                { os: "unknown", architecture: "unknown", config: 0, layers: [50_000_000_000] },
            ],
            true,
        );
        const image = `localhost:5000/ml-ci/cpu:py${hostPy}-0123456789ab`;
        const r = run([image, "--imports", ""], { FAKE_DOCKER_MANIFEST: index, FAKE_TORCH_VERSION: "2.9.1+cpu", FAKE_TORCH_CUDA: "" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("PASS size linux/amd64: compressed 4.00 GB <= budget 10 GB (uncompressed 8.50 GB)"), r.stdout);
        assert.ok(r.lines.includes("FAIL size linux/arm64: compressed 11.00 GB > budget 10 GB (uncompressed: not pulled here)"), r.stdout);
        assert.ok(!r.stdout.includes("unknown/unknown"), r.stdout);
        assert.ok(r.log.split("\n").includes(`manifest inspect -v --insecure ${image}`), r.log);
    });

    it("an image whose registry manifest cannot be read fails the size check with the reason", () => {
        const r = run([nightly()], { FAKE_DOCKER_MANIFEST_FAILS: "no such manifest: x" });
        assert.strictEqual(r.status, 1);
        assert.ok(
            r.lines.includes(`FAIL size: cannot read the registry manifest of 123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly@sha256:${"b".repeat(64)} (no such manifest: x); the budget is on the compressed size in the registry, push the image first`),
            r.stdout,
        );
        assert.ok(r.lines.includes("PASS import tensordict"), "the other checks still run");
    });

    it("a test dependency that fails to import fails with its error", () => {
        const r = run([nightly()], { FAKE_MUJOCO_BROKEN: "1" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL import mujoco: ImportError: libGL.so.1: cannot open shared object file"), r.stdout);
        assert.ok(r.lines.includes("PASS import gymnasium"), r.stdout);
    });

    it("--imports replaces the family's list and reports a missing module", () => {
        const r = run([nightly(), "--imports", "tensordict,not_installed_mod"]);
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("PASS import tensordict"), r.stdout);
        assert.ok(r.lines.includes("FAIL import not_installed_mod: ModuleNotFoundError: No module named 'not_installed_mod'"), r.stdout);
        assert.ok(!r.stdout.includes("import mujoco"), r.stdout);
    });

    it("nightly must carry a dev torch; stable must match TORCH_VERSION when given", () => {
        let r = run([nightly()], { FAKE_TORCH_VERSION: "2.5.1+cu124" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL torch: 2.5.1+cu124 is not a nightly (expected 'dev' in the version)"), r.stdout);
        const stable = `ml-ci/stable:cuda12.4-py${hostPy}-0123456789ab`;
        r = run([stable], { FAKE_TORCH_VERSION: "2.5.1+cu124", TORCH_VERSION: "2.4.0" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL torch: 2.5.1+cu124 (expected 2.4.0)"), r.stdout);
        r = run([stable, "--torch-version", "2.5.1"], { FAKE_TORCH_VERSION: "2.5.1+cu124" });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes("PASS torch: 2.5.1+cu124 (expected 2.5.1)"), r.stdout);
    });

    it("--gpu runs with --gpus all and requires torch.cuda.is_available()", () => {
        let r = run([nightly(), "--gpu"], { FAKE_CUDA_AVAILABLE: "0" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL gpu: torch.cuda.is_available() is False with --gpus all"), r.stdout);
        assert.ok(/^run --rm --name mlci-smoke-\S+ --gpus all /m.test(r.log), r.log);
        r = run([nightly(), "--gpu"], { FAKE_CUDA_AVAILABLE: "1" });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes("PASS gpu: torch.cuda.is_available() on Fake A10G"), r.stdout);
        assert.ok(r.lines.includes("PASS gpu op: (torch.ones(1024, device='cuda') * 2).sum() = 2048.0"), r.stdout);
        r = run([nightly(), "--gpu"], { FAKE_CUDA_AVAILABLE: "1", FAKE_CUDA_OP_BROKEN: "1" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL gpu op: (torch.ones(1024, device='cuda') * 2).sum() gave RuntimeError: CUDA error: no kernel image is available for execution on the device (expected 2048.0)"), r.stdout);
    });

    it("pulls an image that is not local, and fails cleanly when the pull fails", () => {
        let r = run([nightly()], { FAKE_DOCKER_NEEDS_PULL: "1" });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.log.split("\n").includes(`pull ${nightly()}`), r.log);
        assert.ok(r.log.split("\n").includes(`image rm 123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly@sha256:${"b".repeat(64)}`), `removed by digest after the test:\n${r.log}`);
        assert.ok(!fs.existsSync(path.join(tmp, "state", "pulled")), "what the script pulled is gone");
        fs.rmSync(path.join(tmp, "docker.log"));
        r = run([nightly()], { FAKE_DOCKER_NEEDS_PULL: "1", FAKE_DOCKER_PULL_FAILS: "1" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes(`FAIL pull: cannot pull ${nightly()}: pull access denied`), r.stdout);
        assert.ok(!/^run /m.test(r.log), "no docker run after a failed pull");
    });

    it("cpu images must carry a CPU-only torch; base images skip torch", () => {
        let r = run([`ml-ci/cpu:py${hostPy}-0123456789ab`], { FAKE_TORCH_VERSION: "2.5.1+cpu", FAKE_TORCH_CUDA: "" });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes("PASS cuda: CPU-only torch (torch.version.cuda=None)"), r.stdout);
        r = run([`ml-ci/cpu:py${hostPy}-0123456789ab`], { FAKE_TORCH_VERSION: "2.5.1+cu124", FAKE_TORCH_CUDA: "12.4" });
        assert.ok(r.lines.includes("FAIL cuda: torch.version.cuda=12.4 in a CPU image (expected a CPU-only build)"), r.stdout);
        r = run([`localhost:5000/ml-ci/base:cuda12.4-py${hostPy}-latest`]);
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(!r.stdout.includes("torch"), r.stdout);
        assert.ok(r.lines.includes("SUMMARY: 3 passed, 0 failed"), r.stdout);
    });

    it("single-repository tags (<family>-cudaX.Y-pyX.Y-...) are understood", () => {
        fs.writeFileSync(path.join(tmp, "10_nvidia.json"), "{}");
        const r = run([`ghcr.io/pytorch/torchrl-ci:habitat-cuda12.4-py${hostPy}-20250115`], { MLCI_EGL_VENDOR_FILE: path.join(tmp, "10_nvidia.json"), MLCI_EGL_LIBRARY: "libc.so.6" });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.stdout.includes(`(family habitat, python ${hostPy}, cuda 12.4)`), r.stdout);
        assert.ok(r.lines.includes("PASS import habitat_sim"), r.stdout);
    });

    it("freshness: a nightly's dev date must be within 8 days of --rebuild-epoch", () => {
        const v = "2.12.0.dev20261120+cu130";
        let r = run([nightly(), "--rebuild-epoch", "2026-11-22", "--cuda", "13.0"], { FAKE_TORCH_VERSION: v, FAKE_TORCH_CUDA: "13.0" });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes("PASS freshness: torch built 2026-11-20, 2 days before the rebuild epoch 2026-11-22 (at most 8)"), r.stdout);
        r = run([nightly(), "--rebuild-epoch", "2026-11-28"], { FAKE_TORCH_VERSION: v, FAKE_TORCH_CUDA: "12.4" });
        assert.ok(r.lines.includes("PASS freshness: torch built 2026-11-20, 8 days before the rebuild epoch 2026-11-28 (at most 8)"), r.stdout);
        r = run([nightly(), "--rebuild-epoch", "2026-11-29"], { FAKE_TORCH_VERSION: v, FAKE_TORCH_CUDA: "12.4" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL freshness: torch built 2026-11-20, 9 days before the rebuild epoch 2026-11-29 (at most 8): a stale nightly"), r.stdout);
        r = run([nightly()], { FAKE_TORCH_VERSION: v, FAKE_TORCH_CUDA: "12.4", MLCI_REBUILD_EPOCH: "2026-08-02" });
        assert.ok(r.lines.includes("FAIL freshness: torch built 2026-11-20, 110 days after the rebuild epoch 2026-08-02 (at most 8): wrong --rebuild-epoch?"), r.stdout);
        r = run([nightly()], { FAKE_TORCH_VERSION: v, FAKE_TORCH_CUDA: "12.4" });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(!r.stdout.includes("freshness"), "no epoch, no freshness check");
    });

    it("--torch-version: a nightly matches its release part, stable its public version", () => {
        const v = "2.12.0.dev20261120+cu124";
        let r = run([nightly(), "--torch-version", "2.12.0"], { FAKE_TORCH_VERSION: v });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes(`PASS torch: ${v} is a nightly (dev) build of 2.12.0`), r.stdout);
        r = run([nightly(), "--torch-version", "2.11.0"], { FAKE_TORCH_VERSION: v });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes(`FAIL torch: ${v} is a nightly of 2.12.0 (expected 2.11.0)`), r.stdout);
    });

    it("--timeout bounds every docker call; a probe that hangs fails and its container is removed", () => {
        const r = run([nightly(), "--timeout", "2"], { FAKE_DOCKER_RUN_SLEEP: "30" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL probe: docker run timed out after 2s"), r.stdout);
        assert.ok(/^rm -f mlci-smoke-\S+$/m.test(r.log), r.log);
    });

    it("usage errors exit 2", () => {
        assert.strictEqual(run([]).status, 2);
        assert.strictEqual(run([nightly(), "--size-budget-gb", "ten"]).status, 2);
        assert.strictEqual(run([nightly(), "--bogus"]).status, 2);
        assert.strictEqual(run([nightly(), "--rebuild-epoch", "2026-02-30"]).status, 2);
        assert.strictEqual(run([nightly(), "--timeout", "0"]).status, 2);
    });

    // --- #29: the cell always known, uv pip check, EGL, other platforms under QEMU ---------------

    it("a GPU family's image without cudaX.Y in its name fails the cuda check instead of skipping it (digest refs)", () => {
        const ref = `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly@sha256:${"b".repeat(64)}`;
        let r = run([ref, "--python", hostPy]);
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL cuda: torch.version.cuda=12.4, but no cudaX.Y in the image name and no --cuda X.Y (a GPU family's cell must be known; --cuda none for a CPU cell)"), r.stdout);
        r = run([ref, "--python", hostPy, "--cuda", "12.4"]);
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes("PASS cuda: torch.version.cuda=12.4 (expected 12.4)"), r.stdout);
        // A CPU cell of a family named like a GPU one (the program passes --cuda none): a CPU-only torch.
        r = run([ref, "--python", hostPy, "--cuda", "none"], { FAKE_TORCH_CUDA: "" });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes("PASS cuda: CPU-only torch (torch.version.cuda=None)"), r.stdout);
    });

    it("dm_control is imported by default below Python 3.13 only (labmaze has no cp313 wheel)", () => {
        const imports = (py: string) => run([`ml-ci/stable:cuda12.4-py${py}-0123456789ab`]).lines.filter((l) => / import /.test(` ${l}`) && /^(PASS|FAIL) import /.test(l)).map((l) => l.replace(/^(PASS|FAIL) import ([^:]+).*$/, "$2"));
        assert.ok(imports("3.12").includes("dm_control"));
        assert.ok(!imports("3.13").includes("dm_control"));
        assert.ok(imports("3.13").includes("mujoco"));
    });

    it("uv pip check: a broken requirement fails; habitat's deliberate habitat-sim/habitat-lab pins do not", () => {
        let r = run([nightly()], { FAKE_UV_CHECK: "The package `torchvision` requires `torch==2.7.0`, but `2.6.0` is installed" });
        assert.strictEqual(r.status, 1);
        assert.ok(r.lines.includes("FAIL pip check: uv pip check (exit 1): The package `torchvision` requires `torch==2.7.0`, but `2.6.0` is installed"), r.stdout);
        fs.writeFileSync(path.join(tmp, "10_nvidia.json"), "{}");
        const habitat = `ghcr.io/pytorch/torchrl-ci:habitat-cuda12.4-py${hostPy}-20250115`;
        const egl = { MLCI_EGL_VENDOR_FILE: path.join(tmp, "10_nvidia.json"), MLCI_EGL_LIBRARY: "libc.so.6" };
        r = run([habitat], { ...egl, FAKE_UV_CHECK: "The package `habitat-sim` requires `pillow==10.4.0`, but `13.0.0` is installed\\nThe package `habitat-lab` requires `numpy==1.26.4`, but `2.3.5` is installed" });
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes("PASS pip check: uv pip check finds no broken requirement besides 2 deliberate override(s) (habitat-sim's pillow, habitat-lab's numpy pin)"), r.stdout);
        assert.ok(r.lines.includes("PASS egl: libEGL.so.1 loads and the NVIDIA vendor file is present (display initialization needs --gpu)"), r.stdout);
        r = run([habitat], { ...egl, MLCI_EGL_VENDOR_FILE: path.join(tmp, "absent.json") });
        assert.ok(r.lines.includes("FAIL egl: /usr/share/glvnd/egl_vendor.d/10_nvidia.json is missing (the NVIDIA EGL vendor file of the base image)"), r.stdout);
    });

    it("uv pip check on habitat waives only the documented pillow/numpy overrides: another habitat-sim/habitat-lab requirement, or one not installed, fails", () => {
        fs.writeFileSync(path.join(tmp, "10_nvidia.json"), "{}");
        const habitat = `ghcr.io/pytorch/torchrl-ci:habitat-cuda12.4-py${hostPy}-20250115`;
        const egl = { MLCI_EGL_VENDOR_FILE: path.join(tmp, "10_nvidia.json"), MLCI_EGL_LIBRARY: "libc.so.6" };
        for (const line of [
            "The package `habitat-lab` requires `gym<0.23.1`, but `0.26.2` is installed",
            "The package `habitat-sim` requires `numpy<2.4,>=2.0`, but `2.4.1` is installed",
            "The package `habitat-lab` requires `numpy==1.26.4`, but it's not installed",
            "The package `habitat-lab` requires `hydra-core>=1.2.0`, but it's not installed",
        ]) {
            const r = run([habitat], { ...egl, FAKE_UV_CHECK: `The package \`habitat-sim\` requires \`pillow==10.4.0\`, but \`13.0.0\` is installed\\n${line}` });
            assert.strictEqual(r.status, 1, `${line}\n${r.stdout}`);
            assert.ok(r.lines.includes(`FAIL pip check: uv pip check (exit 1): ${line}`), r.stdout);
        }
    });

    it("the arm64 half of an index runs under QEMU when a binfmt handler is registered, and is skipped with a line otherwise", () => {
        const index = verboseManifest(
            [
                { os: "linux", architecture: "amd64", config: 0, layers: [1_000_000_000] },
                { os: "linux", architecture: "arm64", config: 0, layers: [1_000_000_000] },
            ],
            true,
        );
        const image = `localhost:5000/ml-ci/cpu:py${hostPy}-0123456789ab`;
        const env = { FAKE_DOCKER_MANIFEST: index, FAKE_TORCH_VERSION: "2.15.0+cpu", FAKE_TORCH_CUDA: "", MLCI_BINFMT_DIR: path.join(tmp, "binfmt") };
        let r = run([image], env);
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.lines.includes(`SKIP linux/arm64 probe: no QEMU binfmt handler for aarch64 on this host (${path.join(tmp, "binfmt", "qemu-aarch64")}); register one (docker/setup-qemu-action, or docker run --privileged tonistiigi/binfmt --install arm64) to run it`), r.stdout);
        assert.ok(r.lines.some((l) => /^SUMMARY: \d+ passed, 0 failed, 1 skipped$/.test(l)), r.stdout);
        assert.ok(!/--platform/.test(r.log), "nothing run for arm64 without QEMU");
        fs.mkdirSync(path.join(tmp, "binfmt"));
        fs.writeFileSync(path.join(tmp, "binfmt", "qemu-aarch64"), "enabled\ninterpreter /usr/bin/qemu-aarch64\n");
        fs.rmSync(path.join(tmp, "docker.log"));
        r = run([image], env);
        assert.strictEqual(r.status, 0, r.stdout);
        assert.ok(r.log.split("\n").includes(`pull --platform linux/arm64 ${image}`), r.log);
        assert.ok(r.log.split("\n").some((l) => l.startsWith(`run --rm --platform linux/arm64 ${image} python -c`)), r.log);
        assert.ok(r.lines.includes(`PASS linux/arm64 probe (QEMU): python ${hostPy}, torch 2.15.0+cpu, imports torchvision,tensordict,gymnasium,mujoco,pytest,xdist,hydra${Number(hostPy.split(".")[1]) < 13 ? ",dm_control" : ""} load`), r.stdout);
    });
});
