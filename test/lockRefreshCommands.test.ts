import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../lib/config/config";
import { readStackConfigFile } from "../lib/stackPlan";

// The lock refresh must resolve the locked packages against the torch the image really installs:
// timm (and others) depend on torch/torchvision, and `--no-emit-package torch` alone still resolves
// torch's closure from PyPI (uv's --no-emit-package only drops lines from the output), so PyPI
// torch's triton/nvidia-* pins would land in the locks.
const ROOT = path.resolve(__dirname, "..");
const commands = (): Map<string, string> =>
    new Map(
        execFileSync("bash", [path.join(ROOT, ".github/scripts/refresh-locks.sh"), "--list"], { encoding: "utf8" })
            .trim()
            .split("\n")
            .map((l) => l.split("\t") as [string, string]),
    );
const CLOSURE = ["torch", "torchvision", "triton", "nvidia-cudnn-cu13", "nvidia-nccl-cu13", "nvidia-cuda-runtime", "nvidia-cublas"];

describe("lock refresh commands (torch's own index, the cell's torch, torch's closure left to the Dockerfile)", () => {
    for (const [lock, command] of commands()) {
        const family = lock.split("/")[1];
        if (family === "base") {
            it(`${lock}: no torch; Ubuntu 24.04's glibc 2.39 platform`, () => assert.match(command, / --python-platform x86_64-manylinux_2_39 /));
            continue;
        }
        it(`${lock}: torch's index first, PyPI as the extra index with unsafe-best-match, the family's torch pin, the closure not emitted`, () => {
            const index = { nightly: "https://download.pytorch.org/whl/nightly/cu132", habitat: "https://download.pytorch.org/whl/nightly/cu132", stable: "https://download.pytorch.org/whl/cu132", cpu: "https://download.pytorch.org/whl/cpu" }[family];
            assert.ok(index, family);
            assert.ok(command.includes(` --index-url ${index} --extra-index-url https://pypi.org/simple --index-strategy unsafe-best-match `), command);
            const pin = family === "habitat" ? "nightly" : family;
            assert.ok(command.includes(` .github/lock-inputs/torch-${pin}.txt `), command);
            for (const name of CLOSURE) assert.ok(command.includes(` --no-emit-package ${name} `), `${lock}: ${name}`);
            if (family === "cpu") assert.ok(command.includes(" --universal "), "cpu: one lock for linux/amd64 and linux/arm64");
            else assert.ok(command.includes(" --python-platform x86_64-manylinux_2_39 "), command);
        });
    }
    it("the stable and cpu torch pins equal mlci:families.<f>.buildArgs.TORCH_VERSION in every stack", () => {
        for (const stack of ["dev", "prod", "local"]) {
            const config = parseStackConfig(readStackConfigFile(ROOT, stack), { projectRoot: ROOT, env: {} });
            for (const family of ["stable", "cpu"]) {
                const version = config.families.find((f) => f.name === family)?.buildArgs?.TORCH_VERSION;
                if (!version) continue;
                const pin = fs.readFileSync(path.join(ROOT, `.github/lock-inputs/torch-${family}.txt`), "utf8").match(/^torch==(\S+)$/m)?.[1];
                assert.equal(pin, version, `${stack}: ${family}`);
            }
        }
    });
    it("refresh-locks.sh fails, naming the lock and the fix, when torch's closure leaks into a lock", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-leak-"));
        for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi(\.[^.]+)?\.yaml$/.test(f))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
        fs.cpSync(path.join(ROOT, "docker"), path.join(dir, "docker"), { recursive: true });
        fs.cpSync(path.join(ROOT, ".github"), path.join(dir, ".github"), { recursive: true });
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "uv"), `#!/usr/bin/env bash\nout="\${@: -1}"\nprintf 'numpy==2.3.5\\nnvidia-cufile==1.15.0.42\\n' > "$out"\n`, { mode: 0o755 });
        const r = spawnSync("bash", [path.join(dir, ".github/scripts/refresh-locks.sh")], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        assert.equal(r.status, 1, r.stdout);
        assert.match(r.stderr, /^docker\/base\/requirements-py3\.12\.lock: torch's CUDA closure leaked into the lock \(nvidia-cufile \); .*Fix: add --no-emit-package/);
    });
});
