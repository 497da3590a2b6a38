import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DockerfileParser } from "dockerfile-ast";

const ROOT = path.resolve(__dirname, "..");
const text = fs.readFileSync(path.join(ROOT, "docker/habitat/Dockerfile"), "utf8");

describe("habitat build (#29)", () => {
    it("habitat-lab comes from HABITAT_LAB_REF, default 8c403d6645bd (TorchRL's pin), declared in both stages, and the labels record the refs", () => {
        const args = DockerfileParser.parse(text)
            .getInstructions()
            .filter((i) => i.getKeyword() === "ARG")
            .map((i) => i.getArgumentsContent());
        assert.equal(args.filter((a) => a === "HABITAT_LAB_REF=8c403d6645bd").length, 2);
        assert.doesNotMatch(text, /HABITAT_LAB_VERSION|habitat-lab\.git@v/, "no v0.3.4 tag install left");
        assert.match(text, /git -C \/src\/habitat-lab checkout --quiet "\$\{HABITAT_LAB_REF\}"/);
        assert.match(text, /io\.mlci\.habitat-lab-ref="\$\{HABITAT_LAB_REF\}"/);
        assert.match(text, /io\.mlci\.habitat-sim-version="\$\{HABITAT_SIM_VERSION\}"/);
        assert.match(text, /\/opt\/mlci\/habitat-commits\.txt/);
    });

    it("the build's parallelism is min(nproc, memory / HABITAT_BUILD_GB_PER_JOB), at least 1, with the cgroup limit counted, for MAX_JOBS and CMAKE_BUILD_PARALLEL_LEVEL", () => {
        assert.match(text, /MAX_JOBS="\$\{jobs\}" CMAKE_BUILD_PARALLEL_LEVEL="\$\{jobs\}"/);
        // The Dockerfile's own commands, from `mem_kb=` to the job count, with /proc and /sys moved to files and nproc faked.
        const start = text.indexOf("mem_kb=$(awk");
        const end = text.indexOf('&& echo "habitat-sim build:');
        assert.ok(start > 0 && end > start, "the job-count commands");
        const snippet = text.slice(start, end).replace(/\\\n/g, " ");
        const tmp = fs.mkdtempSync(path.join(require("os").tmpdir(), "habitat-jobs-"));
        const jobs = (memGb: number, cpus: number, cgroupGb?: number) => {
            fs.writeFileSync(path.join(tmp, "meminfo"), `MemTotal: ${memGb * 1048576} kB\nMemAvailable: ${memGb * 1048576} kB\n`);
            fs.writeFileSync(path.join(tmp, "memory.max"), cgroupGb === undefined ? "max\n" : `${cgroupGb * 1024 ** 3}\n`);
            const script = `HABITAT_BUILD_GB_PER_JOB=4; nproc() { echo ${cpus}; }; ${snippet.replace(/\/proc\/meminfo/g, path.join(tmp, "meminfo")).replace(/\/sys\/fs\/cgroup\/memory\.max/g, path.join(tmp, "memory.max"))}; echo $jobs`;
            return execFileSync("bash", ["-c", script], { encoding: "utf8" }).trim();
        };
        assert.deepEqual([jobs(16, 32), jobs(64, 8), jobs(3, 8), jobs(64, 32, 8)], ["4", "8", "1", "2"]);
    });
});
