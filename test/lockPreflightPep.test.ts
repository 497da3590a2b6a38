import { strict as assert } from "assert";
import { lockPreflight, parseLock } from "../lib/images/lockPreflight";
import { canonicalVersion, requiresPythonAllows, versionsEqual } from "../lib/images/pep440";
import { markerEnvironment, PythonEnvironment, wheelFits } from "../lib/images/pythonTags";
import { catalog, DOCKERFILES, Fixture, FixturePackageFile, fixtureFetch } from "./preflightFixture";

const ORIGIN = "http://pypi.fixture";
const env = (python: string, pythonFull?: string): PythonEnvironment => ({ python, pythonFull, machine: "x86_64", libc: { kind: "glibc", major: 2, minor: 39 } });

describe("PEP 440 versions and Requires-Python (pep440)", () => {
    it("== compares canonical versions: zero padding, case and alternative spellings", () => {
        assert.ok(versionsEqual("1.0", "1.0.0"));
        assert.ok(versionsEqual("2.3.0RC1", "2.3rc1"));
        assert.ok(versionsEqual("1.0-1", "1.0.post1"));
        assert.ok(!versionsEqual("1.0", "1.0.1"));
        assert.equal(canonicalVersion("v1.2.0.dev3"), "1.2.dev3");
    });
    it("Requires-Python specifier sets against a full CPython version", () => {
        assert.ok(requiresPythonAllows(">=3.9", "3.13.0"));
        assert.ok(!requiresPythonAllows(">=3.8,<3.13", "3.13.0"));
        assert.ok(requiresPythonAllows(">=3.8,<3.13", "3.12.7"));
        assert.ok(!requiresPythonAllows("!=3.13.*,>=3.9", "3.13.1"));
        assert.ok(requiresPythonAllows("~=3.10", "3.13.0"));
        assert.ok(!requiresPythonAllows("~=3.10.2", "3.11.0"));
        assert.ok(!requiresPythonAllows(">=3.12.1", "3.12.0"));
        assert.throws(() => requiresPythonAllows(">=three", "3.12.0"), /cannot read the Requires-Python clause/);
    });
});

describe("PEP 425 tag triples and python_full_version (pythonTags)", () => {
    it("a triple is judged whole: cp313-cp313-any and cp313-abi3-any fit nothing; cp313-none-any and py3-none-any do", () => {
        assert.ok(!wheelFits("x-1.0-cp313-cp313-any.whl", env("3.13")));
        assert.ok(!wheelFits("x-1.0-cp313-abi3-any.whl", env("3.13")));
        assert.ok(wheelFits("x-1.0-cp313-none-any.whl", env("3.13")));
        assert.ok(wheelFits("x-1.0-py3-none-any.whl", env("3.13")));
        // compressed sets still combine per triple: cp313-cp313 with a manylinux platform fits
        assert.ok(wheelFits("x-1.0-cp313-cp313.none-any.manylinux_2_28_x86_64.whl", env("3.13")));
    });
    it("python_full_version is the cell's real patch when known, X.Y.0 otherwise", () => {
        assert.equal(markerEnvironment(env("3.12", "3.12.11")).python_full_version, "3.12.11");
        assert.equal(markerEnvironment(env("3.12")).python_full_version, "3.12.0");
    });
});

describe("full-lock preflight: requires-python, yanked, unparsed lines, version normalisation", () => {
    // base is the root whose FROM gives the C library; only stable has a lock here.
    const images = catalog(["13.2.1"], ["3.12", "3.13"]).filter((i) => i.family === "stable" || i.family === "base");
    const run = (packages: Record<string, FixturePackageFile[]>, lockText: string) => {
        const f: Fixture = { index: {}, tags: [], log: [], packages };
        return lockPreflight({
            images,
            dockerfiles: DOCKERFILES,
            locks: Object.fromEntries(images.filter((i) => i.family === "stable").map((i) => [i.name, { path: `docker/stable/requirements-py${i.cell.python}.lock`, text: lockText }])),
            fetch: fixtureFetch(f, ORIGIN),
            indexUrl: `${ORIGIN}/simple`,
        });
    };
    it("a file whose requires-python excludes the cell is no candidate: a py3-none-any wheel for <3.13 fails the 3.13 cell only", async () => {
        const r = await run({ oldpkg: [{ filename: "oldpkg-1.0-py3-none-any.whl", requiresPython: ">=3.8,<3.13" }] }, "oldpkg==1.0\n");
        assert.deepEqual(r.problems.map((p) => p.image), ["stable-cuda13.2-py3.13"]);
        assert.match(r.problems[0].message, /^cell cuda13\.2-py3\.13 \(stable-cuda13\.2-py3\.13\), linux\/amd64: oldpkg==1\.0 \(docker\/stable\/requirements-py3\.13\.lock:1\): every file of 1\.0 requires Python >=3\.8,<3\.13, not 3\.13\.0/);
    });
    it("a requires-python the preflight cannot read keeps the file a candidate, as pip and uv ignore it", async () => {
        const r = await run({ odd: [{ filename: "odd-1.0-py3-none-any.whl", requiresPython: "3.8 or later" }] }, "odd==1.0\n");
        assert.deepEqual(r.problems, []);
    });
    it("an exact pin of a yanked release is a note with the index's reason, not a failure", async () => {
        const r = await run({ bad: [{ filename: "bad-2.0-py3-none-any.whl", yanked: "broken metadata" }] }, "bad==2.0\n");
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.yanked, [
            { image: "stable-cuda13.2-py3.12", pin: "bad==2.0", lock: "docker/stable/requirements-py3.12.lock:1", reason: "broken metadata" },
            { image: "stable-cuda13.2-py3.13", pin: "bad==2.0", lock: "docker/stable/requirements-py3.13.lock:1", reason: "broken metadata" },
        ]);
    });
    it("a lock pin ==1.0 resolves to the index's 1.0.0 files (PEP 440 zero padding)", async () => {
        const r = await run({ pad: [{ filename: "pad-1.0.0-py3-none-any.whl" }] }, "pad==1.0\n");
        assert.deepEqual(r.problems, []);
        assert.equal(r.checked, 2);
    });
    it("name @ url, a range and --hash continuation lines are problems naming the lock line, once per lock", async () => {
        const lock = "ok==1.0\nfoo @ https://example.com/foo-1.0.tar.gz\nbar>=2\nbaz==3.0 \\\n    --hash=sha256:" + "a".repeat(64) + "\n";
        const r = await run({ ok: [{ filename: "ok-1.0-py3-none-any.whl" }] }, lock);
        const messages = r.problems.map((p) => p.message);
        assert.equal(messages.length, 2 * 4, messages.join("\n"));
        assert.ok(messages.includes('docker/stable/requirements-py3.12.lock:2: "foo @ https://example.com/foo-1.0.tar.gz" is a direct reference (`name @ url`), not an index pin, so check --online cannot resolve it'));
        assert.ok(messages.includes('docker/stable/requirements-py3.12.lock:3: "bar>=2" is not an exact pin (`name==version`), so check --online cannot resolve it'));
        assert.ok(messages.some((m) => m.startsWith('docker/stable/requirements-py3.13.lock:4: "baz==3.0 \\" is a continued line')));
        assert.ok(messages.some((m) => m.startsWith("docker/stable/requirements-py3.13.lock:5: \"--hash=sha256:")));
        assert.deepEqual(parseLock(lock).pins.map((p) => p.name), ["ok"]);
    });
});
