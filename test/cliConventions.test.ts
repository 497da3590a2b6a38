/**
 * The CLI conventions of issue #18, tested as CI uses them: subprocesses of the built CLI
 * (bin/ci-images.js → dist/), with an environment that cannot see the developer's Pulumi
 * workspace or caches.
 */
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COMMANDS } from "../cli/commandSpecs";
import { CLI_BIN, ensureBuiltCli, PROJECT_ROOT } from "./builtCli";
import { cliFixtureProject, isolatedEnv } from "./cliContext";

interface Result {
    code: number;
    stdout: string;
    stderr: string;
}

function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Result {
    const r = spawnSync(process.execPath, [CLI_BIN, ...args], { cwd: opts.cwd ?? PROJECT_ROOT, env: opts.env ?? isolatedEnv(), encoding: "utf8" });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A stack trace line, as Node prints them (`    at fn (file:line:col)`). */
const STACK_TRACE = /^\s+at .+:\d+:\d+\)?$/m;

function gitRepo(root: string): (...args: string[]) => string {
    const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
    return (...args) => execFileSync("git", args, { cwd: root, encoding: "utf8", env });
}

describe("ci-images conventions (built CLI, subprocesses)", function () {
    this.timeout(120_000);
    before(() => ensureBuiltCli());

    it("--help and -h print the global usage on stdout and exit 0; no arguments is a usage error on stderr", () => {
        for (const flag of ["--help", "-h"]) {
            const r = cli([flag]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, "");
            assert.match(r.stdout, /^usage: ci-images <command>/);
            for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} +\\S`, "m"), `${c.name} is listed`);
        }
        const none = cli([]);
        assert.equal(none.code, 2);
        assert.equal(none.stdout, "");
        assert.match(none.stderr, /^usage: ci-images/);
    });

    it("every command has its own help (--help, -h, `help <command>`), naming its flags and exit codes", () => {
        for (const c of COMMANDS) {
            const long = cli([c.name, "--help"]);
            assert.equal(long.code, 0, `${c.name} --help: ${long.stderr}`);
            assert.match(long.stdout, new RegExp(`^usage: ci-images ${c.name}\\b`), c.name);
            assert.match(long.stdout, /Exit codes[^:]*: 0 /, `${c.name} documents its exit codes`);
            for (const flag of Object.keys(c.flags)) assert.match(long.stdout, new RegExp(`--${flag}\\b`), `${c.name} --help names --${flag}`);
            assert.equal(cli([c.name, "-h"]).stdout, long.stdout, `${c.name} -h`);
        }
        assert.equal(cli(["help", "wait"]).stdout, cli(["wait", "--help"]).stdout);
        assert.notEqual(cli(["tags", "--help"]).stdout, cli(["--help"]).stdout);
        // Help needs no stack and no project: it works anywhere.
        assert.equal(cli(["publish", "--help"], { cwd: os.tmpdir() }).code, 0);
    });

    it("--version prints the package version and the tag scheme", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"));
        const { TAG_SCHEME_VERSION } = require("../lib/images/tags");
        const r = cli(["--version"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `ci-images ${pkg.version} (tag scheme v${TAG_SCHEME_VERSION})\n`);
        assert.deepEqual(JSON.parse(cli(["--version", "--json"]).stdout), { version: pkg.version, tagScheme: TAG_SCHEME_VERSION });
    });

    it("an unknown flag exits 2 and suggests the nearest flag of that command; nothing is answered", () => {
        const root = cliFixtureProject();
        const r = cli(["tags", "--stak", "ci"], { cwd: root });
        assert.equal(r.code, 2);
        assert.equal(r.stdout, "", "no answer for some other stack");
        assert.match(r.stderr, /^ci-images tags: unknown flag --stak\. Did you mean --stack\?$/m);
        assert.match(r.stderr, /Run 'ci-images tags --help' for usage/);
        assert.match(cli(["wait", "x", "--stack", "ci", "--timout", "5m"], { cwd: root }).stderr, /unknown flag --timout\. Did you mean --timeout\?/);
        assert.match(cli(["check", "--onlin"], { cwd: root }).stderr, /Did you mean --online\?/);
        assert.match(cli(["tag", "--stack", "ci"], { cwd: root }).stderr, /unknown command "tag"\. Did you mean tags\?/);
        assert.match(cli(["tags", "--stack"], { cwd: root }).stderr, /--stack needs a value/);
        assert.match(cli(["tags", "--json=yes", "--stack", "ci"], { cwd: root }).stderr, /--json takes no value/);
    });

    it("--stack comes from the flag, else PULUMI_STACK, else the Pulumi workspace, and never silently defaults to local", () => {
        const root = cliFixtureProject();
        fs.writeFileSync(path.join(root, "Pulumi.local.yaml"), fs.readFileSync(path.join(root, "Pulumi.ci.yaml"), "utf8").replace("ml-ci", "other-prefix"));
        const none = cli(["tags"], { cwd: root });
        assert.equal(none.code, 2);
        assert.equal(none.stdout, "");
        assert.match(none.stderr, /tags needs a stack: pass --stack <stack> \(ci, local\), set PULUMI_STACK, or select one with `pulumi stack select`/);

        const byFlag = cli(["tags", "--stack", "ci", "--json"], { cwd: root });
        const byEnv = cli(["tags", "--json"], { cwd: root, env: isolatedEnv({ PULUMI_STACK: "ci" }) });
        assert.equal(byEnv.code, 0, byEnv.stderr);
        assert.equal(byEnv.stdout, byFlag.stdout);
        assert.equal(JSON.parse(byFlag.stdout).images[0].repository.split("/")[0], "ml-ci");

        // `pulumi stack select local` writes $PULUMI_HOME/workspaces/<project>-<sha1(Pulumi.yaml path)>-workspace.json.
        const env = isolatedEnv({ PULUMI_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-home-")) });
        const sha1 = createHash("sha1").update(path.join(root, "Pulumi.yaml")).digest("hex");
        fs.mkdirSync(path.join(env.PULUMI_HOME!, "workspaces"));
        fs.writeFileSync(path.join(env.PULUMI_HOME!, "workspaces", `fixture-${sha1}-workspace.json`), JSON.stringify({ stack: "acme/fixture/local" }));
        const byWorkspace = cli(["tags", "--json"], { cwd: path.join(root, "docker"), env });
        assert.equal(byWorkspace.code, 0, byWorkspace.stderr);
        assert.equal(JSON.parse(byWorkspace.stdout).images[0].repository.split("/")[0], "other-prefix");
        // The flag wins over both.
        assert.equal(cli(["tags", "--json", "--stack", "ci"], { cwd: root, env: { ...env, PULUMI_STACK: "local" } }).stdout, byFlag.stdout);
    });

    it("--json works on every command: data, or {error} with the exit code, on stdout", () => {
        const root = cliFixtureProject();
        const json = (args: string[], code: number) => {
            const r = cli([...args, "--json"], { cwd: root, env: isolatedEnv({ PULUMI_STACK: "ci" }) });
            assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
            assert.doesNotMatch(r.stderr, STACK_TRACE, `${args.join(" ")} prints no stack trace`);
            return JSON.parse(r.stdout);
        };
        assert.ok(json(["tags"], 0).images.length > 0);
        assert.deepEqual(Object.keys(json(["check"], 0)).slice(0, 3), ["stack", "valid", "images"]);
        assert.ok(Array.isArray(json(["storage"], 0).repositories));
        assert.match(json(["uri", "x", "--from", "missing.json"], 1).error.message, /cannot read missing\.json: no such file/);
        assert.match(json(["changed"], 2).error.message, /changed needs --since/);
        assert.match(json(["retag", "not-a-ref", "t"], 2).error.message, /is not <registry-host>\/<repository>@sha256/);
        assert.match(json(["scan-gate", "nope"], 2).error.message, /is not an ECR image digest reference/);
        assert.match(json(["wait"], 2).error.message, /wait needs <image>/);
        assert.match(json(["tags", "--stak", "x"], 2).error.message, /Did you mean --stack/);
        const config = json(["tags", "--stack", "nosuch"], 1).error;
        assert.match(config.message, /no stack file Pulumi\.nosuch\.yaml/);
        assert.equal(config.problems[0].path, "(stack)");
        // Every command accepts --json (the parser knows it for all of them).
        for (const c of COMMANDS) assert.doesNotMatch(cli([c.name, "--json", "--help"]).stderr, /unknown flag/);
    });

    it("expected errors print one message and no stack trace: missing outputs file, bad revision, no project", () => {
        const root = cliFixtureProject();
        const missing = cli(["uri", "nightly-cuda12.4-py3.11", "--from", "missing.json"], { cwd: root });
        assert.equal(missing.code, 1);
        assert.equal(missing.stderr, "ci-images uri: cannot read missing.json: no such file. Fix: save the outputs first: pulumi stack output --json --stack <stack> > missing.json\n");

        const git = gitRepo(root);
        git("init", "-q");
        git("add", "-A");
        git("commit", "-qm", "one");
        const bad = cli(["changed", "--stack", "ci", "--since", "no-such-ref"], { cwd: root });
        assert.equal(bad.code, 2);
        assert.doesNotMatch(bad.stderr, STACK_TRACE);
        assert.equal(bad.stderr.match(/unknown git revision/g)?.length, 1, "the git error is reported once");
        assert.match(bad.stderr, /unknown git revision "no-such-ref"\. Fix: pass a commit, branch or tag this clone has/);

        const outside = cli(["tags", "--stack", "ci"], { cwd: os.tmpdir() });
        assert.equal(outside.code, 1);
        assert.match(outside.stderr, /no Pulumi\.yaml in .* or above\. Fix: run ci-images inside the ml-ci-images checkout, or pass --root <dir>/);
        assert.doesNotMatch(outside.stderr, STACK_TRACE);
    });

    it("changed in a depth-1 clone says to fetch the history (fetch-depth: 0)", () => {
        const origin = cliFixtureProject();
        const git = gitRepo(origin);
        git("init", "-q");
        git("add", "-A");
        git("commit", "-qm", "one");
        fs.appendFileSync(path.join(origin, "docker/nightly/requirements.txt"), "hypothesis\n");
        git("commit", "-qam", "two");
        const shallow = fs.mkdtempSync(path.join(os.tmpdir(), "shallow-"));
        execFileSync("git", ["clone", "-q", "--depth", "1", `file://${origin}`, shallow]);
        const r = cli(["changed", "--stack", "ci", "--since", "HEAD~1"], { cwd: shallow });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /unknown git revision "HEAD~1": this checkout is shallow .*Fix: set `fetch-depth: 0` on actions\/checkout/);
        assert.doesNotMatch(r.stderr, STACK_TRACE);
        // With the history, the same question has an answer: the nightly family changed (exit 1).
        const full = cli(["changed", "--stack", "ci", "--since", "HEAD~1"], { cwd: origin });
        assert.equal(full.code, 1, full.stderr);
        assert.match(full.stdout, /^nightly-cuda12\.4-py3\.11 {2}\S+ -> \S+$/m);
    });

    it("the hash cache lives in XDG_CACHE_HOME, never in the checkout, and an unwritable cache is only a warning", async () => {
        const root = cliFixtureProject();
        // Files changed in the last 2 s are never cached (racy edits): let the fixture age past that.
        await new Promise((resolve) => setTimeout(resolve, 2100));
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), "xdg-"));
        const ok = cli(["tags", "--stack", "ci", "--json"], { cwd: root, env: isolatedEnv({ XDG_CACHE_HOME: cache }) });
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(ok.stderr, "");
        const files = fs.readdirSync(path.join(cache, "ml-ci-images"));
        assert.equal(files.length, 1);
        assert.match(files[0], /^file-hashes-[0-9a-f]{16}\.json$/);
        assert.ok(JSON.parse(fs.readFileSync(path.join(cache, "ml-ci-images", files[0]), "utf8")).entries.length > 0, "file hashes were cached");
        assert.ok(!fs.existsSync(path.join(root, ".cache")), "nothing is written into the checkout");

        // A cache directory that cannot exist (below a regular file) fails even for root, as a read-only home does.
        const blocker = path.join(cache, "not-a-dir");
        fs.writeFileSync(blocker, "");
        const ro = cli(["tags", "--stack", "ci", "--json"], { cwd: root, env: isolatedEnv({ XDG_CACHE_HOME: blocker }) });
        assert.equal(ro.code, 0, ro.stderr);
        assert.deepEqual(JSON.parse(ro.stdout), JSON.parse(ok.stdout), "the same tags without a cache");
        assert.match(ro.stderr, /^ci-images: warning: hash cache not saved \(.*\); tags are unaffected.*Fix: set XDG_CACHE_HOME to a writable directory$/m);
    });
});
