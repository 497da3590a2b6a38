/**
 * `ci-images explain` and `ci-images graph` on a fixture git repository with commits: base → nightly →
 * habitat (CUDA) and a cpu root. Each test commits a change and asks about it with --since HEAD~1, so
 * the revision is read from git (never from the working tree).
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { HASH_SCHEME } from "../lib/images/contentHash";
import type { ImageRebuild } from "../lib/images/rebuildReasons";
import { cliFixtureProject, runCli } from "./cliContext";
import { parseMermaid } from "./mermaidParser";

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };

/** The catalog fixture with a lock file and a TORCH_VERSION arg on nightly, committed as the first commit. */
function fixtureRepo(): { root: string; git: (...a: string[]) => string; commit: (message: string) => void } {
    const root = cliFixtureProject();
    fs.writeFileSync(path.join(root, "docker/nightly/requirements.lock"), "pytest==8.3.0\n");
    fs.appendFileSync(path.join(root, "docker/nightly/Dockerfile"), "ARG TORCH_VERSION\n");
    setNightlyArgs(root, { TORCH_VERSION: "2.9.0" });
    const git = (...a: string[]) => execFileSync("git", a, { cwd: root, encoding: "utf8", env: GIT_ENV });
    const commit = (message: string) => {
        git("add", "-A");
        git("commit", "-qm", message);
    };
    git("init", "-q");
    commit("catalog");
    return { root, git, commit };
}

function setNightlyArgs(root: string, buildArgs: Record<string, string>): void {
    const file = path.join(root, "Pulumi.ci.yaml");
    const doc = YAML.parse(fs.readFileSync(file, "utf8"));
    doc.config["mlci:families"].nightly.buildArgs = buildArgs;
    fs.writeFileSync(file, YAML.stringify(doc));
}

