import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkCopySources, dockerignoreMatcher, listContextFiles, parseDockerignore } from "../lib/images/dockerContext";
import { compileIgnorePattern, DockerignoreError } from "../lib/images/dockerignorePatterns";
import { COMPILE_TESTS, MATCH_TESTS, MATCHES_TESTS, MULTI_PATTERN_TESTS } from "./patternmatcherTables";

/** The sent files of a context made of `files`, with `ignore` as its .dockerignore. */
function sent(files: string[], ignore: string): string[] {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-ignore-"));
    try {
        for (const f of files) {
            fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
            fs.writeFileSync(path.join(root, f), f);
        }
        fs.writeFileSync(path.join(root, ".dockerignore"), ignore);
        return listContextFiles(root, path.join(root, "Dockerfile"))
            .map((f) => f.path)
            .filter((p) => p !== ".dockerignore");
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

describe("the .dockerignore matcher answers moby/patternmatcher's own test tables", () => {
    it("TestMatches: every single-pattern case (MatchesUsingParentResults with the parents' match info)", () => {
        const wrong = MATCHES_TESTS.filter(([p, text, pass]) => dockerignoreMatcher([p])(text) !== pass);
        assert.deepEqual(wrong, []);
    });

    it("TestMatches: every multi-pattern case", () => {
        const wrong = MULTI_PATTERN_TESTS.filter(([ps, text, pass]) => dockerignoreMatcher(ps)(text) !== pass);
        assert.deepEqual(wrong, []);
    });

    it("TestMatch: every case, and every pattern filepath.Match rejects is an error", () => {
        const wrong = MATCH_TESTS.filter(([p, text, pass, bad]) => {
            try {
                const res = dockerignoreMatcher([p])(text);
                return bad || res !== pass;
            } catch (e) {
                return !(bad && e instanceof DockerignoreError);
            }
        });
        assert.deepEqual(wrong, []);
    });

    it("TestCompile: the match type (exact, prefix, suffix, regexp) and the regexp of each pattern", () => {
        const got = COMPILE_TESTS.map(([p]) => {
            const c = compileIgnorePattern(p)!;
            return [p, c.type, c.regexpText ?? ""];
        });
        assert.deepEqual(got, COMPILE_TESTS);
    });

    it("TestSingleExclamationError, TestMatchesWithMalformedPatterns, TestMatchesOrParentMatchesMalformedPattern: `!`, `[` and `[Local-Only]/` are errors", () => {
        for (const p of ["!", "[", "[Local-Only]/"]) assert.throws(() => dockerignoreMatcher([p]), DockerignoreError, p);
    });
});

describe("the .dockerignore cases where Docker and @balena/dockerignore differ", () => {
    it("escapes `.+()|{}$`: `c++`, `a(b)c`, `a+b` (not `ab`), a torch wheel with `+cu124`", () => {
        const m = dockerignoreMatcher(["c++", "a(b)c", "a+b", "wheels/torch-*+cu124*.whl", "x|y", "{a}", "$z"]);
        for (const p of ["c++", "a(b)c", "a+b", "wheels/torch-2.5.1+cu124-cp312-cp312-linux_x86_64.whl", "x|y", "{a}", "$z"]) assert.equal(m(p), true, p);
        for (const p of ["c", "cc", "abc", "ab", "aab", "x", "y", "a", "z"]) assert.equal(m(p), false, p);
        assert.deepEqual(sent(["wheels/torch-2.5.1+cu124-cp312-linux_x86_64.whl", "wheels/torch-2.5.1+cpu-cp312-linux_x86_64.whl", "wheels/other.whl"], "wheels\n!wheels/torch-*+cu124*.whl\n"), [
            "wheels/torch-2.5.1+cu124-cp312-linux_x86_64.whl",
        ]);
    });

    it("is case-sensitive on every OS", () => {
        const m = dockerignoreMatcher(["cache", "*.MD"]);
        assert.equal(m("cache/x"), true);
        assert.equal(m("Cache/x"), false);
        assert.equal(m("CACHE"), false);
        assert.equal(m("a.md"), false);
        assert.equal(m("a.MD"), true);
    });

    it("reads a leading `**` stuck to text (`**.pyc`) as a suffix match, at any depth", () => {
        const m = dockerignoreMatcher(["**.pyc"]);
        for (const p of ["a.pyc", "x/y/a.pyc", "dir.pyc/f"]) assert.equal(m(p), true, p);
        assert.equal(m("a.py"), false);
        assert.deepEqual(sent(["a.pyc", "pkg/b.pyc", "pkg/b.py"], "**.pyc\n"), ["pkg/b.py"]);
    });

    it("carries each directory's match state to its entries (fsutil): `build**/out` excludes build/a/out/f", () => {
        assert.deepEqual(sent(["build/a/out/f", "build/a/keep", "src/out/g"], "build**/out\n"), ["build/a/keep", "src/out/g"]);
    });

    it("`docs`, `!docs/*.md`, `*`: the re-included markdown stays (the `*` pattern was skipped for docs, so it is not carried)", () => {
        assert.deepEqual(sent(["docs/a.md", "docs/b.txt", "top.txt"], "docs\n!docs/*.md\n*\n"), ["docs/a.md"]);
    });

    it("checks COPY sources with the same escaping and case (`COPY c++/ …` is found, `COPY SRC/` is not `src/`)", () => {
        const v = checkCopySources("FROM x\nCOPY c++/ /c\nCOPY a(b)c /d\nCOPY SRC/ /s\n", ["c++/main.cc", "a(b)c", "src/x"]);
        assert.deepEqual(
            v.map((x) => [x.line, x.source]),
            [[4, "SRC/"]],
        );
    });
});

describe("reading a .dockerignore as ignorefile.ReadAll does", () => {
    it("a line with leading spaces then `#` is a pattern, a line starting with `#` a comment; BOM stripped", () => {
        assert.deepEqual(parseDockerignore("\uFEFF# comment\n  #notes\n /a/b/ \n!  ./c\n"), ["#notes", "a/b", "!c"]);
        assert.deepEqual(sent(["#notes", "keep"], "  #notes\n"), ["keep"]);
    });

    it("a lone `!` or an invalid pattern (`[]`) fails naming the ignore file and line, as Docker fails the build", () => {
        for (const [text, line] of [["a\n!\n", 2], ["a\n\n# c\n[]\n", 4]] as const) {
            const root = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-ignore-"));
            try {
                fs.writeFileSync(path.join(root, ".dockerignore"), text);
                assert.throws(
                    () => listContextFiles(root, path.join(root, "Dockerfile")),
                    (e: Error) => e instanceof DockerignoreError && e.message.startsWith(`${path.join(root, ".dockerignore")}:${line}: `) && /Fix: /.test(e.message),
                );
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
        }
    });
});
