import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { cliFixtureProject as fixtureProject, runCli } from "./cliContext";
import { planStack } from "../lib/stackPlan";
import { BUNDLE, CLI_BIN, ensureBuiltCli } from "./builtCli";
import { catalogConfig } from "./fixtures";

const run = (args: string[]) => runCli(args);

describe("ci-images CLI", () => {
    it("tags --json gives the same tags as the program's plan, parents first", async () => {
        const root = fixtureProject();
        const { code, stdout } = await run(["tags", "--stack", "ci", "--json", "--root", root]);
        assert.equal(code, 0);
        const json = JSON.parse(stdout);
        const plan = await planStack(catalogConfig(), { projectRoot: root, env: {}, useHashCache: false });
        assert.deepEqual(json.images.map((i: any) => [i.name, i.tag]), plan.images.map((i) => [i.name, i.tag]));
        const habitat = json.images.find((i: any) => i.name === "habitat-cuda12.4-py3.10");
        assert.deepEqual(Object.keys(habitat).slice(0, 6), ["name", "family", "repository", "tag", "aliases", "parent"]);
        assert.equal(habitat.repository, "ml-ci/habitat");
        assert.equal(habitat.parent, "nightly-cuda12.4-py3.10");
        assert.deepEqual(habitat.aliases, ["cuda12.4-py3.10-latest"]);
        const nightly = json.images.find((i: any) => i.name === "nightly-cuda12.4-py3.10");
        assert.deepEqual(nightly.aliases, ["cuda12.4-py3.10-latest", "cuda12.4-py3.10-20261122"]);
        const names = json.images.map((i: any) => i.name);
        for (const i of json.images) if (i.parent) assert.ok(names.indexOf(i.parent) < names.indexOf(i.name), `${i.parent} before ${i.name}`);
    });

    it("check exits 1 with the same problems the program reports", async () => {
        const root = fixtureProject();
        const file = path.join(root, "Pulumi.ci.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("parent: nightly", "parent: nightli"));
        const { code, stderr } = await run(["check", "--stack", "ci", "--root", root]);
        assert.equal(code, 1);
        assert.match(stderr, /config mlci:families\.habitat\.parent: "nightli" is not a family \(did you mean "nightly"\?\)/);
    });

    it("check runs the Dockerfile checks with the args the program passes", async () => {
        const root = fixtureProject();
        const file = path.join(root, "docker/habitat/Dockerfile");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("ARG CUDNN_VARIANT\n", ""));
        const { code, stderr } = await run(["check", "--stack", "ci", "--root", root]);
        assert.equal(code, 1);
        assert.match(stderr, /docker\/habitat\/Dockerfile:1: build arg CUDNN_VARIANT is passed by the program but no ARG declares it/);
    });

    it("check passes on a valid stack and names an unknown stack's alternatives", async () => {
        const root = fixtureProject();
        assert.equal((await run(["check", "--stack", "ci", "--root", root])).code, 0);
        const missing = await run(["check", "--stack", "staging", "--root", root]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /no stack file Pulumi\.staging\.yaml\. Fix: use one of: ci/);
    });

    it("changed --since lists exactly the images whose tags moved since a git revision", async () => {
        const root = fixtureProject();
        const git = (...a: string[]) => execFileSync("git", a, { cwd: root, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
        git("init", "-q");
        git("add", "-A");
        git("commit", "-qm", "catalog");
        const same = await run(["changed", "--stack", "ci", "--since", "HEAD", "--root", root]);
        assert.deepEqual([same.code, same.stdout], [0, "no image changes\n"]);
        fs.appendFileSync(path.join(root, "docker/nightly/requirements.txt"), "hypothesis\n");
        const { code, stdout } = await run(["changed", "--stack", "ci", "--since", "HEAD", "--root", root, "--json"]);
        assert.equal(code, 1, "changed exits 1 when images change, as git diff --exit-code");
        const names = JSON.parse(stdout).images.map((i: any) => i.name).sort();
        assert.deepEqual(names, ["habitat-cuda12.4-py3.10", "nightly-cuda11.8-py3.10", "nightly-cuda11.8-py3.11", "nightly-cuda12.4-py3.10", "nightly-cuda12.4-py3.11"]);
    });

    it("uri prints the digest-pinned ref from `pulumi stack output --json`, failing fast for a missing image", async () => {
        const root = fixtureProject();
        const digest = `sha256:${"ab".repeat(32)}`;
        const repo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly";
        const entry = { uri: `${repo}:cuda12.4-py3.11-0123456789ab`, ref: `${repo}:cuda12.4-py3.11-0123456789ab@${digest}`, digest, tag: "cuda12.4-py3.11-0123456789ab", repository: repo, family: "nightly", cuda: "12.4.1", python: "3.11" };
        const file = path.join(root, "outputs.json");
        fs.writeFileSync(file, JSON.stringify({ images: { "nightly-cuda12.4-py3.11": entry }, registryServer: "x" }));
        const ok = await run(["uri", "nightly-cuda12.4-py3.11", "--from", file]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(ok.stdout, `${entry.ref}\n`);
        const missing = await run(["uri", "nightly-cuda12.4-py3.12", "--from", file]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /nightly-cuda12\.4-py3\.12/);
        assert.match(missing.stderr, /nightly-cuda12\.4-py3\.11/);
    });

    it("usage errors exit 2", async () => {
        assert.equal((await run(["frobnicate"])).code, 2);
        assert.equal((await run(["changed", "--stack", "ci", "--root", fixtureProject()])).code, 2);
    });

    it("runs as `npx ci-images` through the package bin, compiled, without ts-node or the Pulumi SDK", function () {
        this.timeout(120_000);
        ensureBuiltCli();
        const root = fixtureProject();
        const probe = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(BUNDLE)}); const m = Object.keys(require.cache); console.log(JSON.stringify(m.filter((f) => /node_modules[\\/](ts-node|typescript|@pulumi)[\\/]/.test(f))))`], { encoding: "utf8" });
        assert.equal(probe.status, 0, probe.stderr);
        assert.deepEqual(JSON.parse(probe.stdout), [], "the bundled CLI loads no ts-node, typescript or @pulumi module");
        const r = spawnSync(process.execPath, [CLI_BIN, "tags", "--stack", "ci", "--json"], { cwd: path.join(root, "docker"), encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).images.length, 11);
        const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "package.json"), "utf8"));
        assert.equal(pkg.bin["ci-images"], "bin/ci-images.js");
        assert.equal(pkg.scripts.prepare, "npm run build", "npm ci builds the CLI");
        assert.doesNotMatch(fs.readFileSync(CLI_BIN, "utf8"), /ts-node/);
    });
});

describe("ci-images calls in the workflows and docs", () => {
    /** Every `npx ci-images …` command line in a text, split into words (quotes dropped; stops at a pipe, redirect, comment or `)`). */
    function calls(text: string): string[][] {
        return [...text.matchAll(/npx ci-images ([^\n|;&)>`#]+)/g)].map((m) => (m[1].match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, "")));
    }

    it("name existing commands with flags they accept and the right number of arguments", () => {
        const { COMMANDS } = require("../cli/commandSpecs");
        const { parseCommandArgs } = require("../cli/main");
        const files = [
            ...fs.readdirSync(path.join(__dirname, "..", ".github", "workflows")).map((f) => path.join(".github", "workflows", f)),
            "README.md",
            ...fs.readdirSync(path.join(__dirname, "..", "docs")).filter((f) => f.endsWith(".md")).map((f) => path.join("docs", f)),
        ];
        let seen = 0;
        for (const file of files) {
            for (const [name, ...args] of calls(fs.readFileSync(path.join(__dirname, "..", file), "utf8"))) {
                // `npx ci-images <command> …` in prose with placeholders (`<image>`) is still parsed: placeholders are words.
                const spec = COMMANDS.find((c: { name: string }) => c.name === name);
                assert.ok(spec, `${file}: ci-images ${name} is not a command`);
                assert.doesNotThrow(() => parseCommandArgs(spec, args.filter((a) => a !== "[--json]" && a !== "[options]")), `${file}: ci-images ${name} ${args.join(" ")}`);
                seen++;
            }
        }
        assert.ok(seen >= 15, `found ${seen} calls`);
    });
});
