import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { checkCopySources, expandVariables } from "../lib/images/dockerContext";
import { runCli } from "./cliContext";
import { projectCopy } from "./fixtures";



describe("COPY/ADD sources expanded per image (ci-images check)", () => {
    it("the project's dev stack passes as committed", async () => {
        const dir = projectCopy("mlci-copy-check-");
        const run = await runCli(["check", "--stack", "dev"], { cwd: dir });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /copy only from their contexts/);
    });

    it("a deleted docker/stable/requirements-py3.13.lock fails check, naming the cell and the file", async () => {
        const dir = projectCopy("mlci-copy-check-");
        fs.rmSync(path.join(dir, "docker/stable/requirements-py3.13.lock"));
        const run = await runCli(["check", "--stack", "dev"], { cwd: dir });
        assert.equal(run.code, 1);
        assert.doesNotMatch(run.stdout, /pass the checks/);
        assert.match(run.stderr, /config mlci:families\.stable\.dockerfile: cell cuda13\.2-py3\.13 \(stable-cuda13\.2-py3\.13\): docker\/stable\/Dockerfile:\d+ COPY "requirements-py\$\{PYTHON_VERSION\}\.lock" \(= "requirements-py3\.13\.lock" for this cell\) matches no file the build context "docker\/stable" sends \(missing, or excluded by \.dockerignore\): no such file in docker\/stable\//);
        assert.doesNotMatch(run.stderr, /py3\.12/, "the 3.12 cell still has its lock");
    });

    it("*.lock in docker/stable/.dockerignore fails check, naming every cell, the file and the .dockerignore line", async () => {
        const dir = projectCopy("mlci-copy-check-");
        const ignore = path.join(dir, "docker/stable/.dockerignore");
        fs.appendFileSync(ignore, "*.lock\n");
        const line = fs.readFileSync(ignore, "utf8").trimEnd().split("\n").length;
        const run = await runCli(["check", "--stack", "dev"], { cwd: dir });
        assert.equal(run.code, 1);
        for (const py of ["3.12", "3.13"]) {
            assert.match(run.stderr, new RegExp(`cuda13\\.2-py${py.replace(".", "\\.")} \\(stable-cuda13\\.2-py${py.replace(".", "\\.")}\\)`));
            assert.match(run.stderr, new RegExp(`docker/stable/requirements-py${py.replace(".", "\\.")}\\.lock is excluded by docker/stable/\\.dockerignore:${line} "\\*\\.lock"`));
        }
        assert.match(run.stderr, new RegExp(`Fix: remove or narrow line ${line} of docker/stable/\\.dockerignore`));
    });

    it("a warm hash cache never hides a new cell whose lock file does not exist (the verdict key holds the build args)", async () => {
        const dir = projectCopy("mlci-copy-check-");
        const env = { MLCI_HASH_CACHE: path.join(dir, ".cache", "hc.json") };
        const { isolatedEnv } = await import("./cliContext");
        const first = await runCli(["check", "--stack", "dev"], { cwd: dir, env: isolatedEnv(env) });
        assert.equal(first.code, 0, first.stderr);
        const stackFile = path.join(dir, "Pulumi.dev.yaml");
        fs.writeFileSync(stackFile, fs.readFileSync(stackFile, "utf8").replace('python: ["3.12", "3.13"]', 'python: ["3.12", "3.13", "3.14"]').replace(/( +)"3\.13": library\/python:3\.13-slim-bookworm@(sha256:[0-9a-f]{64})\n/, '$&$1"3.14": library/python:3.14-slim-bookworm@$2\n'));
        const second = await runCli(["check", "--stack", "dev"], { cwd: dir, env: isolatedEnv(env) });
        assert.equal(second.code, 1);
        assert.match(second.stderr, /cell cuda13\.2-py3\.14 \(stable-cuda13\.2-py3\.14\): docker\/stable\/Dockerfile:\d+ COPY "requirements-py\$\{PYTHON_VERSION\}\.lock" \(= "requirements-py3\.14\.lock" for this cell\)/);
    });
});

describe("checkCopySources: Docker's ARG scoping", () => {
    const sent = ["a-1.txt", "a-2.txt"];
    it("a passed build arg wins over the ARG default; the default applies when not passed", () => {
        const text = "FROM x:1\nARG V=1\nCOPY a-${V}.txt /\n";
        assert.deepEqual(checkCopySources(text, sent, {}), []);
        assert.deepEqual(checkCopySources(text, sent, { V: "2" }), []);
        assert.deepEqual(checkCopySources(text, sent, { V: "3" }).map((v) => v.expanded), ["a-3.txt"]);
    });
    it("a global ARG default reaches a stage only when redeclared there", () => {
        assert.deepEqual(checkCopySources("ARG V=1\nFROM x:1\nARG V\nCOPY a-${V}.txt /\n", sent).map((v) => v.expanded), []);
        assert.deepEqual(checkCopySources("ARG V=1\nFROM x:1\nCOPY a-${V}.txt /\n", sent), [], "undeclared in the stage: may be the parent's ENV, skipped");
    });
    it("a declared ARG without value or pass is empty, as the build sees it", () => {
        assert.deepEqual(checkCopySources("FROM x:1\nARG V\nCOPY a-${V}.txt /\n", sent).map((v) => v.expanded), ["a-.txt"]);
    });
    it("${X:-d}, ${X-d}, ${X:+d} and ENV", () => {
        const scope = new Map([["E", ""], ["S", "s"]]);
        assert.equal(expandVariables("${E:-d}|${E-d}|${S:+p}|${N:-n}", scope), "d||p|n");
        assert.deepEqual(checkCopySources("FROM x:1\nENV W=2\nCOPY a-${W}.txt /\n", sent), []);
    });
});