async function explainJson(root: string, ...args: string[]) {
    const r = await runCli(["explain", ...args, "--stack", "ci", "--since", "HEAD~1", "--root", root, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { since: string; images: (Omit<ImageRebuild, "changes"> & { changes: Record<string, unknown>[] })[] };
}

describe("ci-images explain", function () {
    this.timeout(30_000);

    it("names the changed file for an edited lock file (path and size), and that the children rebuild because of their parent", async () => {
        const { root, commit } = fixtureRepo();
        fs.writeFileSync(path.join(root, "docker/nightly/requirements.lock"), "pytest==8.3.5\nhypothesis==6.0\n");
        commit("bump the lock");
        const one = await explainJson(root, "nightly-cuda12.4-py3.10");
        assert.deepEqual(one.images.map((i) => [i.name, i.status]), [["nightly-cuda12.4-py3.10", "rebuilds-own-input"]]);
        assert.deepEqual(one.images[0].changes, [{ input: "context", path: "docker/nightly/requirements.lock", change: "modified", size: { from: 14, to: 30 } }]);
        assert.equal(one.images[0].reason, "rebuilds: docker/nightly/requirements.lock modified (size 14 → 30 bytes)");

        const child = await explainJson(root, "habitat-cuda12.4-py3.10");
        assert.equal(child.images[0].status, "rebuilds-cascade");
        assert.equal(child.images[0].reason, "rebuilds because its parent `nightly-cuda12.4-py3.10` rebuilds");
        assert.deepEqual(child.images[0].changes.map((c) => c.input), ["parentTag"]);

        // Without an image: exactly the ones that rebuild (the four nightly cells and habitat), parents first.
        const all = await explainJson(root);
        assert.deepEqual(all.images.map((i) => i.name), ["nightly-cuda12.4-py3.10", "nightly-cuda12.4-py3.11", "nightly-cuda11.8-py3.10", "nightly-cuda11.8-py3.11", "habitat-cuda12.4-py3.10"]);

        const text = await runCli(["explain", "habitat-cuda12.4-py3.10", "--stack", "ci", "--since", "HEAD~1", "--root", root]);
        assert.equal(text.code, 0, text.stderr);
        assert.match(text.stdout, /^habitat-cuda12\.4-py3\.10: rebuilds \(cascade\) {2}cuda12\.4-py3\.10-h[0-9a-f]{12} -> cuda12\.4-py3\.10-h[0-9a-f]{12}\n {2}rebuilds because its parent `nightly-cuda12\.4-py3\.10` rebuilds\n {2}- parent tag /);
    });

    it("names the changed build arg for a bumped TORCH_VERSION, and nothing else", async () => {
        const { root, commit } = fixtureRepo();
        setNightlyArgs(root, { TORCH_VERSION: "2.10.0" });
        commit("torch 2.10");
        const { images } = await explainJson(root, "nightly-cuda11.8-py3.11");
        assert.deepEqual(images[0].changes, [{ input: "buildArg", name: "TORCH_VERSION", from: "2.9.0", to: "2.10.0" }]);
        assert.equal(images[0].reason, "rebuilds: build arg TORCH_VERSION 2.9.0 → 2.10.0");
    });

    it("names nothing for an untouched image, and says so in text", async () => {
        const { root, commit } = fixtureRepo();
        fs.writeFileSync(path.join(root, "docker/nightly/requirements.lock"), "pytest==9.0.0\n");
        commit("bump the lock, same size");
        const { images } = await explainJson(root, "cpu-py3.11");
        assert.deepEqual(images, [{ name: "cpu-py3.11", parent: null, status: "unchanged", previousTag: images[0].previousTag, tag: images[0].previousTag, changes: [], reason: null }]);
        const base = await runCli(["explain", "base-cuda12.4-py3.10", "--stack", "ci", "--since", "HEAD~1", "--root", root]);
        assert.match(base.stdout, /^base-cuda12\.4-py3\.10: unchanged since HEAD~1 \(cuda12\.4-py3\.10-h[0-9a-f]{12}\)\n$/);
        // A same-size edit is still found (by content), with no size shown.
        const nightly = await explainJson(root, "nightly-cuda12.4-py3.10");
        assert.deepEqual(nightly.images[0].changes, [{ input: "context", path: "docker/nightly/requirements.lock", change: "modified" }]);
    });

    it("names added and removed files, a mode change and a new image", async () => {
        const { root, commit } = fixtureRepo();
        fs.chmodSync(path.join(root, "docker/base/scripts/install.sh"), 0o644);
        fs.writeFileSync(path.join(root, "docker/base/scripts/setup.sh"), "echo\n");
        fs.rmSync(path.join(root, "docker/base/KEEP.md"));
        const file = path.join(root, "Pulumi.ci.yaml");
        const doc = YAML.parse(fs.readFileSync(file, "utf8"));
        doc.config["mlci:matrix"].python.push("3.12");
        fs.writeFileSync(file, YAML.stringify(doc));
        commit("scripts and a python");
        const { images } = await explainJson(root);
        const base = images.find((i) => i.name === "base-cuda12.4-py3.10")!;
        assert.deepEqual(base.changes, [
            { input: "context", path: "docker/base/KEEP.md", change: "removed" },
            { input: "context", path: "docker/base/scripts/install.sh", change: "modified", mode: { from: "x", to: "-" } },
            { input: "context", path: "docker/base/scripts/setup.sh", change: "added" },
        ]);
        const added = images.find((i) => i.name === "base-cuda12.4-py3.12")!;
        assert.deepEqual([added.status, added.reason], ["rebuilds-own-input", "rebuilds: new image"]);
    });

    it("names the hash-scheme version the revision tagged with, read from its lib/images/contentHash.ts", async () => {
        const { root, commit } = fixtureRepo();
        const source = path.join(root, "lib/images/contentHash.ts");
        fs.mkdirSync(path.dirname(source), { recursive: true });
        fs.writeFileSync(source, 'export const HASH_SCHEME = "mlci-content-hash/v0";\n');
        commit("an older scheme");
        fs.writeFileSync(source, `export const HASH_SCHEME = "${HASH_SCHEME}";\n`);
        commit("this scheme");
        const { images } = await explainJson(root, "cpu-py3.11");
        assert.deepEqual(images[0].changes, [{ input: "scheme", from: "mlci-content-hash/v0", to: HASH_SCHEME }]);
        assert.equal(images[0].reason, `rebuilds: hash scheme mlci-content-hash/v0 → ${HASH_SCHEME}`);
    });

    it("a revision whose config does not validate under this checkout's rules names the config paths in each reason", async () => {
        const { root, commit } = fixtureRepo();
        const file = path.join(root, "Pulumi.ci.yaml");
        const good = fs.readFileSync(file, "utf8");
        fs.writeFileSync(file, good.replace("parent: nightly", "parent: nightli"));
        commit("a typo");
        fs.writeFileSync(file, good);
        commit("fixed");
        const { images } = await explainJson(root, "cpu-py3.11");
        assert.deepEqual([images[0].status, images[0].previousTag], ["rebuilds-own-input", null]);
        assert.equal(images[0].reason, "rebuilds: no previous tag is known, since the stack's config at HEAD~1: mlci:families.habitat.parent does not validate under this checkout's rules");
    });

    it("reads the revision from git without touching the working tree, and an unknown image or revision is a usage error", async () => {
        const { root, git, commit } = fixtureRepo();
        fs.writeFileSync(path.join(root, "docker/nightly/requirements.lock"), "pytest==8.3.5\n");
        commit("bump");
        fs.writeFileSync(path.join(root, "docker/nightly/requirements.txt"), "pytest\nnumpy\n");
        const status = git("status", "--porcelain");
        const { images } = await explainJson(root, "nightly-cuda12.4-py3.10");
        assert.deepEqual(
            images[0].changes.map((c) => c.path),
            ["docker/nightly/requirements.lock", "docker/nightly/requirements.txt"],
            "HEAD~1 against the working tree (an uncommitted edit included)",
        );
        assert.equal(git("status", "--porcelain"), status, "explain changed nothing in the checkout");
        const unknown = await runCli(["explain", "nightly-cuda12.4-py3.13", "--stack", "ci", "--root", root]);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /unknown image "nightly-cuda12\.4-py3\.13"\. Did you mean nightly-cuda12\.4-py3\.1[01]\?/);
        const badRev = await runCli(["explain", "--stack", "ci", "--since", "no-such-ref", "--root", root]);
        assert.equal(badRev.code, 2);
        assert.match(badRev.stderr, /unknown git revision "no-such-ref"/);
    });
});

describe("ci-images graph", function () {
    this.timeout(60_000);

    it("--format mermaid parses (mermaid's own flowchart parser) and marks each image unchanged, own input or cascade", async () => {
        const { root, commit } = fixtureRepo();
        setNightlyArgs(root, { TORCH_VERSION: "2.10.0" });
        commit("torch 2.10");
        const r = await runCli(["graph", "--stack", "ci", "--since", "HEAD~1", "--format", "mermaid", "--root", root]);
        assert.equal(r.code, 0, r.stderr);
        await parseMermaid(r.stdout);
        assert.match(r.stdout, /^flowchart TD\n/);
        const node = (name: string) => r.stdout.split("\n").find((l) => l.includes(`["${name}<br/>`)) ?? "";
        assert.match(node("base-cuda12.4-py3.10"), /<br\/>unchanged"\]:::unchanged$/);
        assert.match(node("nightly-cuda12.4-py3.10"), /<br\/>rebuilds \(own input\)<br\/>rebuilds: build arg TORCH_VERSION 2\.9\.0 → 2\.10\.0"\]:::own$/);
        assert.match(node("habitat-cuda12.4-py3.10"), /<br\/>rebuilds \(cascade\)<br\/>rebuilds because its parent #96;nightly-cuda12\.4-py3\.10#96; rebuilds"\]:::cascade$/);
        // 4 base + 4 nightly + 1 habitat + 2 cpu nodes; an edge per parent.
        assert.equal(r.stdout.split("\n").filter((l) => /^ {4}n\d+\["/.test(l)).length, 11);
        assert.equal(r.stdout.split("\n").filter((l) => /^ {4}n\d+ --> n\d+$/.test(l)).length, 5);
        // The estimate: 4 nightly builds in one wave, then habitat (its child): 2 waves on the default builder.
        const json = await runCli(["graph", "--stack", "ci", "--since", "HEAD~1", "--format", "json", "--root", root]);
        assert.deepEqual(JSON.parse(json.stdout).estimate, { builds: 5, waves: 2, minutesPerBuild: 30, minutes: 60 });
    });

    it("the mermaid parser rejects a broken diagram (so the check above can fail)", async () => {
        await assert.rejects(parseMermaid('flowchart TD\n    n0["a"b"] --> n1\n'), /Parse error/);
    });

    it("--format json and dot carry the same verdicts; no --format is a usage error", async () => {
        const { root, commit } = fixtureRepo();
        fs.writeFileSync(path.join(root, "docker/habitat/extra.txt"), 'a "quoted" file\n');
        commit("habitat file");
        const json = await runCli(["graph", "--stack", "ci", "--since", "HEAD~1", "--json", "--minutes-per-build", "45", "--root", root]);
        assert.equal(json.code, 0, json.stderr);
        const g = JSON.parse(json.stdout);
        assert.deepEqual(g.nodes.filter((n: any) => n.status !== "unchanged").map((n: any) => [n.name, n.status]), [["habitat-cuda12.4-py3.10", "rebuilds-own-input"]]);
        assert.deepEqual(g.edges.find((e: any) => e.to === "habitat-cuda12.4-py3.10"), { from: "nightly-cuda12.4-py3.10", to: "habitat-cuda12.4-py3.10" });
        assert.deepEqual(g.estimate, { builds: 1, waves: 1, minutesPerBuild: 45, minutes: 45 });
        const dot = await runCli(["graph", "--stack", "ci", "--since", "HEAD~1", "--format", "dot", "--root", root]);
        assert.match(dot.stdout, /^digraph images \{\n/);
        assert.match(dot.stdout, /"habitat-cuda12\.4-py3\.10" \[label="habitat-cuda12\.4-py3\.10\\nrebuilds \(own input\)\\nrebuilds: docker\/habitat\/extra\.txt added", fillcolor="#ffd6d6"/);
        assert.match(dot.stdout, /"nightly-cuda12\.4-py3\.10" -> "habitat-cuda12\.4-py3\.10";/);
        const none = await runCli(["graph", "--stack", "ci", "--root", root]);
        assert.equal(none.code, 2);
        assert.match(none.stderr, /graph needs --format mermaid\|dot\|json/);
        const typo = await runCli(["graph", "--stack", "ci", "--format", "mermaidd", "--root", root]);
        assert.equal(typo.code, 2);
        assert.match(typo.stderr, /unknown --format "mermaidd" \(did you mean mermaid\?\)/);
    });
});
