import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { hashContext } from "../../lib/images/contentHash";
import { listContextFiles } from "../../lib/images/dockerContext";
import { execFileSync } from "child_process";
import { build, docker, IntegrationEnv, run, tempDir, useIntegrationEnv } from "./env";

/** A context tree: relative path → file content, `{ link }` for a symlink, `{ exec }` for an executable. */
type Tree = Record<string, string | { link: string } | { exec: string }>;

function writeTree(root: string, tree: Tree): void {
    for (const [rel, entry] of Object.entries(tree)) {
        const abs = path.join(root, rel);
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        if (typeof entry === "string") fs.writeFileSync(abs, entry);
        else if ("link" in entry) fs.symlinkSync(entry.link, abs);
        else fs.writeFileSync(abs, entry.exec, { mode: 0o755 });
    }
}

/**
 * A Docker client whose context sender uses today's moby/patternmatcher (escaping of `.+()|{}$`, the
 * exact/prefix/suffix match types, MatchesUsingParentResults): `$MLCI_TEST_DOCKER_CURRENT`, else a
 * `docker` on PATH of version 23 or later. The suite's engine client (Debian's docker.io 20.10) predates
 * them: its sender fails `c++` ("syntax error in pattern") and reads `**.pyc` as a regexp. The client
 * applies .dockerignore (BuildKit's fsutil sender, or the classic builder's tar), so the client decides.
 */
