import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { parseStackConfig } from "../lib/config/config";
import { expandImageGraph } from "../lib/images/graph";
import { readStackConfigFile } from "../lib/stackPlan";

const ROOT = path.resolve(__dirname, "..");
const workflow = (file: string) => YAML.parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", file), "utf8"));
type Step = { uses?: string; run?: string; name?: string };

/** Every lock file a cell of dev, prod or local installs, with the cell's Python. */
function cellLocks(): Map<string, string> {
    const locks = new Map<string, string>();
    for (const stack of ["dev", "prod", "local"]) {
        const config = parseStackConfig(readStackConfigFile(ROOT, stack), { projectRoot: ROOT, env: {} });
        for (const node of expandImageGraph(config)) locks.set(`${node.context}/requirements-py${node.cell.python}.lock`, node.cell.python);
    }
    return locks;
}

/** A copy of what the scripts touch: the stack files, docker/ and .github/scripts. */
function copy(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-pin-wf-"));
    for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi(\.[^.]+)?\.yaml$/.test(f))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    fs.cpSync(path.join(ROOT, "docker"), path.join(dir, "docker"), { recursive: true });
    fs.cpSync(path.join(ROOT, ".github", "scripts"), path.join(dir, ".github", "scripts"), { recursive: true });
    return dir;
}

