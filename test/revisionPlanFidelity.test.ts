/**
 * `explain` and `graph` read a revision as a checkout would (git read-tree + checkout-index: export-ignore
 * and export-subst change nothing) and say when the code that shapes tags differs from the revision's.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tagCodeDifferences, tagCodeFingerprint } from "../cli/tagCode";
import { cliFixtureProject, runCli } from "./cliContext";
import { parseMermaid } from "./mermaidParser";

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };

function repo(): { root: string; commit: (m: string) => void; write: (rel: string, text: string) => void } {
    const root = cliFixtureProject();
    const git = (...a: string[]) => execFileSync("git", a, { cwd: root, encoding: "utf8", env: GIT_ENV });
    const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.writeFileSync(path.join(root, rel), text);
    };
    git("init", "-q");
    const commit = (m: string) => {
        git("add", "-A");
        git("commit", "-qm", m, "--allow-empty");
    };
    return { root, commit, write };
}

/** A project's own tag code: an entry point importing a hashing module and a locked package. */
function writeTagCode(write: (rel: string, text: string) => void, hashing: string): void {
    write("lib/stackPlan.ts", 'import { hash } from "./images/contentHash";\nimport YAML from "yaml";\nexport const plan = () => hash(YAML.stringify({}));\n');
    write("lib/images/contentHash.ts", hashing);
    write("lib/unrelated.ts", "export const x = 1;\n");
    write("package-lock.json", JSON.stringify({ packages: { "node_modules/yaml": { version: "2.8.1" }, "node_modules/left-pad": { version: "1.0.0" } } }));
}