function currentClient(env: IntegrationEnv): string | undefined {
    const candidates = [process.env.MLCI_TEST_DOCKER_CURRENT, "/usr/local/bin/docker", "/usr/bin/docker", "docker"].filter((c): c is string => !!c);
    for (const c of candidates) {
        try {
            const v = execFileSync(c, ["version", "--format", "{{.Client.Version}}"], { env: env.processEnv, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
            if (Number(v.split(".")[0]) >= 23) return c;
        } catch {
            // not there, or not a docker client
        }
    }
    return undefined;
}

/** Each case also names a few paths Docker's documented rules send or drop, so both sides cannot agree on a wrong answer. */
const CASES: { title: string; dockerfile: string; tree: Tree; sends: string[]; drops: string[]; currentClient?: boolean }[] = [
    {
        title: "include, exclude and ! re-include patterns in .dockerignore",
        dockerfile: "Dockerfile",
        tree: {
            ".dockerignore": ["# root-anchored: *.log matches a.log only, not logs/x.log", "*.log", "!logs/keep.log", "logs/drop*", "**/*.pyc", "!src/deep/wanted.pyc", "build", "!build/out/keep", "node_modules/", "docs/draft-*", ".git", ""].join("\n"),
            "a.txt": "a",
            "a.log": "root log",
            "logs/x.log": "nested log, not matched by *.log",
            "logs/keep.log": "kept",
            "logs/drop-me.txt": "dropped",
            "src/m.py": "print(1)",
            "src/m.pyc": "bytecode",
            "src/deep/n.pyc": "bytecode",
            "src/deep/wanted.pyc": "re-included",
            "src/deep/n.py": "print(2)",
            "build/out/o.bin": "artifact",
            "build/out/keep/k.txt": "re-included dir",
            "build/top.txt": "excluded",
            "node_modules/p/index.js": "x",
            "docs/draft-1.md": "draft",
            "docs/final.md": "final",
            ".git/HEAD": "ref: refs/heads/main",
            "run.sh": { exec: "#!/bin/sh\necho hi\n" },
            "link-to-a": { link: "a.txt" },
            "link-to-src": { link: "src" },
        },
        sends: ["logs/x.log", "logs/keep.log", "src/deep/wanted.pyc", "build/out/keep/k.txt", "docs/final.md", "link-to-src", "run.sh", ".dockerignore"],
        drops: ["a.log", "logs/drop-me.txt", "src/m.pyc", "build/top.txt", "build/out/o.bin", "node_modules/p/index.js", "docs/draft-1.md", ".git/HEAD"],
    },
    {
        title: "exclude everything, then re-include a directory minus a pattern, plus one file back",
        dockerfile: "Dockerfile",
        tree: {
            ".dockerignore": ["*", "!src", "src/**/*.pyc", "!src/keep/*.pyc", "!requirements.txt", ""].join("\n"),
            "requirements.txt": "torch",
            "setup.py": "excluded",
            "src/a.py": "a",
            "src/a.pyc": "excluded",
            "src/keep/b.pyc": "re-included",
            "src/x/y/z.pyc": "excluded",
            "src/x/y/z.py": "z",
            "other/c.py": "excluded",
        },
        sends: ["requirements.txt", "src/a.py", "src/keep/b.pyc", "src/x/y/z.py"],
        drops: ["setup.py", "src/a.pyc", "src/x/y/z.pyc", "other/c.py", ".dockerignore", "Dockerfile"],
    },
    {
        title: "<Dockerfile>.dockerignore wins over .dockerignore",
        dockerfile: "ci.Dockerfile",
        tree: {
            ".dockerignore": "*.md\n",
            "ci.Dockerfile.dockerignore": "*.txt\n!keep.txt\nsecret/\n",
            "README.md": "sent: only the Dockerfile-specific ignore file applies",
            "notes.txt": "excluded",
            "keep.txt": "re-included",
            "secret/key": "excluded",
            "lib/mod.py": "m",
        },
        sends: ["README.md", "keep.txt", "lib/mod.py", "ci.Dockerfile"],
        drops: ["notes.txt", "secret/key"],
    },
    {
        currentClient: true,
        title: "case-sensitive matching (Docker matches case-sensitively on every OS)",
        dockerfile: "Dockerfile",
        tree: {
            ".dockerignore": "cache\n*.MD\n",
            "cache/x.bin": "excluded",
            "Cache/y.bin": "sent: `cache` does not match `Cache`",
            "CACHE": "sent",
            "notes.md": "sent: `*.MD` does not match `.md`",
            "NOTES.MD": "excluded",
        },
        sends: ["Cache/y.bin", "CACHE", "notes.md"],
        drops: ["cache/x.bin", "NOTES.MD"],
    },
    {
        currentClient: true,
        title: "regexp characters `.+()|{}$` are literal (c++, a(b)c, a+b, a torch wheel with +cu124)",
        dockerfile: "Dockerfile",
        tree: {
            ".dockerignore": ["c++", "a(b)c", "a+b", "x|y", "{z}", "$d", "wheels", "!wheels/torch-*+cu124*.whl", ""].join("\n"),
            "c++/main.cc": "excluded",
            "cc/main.cc": "sent: `c++` is not the regexp c+",
            "a(b)c": "excluded",
            "abc": "sent: the parentheses are not a group",
            "a+b": "excluded",
            "ab": "sent: `a+b` is not the regexp a+b",
            "aab": "sent",
            "x|y": "excluded",
            "x": "sent: `|` is not an alternation",
            "{z}": "excluded",
            "$d": "excluded",
            "d": "sent",
            "wheels/torch-2.5.1+cu124-cp312-cp312-linux_x86_64.whl": "re-included",
            "wheels/torch-2.5.1+cpu-cp312-cp312-linux_x86_64.whl": "excluded",
        },
        sends: ["cc/main.cc", "abc", "ab", "aab", "x", "d", "wheels/torch-2.5.1+cu124-cp312-cp312-linux_x86_64.whl"],
        drops: ["c++/main.cc", "a(b)c", "a+b", "x|y", "{z}", "$d", "wheels/torch-2.5.1+cpu-cp312-cp312-linux_x86_64.whl"],
    },
    {
        currentClient: true,
        title: "a leading `**` stuck to text (`**.pyc`) is a suffix match at any depth",
        dockerfile: "Dockerfile",
        tree: {
            ".dockerignore": "**.pyc\n",
            "a.pyc": "excluded",
            "pkg/deep/b.pyc": "excluded",
            "pkg/deep/b.py": "sent",
            "x.pyc.txt": "sent",
        },
        sends: ["pkg/deep/b.py", "x.pyc.txt"],
        drops: ["a.pyc", "pkg/deep/b.pyc"],
    },
    {
        currentClient: true,
        title: "parent-directory match state carried down (fsutil): `build**/out`, and `docs`, `!docs/*.md`, `*`",
        dockerfile: "Dockerfile",
        tree: {
            ".dockerignore": "docs\n!docs/*.md\n*\n!build\n!Dockerfile\nbuild**/out\n",
            "build/a/out/f": "excluded: build/a/out matches build**/out",
            "build/a/keep": "sent",
            "docs/a.md": "sent: `*` was skipped for docs (already excluded), so it is not carried to docs/a.md",
            "docs/b.txt": "excluded",
            "top.txt": "excluded",
        },
        sends: ["build/a/keep", "docs/a.md", "Dockerfile"],
        drops: ["build/a/out/f", "docs/b.txt", "top.txt"],
    },
];

describe("integration: the files Docker sends are exactly the files the content hash covers", function () {
    this.timeout(10 * 60_000);
    const getEnv = useIntegrationEnv();
    const dirs: string[] = [];
    after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

    CASES.forEach((c, i) => {
        it(c.title, async function () {
            const env = getEnv();
            const ctx = tempDir("context");
            dirs.push(ctx);
            writeTree(ctx, c.tree);
            const dockerfilePath = path.join(ctx, c.dockerfile);
            fs.writeFileSync(dockerfilePath, `FROM ${env.busyboxImage}\nCOPY . /ctx\n`);
            const tag = `mlci-it/context-${env.namespace}:${i}`;
            if (c.currentClient) {
                const client = currentClient(env);
                if (client === undefined) return this.skip(); // no Docker client ≥ 23 on this machine: the engine's 20.10 client predates these rules
                // Classic builder: this client tars the context with today's patternmatcher (no buildx plugin needed).
                run(env, client, ["build", "--network", "host", "-t", tag, "-f", dockerfilePath, ctx], { timeoutMs: 600_000, extraEnv: { DOCKER_BUILDKIT: "0" } });
            } else build(env, { context: ctx, dockerfile: dockerfilePath, tag });
            const inImage = (predicate: string) =>
                docker(env, ["run", "--rm", "--network", "none", tag, "sh", "-c", `cd /ctx && find . ${predicate} | sed 's|^\\./||' | sort`])
                    .split("\n")
                    .filter(Boolean);
            const sent = inImage("\\( -type f -o -type l \\)");
            const { entries } = await hashContext(listContextFiles(ctx, dockerfilePath));
            assert.deepEqual(sent, entries.map((e) => e.path).sort());
            for (const p of c.sends) assert.ok(sent.includes(p), `Docker should send ${p}; sent: ${sent.join(", ")}`);
            for (const p of c.drops) assert.ok(!sent.includes(p), `Docker should not send ${p}`);
            assert.deepEqual(inImage("-type l"), entries.filter((e) => e.mode === "l").map((e) => e.path).sort(), "symlinks are sent as links and hashed as links");
            assert.deepEqual(inImage("-type f -perm -100"), entries.filter((e) => e.mode === "x").map((e) => e.path).sort(), "the executable bit is sent and hashed");
            docker(env, ["rmi", tag]);
        });
    });
});