describe("lock-refresh and digest-bump workflows", () => {
    for (const [file, script] of [["lock-refresh.yml", ".github/scripts/refresh-locks.sh"], ["digest-bump.yml", ".github/scripts/bump-base-digests.sh"]] as const) {
        it(`${file}: weekly and on demand, actions pinned by SHA, runs ${script} then opens one pull request with write rights only in its job`, () => {
            const wf = workflow(file);
            assert.ok(Array.isArray(wf.on.schedule) && wf.on.schedule.length === 1, "a weekly schedule");
            assert.match(wf.on.schedule[0].cron, /^\d+ \d+ \* \* [0-6]$/);
            assert.ok("workflow_dispatch" in wf.on, "on demand");
            assert.deepEqual(wf.permissions, { contents: "read" });
            const [job] = Object.values(wf.jobs) as { permissions: Record<string, string>; steps: Step[] }[];
            assert.deepEqual(job.permissions, { contents: "write", "pull-requests": "write", actions: "write" });
            for (const s of job.steps.filter((x) => x.uses)) assert.match(s.uses!, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${s.uses} is not pinned by SHA`);
            const runs = job.steps.map((s) => s.run ?? "");
            const i = runs.findIndex((r) => r.includes(script));
            const pr = runs.findIndex((r) => r.includes(".github/scripts/open-pull-request.sh"));
            assert.ok(i >= 0 && pr > i, JSON.stringify(runs));
            // The job holds a write token: nothing from the npm registry runs in it.
            assert.ok(!runs.some((r) => /\bnpm\b|\bnpx\b/.test(r)), "no npm install or npx in a job with a write token");
        });
    }

    it("the actions they use are pinned to the SHAs the other workflows already pin", () => {
        const pins = new Map<string, Set<string>>();
        for (const f of fs.readdirSync(path.join(ROOT, ".github", "workflows"))) {
            for (const m of fs.readFileSync(path.join(ROOT, ".github", "workflows", f), "utf8").matchAll(/uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40})/g)) {
                pins.set(m[1], new Set([...(pins.get(m[1]) ?? []), m[2]]));
            }
        }
        for (const [action, shas] of pins) assert.equal(shas.size, 1, `${action} is pinned to ${[...shas].join(" and ")}`);
    });

    it("lock-refresh covers every lock of every cell, and each lock is generated (header) or hand-written pending the first refresh, naming its exact command", () => {
        const listed = new Map(
            execFileSync("bash", [path.join(ROOT, ".github/scripts/refresh-locks.sh"), "--list"], { encoding: "utf8" })
                .trim()
                .split("\n")
                .map((l) => l.split("\t") as [string, string]),
        );
        for (const [lock, python] of cellLocks()) {
            const command = listed.get(lock);
            assert.ok(command, `${lock} is not refreshed by the workflow`);
            const family = lock.split("/")[1];
            assert.ok(command.startsWith(`uv pip compile docker/${family}/requirements.txt`), command);
            assert.ok(command.includes(` --python-version ${python} `), `${lock}: ${command}`);
            assert.ok(command.endsWith(` --output-file ${lock}`), command);
            const header = fs.readFileSync(path.join(ROOT, lock), "utf8").split("\n").filter((l) => l.startsWith("#"));
            assert.ok(header.includes(`# command: ${command}`), `${lock}: the header names the command the workflow runs`);
            assert.ok(
                header.some((l) => l === "# generated by the lock-refresh workflow (.github/workflows/lock-refresh.yml); do not edit by hand" || l.startsWith("# hand-written, pending the first refresh")),
                `${lock}: neither generated nor marked "hand-written, pending the first refresh"`,
            );
        }
    });

    it("refresh-locks.sh runs each header's command (habitat after nightly, which it is constrained by) and writes the generated header", () => {
        const dir = copy();
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const log = path.join(dir, "uv.log");
        // Fake uv: records its argv and writes a lock to the file given as --output-file.
        fs.writeFileSync(path.join(bin, "uv"), `#!/usr/bin/env bash\necho "$*" >> "${log}"\nout="\${@: -1}"\necho "resolved-by-fake-uv==1.0" > "$out"\n`, { mode: 0o755 });
        const r = spawnSync("bash", [path.join(dir, ".github/scripts/refresh-locks.sh")], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        assert.equal(r.status, 0, r.stderr);
        const calls = fs.readFileSync(log, "utf8").trim().split("\n");
        assert.equal(calls.length, fs.readdirSync(path.join(dir, "docker")).flatMap((f) => (fs.statSync(path.join(dir, "docker", f)).isDirectory() ? fs.readdirSync(path.join(dir, "docker", f)) : [])).filter((f) => f.endsWith(".lock")).length);
        assert.ok(calls.findIndex((c) => c.includes("docker/habitat/requirements.txt")) > calls.findIndex((c) => c.includes("docker/nightly/requirements.txt")), calls.join("\n"));
        const lock = fs.readFileSync(path.join(dir, "docker/stable/requirements-py3.13.lock"), "utf8");
        const command = fs.readFileSync(path.join(ROOT, "docker/stable/requirements-py3.13.lock"), "utf8").match(/^# command: (.*)$/m)![1];
        assert.ok(command.startsWith("uv pip compile docker/stable/requirements.txt docker/stable/tensordict.txt .github/lock-inputs/torch-stable.txt --python-version 3.13 "), command);
        assert.equal(
            lock,
            [
                "# stable family, Python 3.13: pinned Python dependencies of docker/stable/Dockerfile, installed",
                "# as requirements and constraints, so a content tag means these exact versions.",
                "# generated by the lock-refresh workflow (.github/workflows/lock-refresh.yml); do not edit by hand",
                `# command: ${command}`,
                "",
                "resolved-by-fake-uv==1.0",
                "",
            ].join("\n"),
        );
        assert.ok(calls.includes(command.slice("uv ".length).replace(/docker\/stable\/requirements-py3\.13\.lock$/, "") + calls.find((c) => c.startsWith("pip compile docker/stable/requirements.txt docker/stable/tensordict.txt .github/lock-inputs/torch-stable.txt --python-version 3.13"))!.split(" ").pop()), "the same command, writing to a temp file first");
    });

    it("bump-base-digests.sh moves each pin whose tag now points elsewhere, in every stack file", () => {
        const dir = copy();
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const B = `sha256:${"b".repeat(64)}`;
        const Z = "sha256:44a9504c6dfb50b1241464241b02a93871928f373de6f5a644cf5fe9f080aa63"; // the shipped 13.2.1 pin
        const U = "sha256:5dc1bca23d05bd37b011be68ec470c03b403a5da07ec3a86e41af9470e9d0cc6"; // the shipped 13.0.2 pin
        // Fake docker: `buildx imagetools inspect docker.io/<image> --format '{{json .Manifest}}'`; nvidia/cuda:13.2.1 moved, the rest answer their pinned digest.
        fs.writeFileSync(
            path.join(bin, "docker"),
            `#!/usr/bin/env bash\n[[ "$1 $2 $3" == "buildx imagetools inspect" ]] || exit 99\nif [[ "$4" == docker.io/nvidia/cuda:13.2.1-devel-ubuntu24.04 ]]; then echo '{"digest":"${B}"}'; else d="$(grep -ho "\${4#docker.io/}@sha256:[0-9a-f]*" Pulumi.*.yaml | head -n 1)"; echo "{\\"digest\\":\\"\${d#*@}\\"}"; fi\n`,
            { mode: 0o755 },
        );
        const r = spawnSync("bash", [path.join(dir, ".github/scripts/bump-base-digests.sh")], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), `nvidia/cuda:13.2.1-devel-ubuntu24.04: ${Z} -> ${B}`);
        for (const stack of ["dev", "prod", "local"]) {
            const text = fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8");
            assert.ok(text.includes(`nvidia/cuda:13.2.1-devel-ubuntu24.04@${B}`), stack);
            assert.ok(!text.includes(`nvidia/cuda:13.2.1-devel-ubuntu24.04@${Z}`), stack);
        }
        assert.ok(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8").includes(`nvidia/cuda:13.0.2-devel-ubuntu24.04@${U}`), "an unmoved pin stays");
    });
});

describe("open-pull-request.sh (fake git and gh)", () => {
    const script = path.join(ROOT, ".github/scripts/open-pull-request.sh");
    function run(opts: { dirty: boolean; openPr: boolean }) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-open-pr-"));
        const log = path.join(dir, "calls.log");
        fs.writeFileSync(path.join(dir, "git"), `#!/usr/bin/env bash\necho "git $*" >> "${log}"\nif [[ "$1 $2" == "diff --quiet" ]]; then exit ${opts.dirty ? 1 : 0}; fi\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "gh"), `#!/usr/bin/env bash\necho "gh $*" >> "${log}"\nif [[ "$1 $2" == "pr list" ]]; then ${opts.openPr ? "echo 17" : "true"}; fi\n`, { mode: 0o755 });
        const r = spawnSync("bash", [script, "lock-refresh", "lock files: weekly refresh", "body"], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, GH_TOKEN: "t0k", GITHUB_REPOSITORY: "pytorch/ml-ci-images" } });
        return { status: r.status, stdout: r.stdout, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
    }
    it("nothing changed: no branch, no push, no pull request", () => {
        const r = run({ dirty: false, openPr: false });
        assert.equal(r.status, 0);
        assert.deepEqual(r.calls, ["git diff --quiet"]);
    });
    it("changes: one commit on automation/<name>, force-pushed, and a pull request opened once", () => {
        let r = run({ dirty: true, openPr: false });
        assert.equal(r.status, 0, r.stdout);
        assert.ok(r.calls.includes("git switch -C automation/lock-refresh"), r.calls.join("\n"));
        assert.ok(r.calls.includes("git push --force https://x-access-token:t0k@github.com/pytorch/ml-ci-images.git automation/lock-refresh"));
        assert.ok(r.calls.some((c) => c.startsWith("gh pr create --base main --head automation/lock-refresh --title lock files: weekly refresh")), r.calls.join("\n"));
        r = run({ dirty: true, openPr: true });
        assert.ok(!r.calls.some((c) => c.startsWith("gh pr create")), "the open PR is updated by the force-push, not duplicated");
    });
});