describe("the revision explain and graph compare with", function () {
    this.timeout(30_000);

    it("is read as a checkout, not an archive: a context file marked export-ignore is still there at the revision", async () => {
        const { root, commit, write } = repo();
        write(".gitattributes", "docker/nightly/Dockerfile export-subst\ndocker/nightly/*.txt export-ignore\n");
        write("docker/nightly/notes.txt", "kept\n");
        write("docker/nightly/Dockerfile", `${fs.readFileSync(path.join(root, "docker/nightly/Dockerfile"), "utf8")}# $Format:%H$\n`);
        commit("catalog");
        commit("nothing changes");
        const r = await runCli(["explain", "--stack", "ci", "--since", "HEAD~1", "--root", root, "--json"]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout).images, []);
    });

    it("fingerprints the import closure of lib/stackPlan.ts and the locked versions of the packages it imports", () => {
        const { root, write } = repo();
        writeTagCode(write, "export const hash = (s: string) => s;\n");
        const before = tagCodeFingerprint(root);
        assert.deepEqual([...before.keys()].sort(), ["lib/images/contentHash.ts", "lib/stackPlan.ts", "npm:yaml"]);
        write("lib/unrelated.ts", "export const x = 2;\n");
        write("package-lock.json", JSON.stringify({ packages: { "node_modules/yaml": { version: "2.8.1" }, "node_modules/left-pad": { version: "9.9.9" } } }));
        assert.deepEqual(tagCodeDifferences(before, tagCodeFingerprint(root)), []);
        write("package-lock.json", JSON.stringify({ packages: { "node_modules/yaml": { version: "2.9.0" } } }));
        write("lib/images/contentHash.ts", "export const hash = (s: string) => s + s;\n");
        assert.deepEqual(tagCodeDifferences(before, tagCodeFingerprint(root)), ["lib/images/contentHash.ts", "npm:yaml"]);
    });

    it("marks every verdict 'previous tags unknown' in text, JSON and mermaid when the tag code changed since the revision, and not otherwise", async () => {
        const { root, commit, write } = repo();
        writeTagCode(write, "export const hash = (s: string) => s;\n");
        commit("catalog with its code");
        write("lib/unrelated.ts", "export const x = 2;\n");
        commit("unrelated code");
        const quiet = await runCli(["graph", "--stack", "ci", "--since", "HEAD~1", "--root", root, "--format", "json"]);
        assert.equal(quiet.code, 0, quiet.stderr);
        assert.equal(JSON.parse(quiet.stdout).caveat, undefined);

        write("lib/images/contentHash.ts", "export const hash = (s: string) => s + s;\n");
        commit("hashing changed");
        const json = await runCli(["graph", "--stack", "ci", "--since", "HEAD~1", "--root", root, "--format", "json"]);
        assert.equal(json.code, 0, json.stderr);
        const g = JSON.parse(json.stdout) as { caveat: string; nodes: { caveat?: string }[] };
        assert.match(g.caveat, /^the tag code changed since HEAD~1 \(lib\/images\/contentHash\.ts\); previous tags unknown/);
        assert.ok(g.nodes.length > 0 && g.nodes.every((n) => n.caveat === g.caveat));

        const text = await runCli(["explain", "cpu-py3.10", "--stack", "ci", "--since", "HEAD~1", "--root", root]);
        assert.equal(text.code, 0, text.stderr);
        assert.match(text.stdout, /^caveat: the tag code changed since HEAD~1 \(lib\/images\/contentHash\.ts\)/);
        assert.match(text.stdout, /\ncpu-py3\.10: unchanged since HEAD~1 \(.*\) \[previous tag unknown: tag code changed\]\n/);

        const mermaid = await runCli(["graph", "--stack", "ci", "--since", "HEAD~1", "--root", root, "--format", "mermaid"]);
        assert.equal(mermaid.code, 0, mermaid.stderr);
        await parseMermaid(mermaid.stdout);
        assert.match(mermaid.stdout, /\n {4}caveat\["caveat: the tag code changed since HEAD~1/);
        assert.equal((mermaid.stdout.match(/previous tag unknown \(tag code changed\)/g) ?? []).length, g.nodes.length);
    });

    it("graph --from-json redraws a saved json graph without planning again: the same mermaid and dot as a direct run; a bad file is a usage error", async () => {
        const { root, commit, write } = repo();
        commit("catalog");
        write("docker/nightly/extra.txt", "x\n");
        commit("context file");
        const args = ["graph", "--stack", "ci", "--since", "HEAD~1", "--root", root];
        const json = await runCli([...args, "--format", "json"]);
        assert.equal(json.code, 0, json.stderr);
        const saved = path.join(root, "..", `graph-${path.basename(root)}.json`);
        fs.writeFileSync(saved, json.stdout);
        for (const format of ["mermaid", "dot", "json"]) {
            const direct = await runCli([...args, "--format", format]);
            const redrawn = await runCli(["graph", "--stack", "ci", "--root", root, "--from-json", saved, "--format", format]);
            assert.equal(redrawn.code, 0, redrawn.stderr);
            assert.equal(redrawn.stdout, direct.stdout, format);
        }
        fs.writeFileSync(saved, "{}");
        const bad = await runCli(["graph", "--stack", "ci", "--root", root, "--from-json", saved, "--format", "mermaid"]);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--from-json .* is not a graph .*Fix: pass a file written by `ci-images graph --format json`/);
    });

    it("when the tag code changed, runs the revision's own `ci-images tags --json`: the same tags drop the caveat (a refactor), different ones keep it with their count", async () => {
        const realCli = JSON.stringify(path.resolve(__dirname, "..", "cli", "main.ts"));
        // The revision's CLI: this checkout's (so its tags are the ones computed here), or one that moves a tag.
        const sameCli = `export const main = (argv: string[]) => require(${realCli}).main(argv);\n`;
        const movingCli = [
            "export async function main(argv: string[]) {",
            "    let out = \"\";",
            `    const code = await require(${realCli}).main(argv, { out: { write: (s: string) => ((out += s), true) } });`,
            "    const j = JSON.parse(out);",
            "    j.images[0].tag = \"moved\";",
            "    process.stdout.write(JSON.stringify(j));",
            "    return code;",
            "}",
            "",
        ].join("\n");
        for (const [cli, differing] of [[sameCli, undefined], [movingCli, 1]] as const) {
            const { root, commit, write } = repo();
            writeTagCode(write, "export const hash = (s: string) => s;\n");
            write("cli/main.ts", cli);
            commit("catalog with its code and CLI");
            write("lib/images/contentHash.ts", "export const hash = (s: string) => s + s;\n");
            commit("hashing changed");
            const r = await runCli(["graph", "--stack", "ci", "--since", "HEAD~1", "--root", root, "--format", "json"]);
            assert.equal(r.code, 0, r.stderr);
            const caveat = JSON.parse(r.stdout).caveat as string | undefined;
            if (differing === undefined) assert.equal(caveat, undefined, "the revision's own code gives the same tags");
            else assert.match(caveat ?? "", /previous tags unknown \(HEAD~1's own code tags 1 image differently\)/);
        }
    });
});
