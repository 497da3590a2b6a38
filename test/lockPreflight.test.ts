import { strict as assert } from "assert";
import { buildSystemRequires, lockPreflight, parseLockPins, sdistBuildRequires } from "../lib/images/lockPreflight";
import { evaluateMarker, interpreterTagFits, markerEnvironment, platformTagFits, PythonEnvironment, wheelFits } from "../lib/images/pythonTags";
import { catalog, DOCKERFILES, Fixture, fixtureFetch, labmazeFiles, sdistArchive } from "./preflightFixture";

const ORIGIN = "http://pypi.fixture";
const glibc = (minor: number): PythonEnvironment["libc"] => ({ kind: "glibc", major: 2, minor });
const env = (python: string, machine = "x86_64", libc = glibc(39)): PythonEnvironment => ({ python, machine, libc });

describe("PEP 425 tags of a cell (pythonTags)", () => {
    it("cpXY, abi3 from cp32 up to the cell's minor, py3/py3Y with none; never another CPython or a free-threaded ABI", () => {
        const e = env("3.13");
        assert.ok(interpreterTagFits("cp313", "cp313", e));
        assert.ok(!interpreterTagFits("cp312", "cp312", e));
        assert.ok(!interpreterTagFits("cp313", "cp313t", e));
        assert.ok(interpreterTagFits("cp39", "abi3", e));
        assert.ok(!interpreterTagFits("cp314", "abi3", e));
        assert.ok(interpreterTagFits("py3", "none", e));
        assert.ok(interpreterTagFits("py313", "none", e) && !interpreterTagFits("py314", "none", e));
        assert.ok(!interpreterTagFits("py2", "none", e));
    });
    it("manylinux_2_N up to the image's glibc, the legacy aliases at their glibc (manylinux1 = 2.5, 2010 = 2.12, 2014 = 2.17), musllinux only on musl, the machine must match", () => {
        const ubuntu = env("3.12", "x86_64", glibc(39));
        const old = env("3.12", "x86_64", glibc(12));
        assert.ok(platformTagFits("manylinux_2_39_x86_64", ubuntu) && !platformTagFits("manylinux_2_40_x86_64", ubuntu));
        assert.ok(platformTagFits("manylinux1_x86_64", old) && platformTagFits("manylinux2010_x86_64", old) && !platformTagFits("manylinux2014_x86_64", old));
        assert.ok(platformTagFits("manylinux2014_x86_64", ubuntu));
        assert.ok(!platformTagFits("manylinux_2_17_aarch64", ubuntu));
        assert.ok(platformTagFits("manylinux_2_17_aarch64", env("3.12", "aarch64")));
        assert.ok(!platformTagFits("musllinux_1_2_x86_64", ubuntu));
        assert.ok(platformTagFits("musllinux_1_1_x86_64", env("3.12", "x86_64", { kind: "musl", major: 1, minor: 2 })));
        assert.ok(!platformTagFits("macosx_11_0_arm64", ubuntu) && !platformTagFits("win_amd64", ubuntu));
    });
    it("a wheel fits when some tag triple does (compressed tag sets)", () => {
        assert.ok(wheelFits("labmaze-1.0.6-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", env("3.12")));
        assert.ok(!wheelFits("labmaze-1.0.6-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", env("3.13")));
        assert.ok(wheelFits("six-1.17.0-py2.py3-none-any.whl", env("3.13", "aarch64")));
        assert.ok(wheelFits("orjson-3.13.0-cp311-abi3-manylinux_2_28_aarch64.whl", env("3.13", "aarch64")));
    });
});

describe("PEP 508 markers (pythonTags)", () => {
    const on = (python: string, machine = "x86_64") => markerEnvironment(env(python, machine));
    it("python_version compares as a version, not a string (3.9 < 3.13)", () => {
        assert.equal(evaluateMarker('python_version < "3.13"', on("3.12")), true);
        assert.equal(evaluateMarker('python_version < "3.13"', on("3.13")), false);
        assert.equal(evaluateMarker('python_version >= "3.9"', on("3.13")), true);
    });
    it("and/or/parentheses, platform_machine, in", () => {
        assert.equal(evaluateMarker('python_version < "3.13" and platform_machine == "x86_64"', on("3.12", "aarch64")), false);
        assert.equal(evaluateMarker('(python_version < "3.13" or platform_machine == "aarch64") and sys_platform == "linux"', on("3.13", "aarch64")), true);
        assert.equal(evaluateMarker("platform_machine in 'x86_64 aarch64'", on("3.12")), true);
    });
    it("a syntax error or unknown variable throws (reported, never silently true)", () => {
        assert.throws(() => evaluateMarker('python_version <', on("3.12")));
        assert.throws(() => evaluateMarker('pyton_version < "3"', on("3.12")), /unknown marker variable pyton_version/);
    });
});

describe("lock files and sdists (lockPreflight)", () => {
    it("parses exact pins with extras, markers and line numbers; skips comments and options", () => {
        const pins = parseLockPins('# header\n--index-url https://x\npybind11[global]==3.1.0\ndm-control==1.0.44 ; python_version < "3.13"\nfoo>=1\n');
        assert.deepEqual(pins, [
            { name: "pybind11", written: "pybind11", version: "3.1.0", marker: undefined, line: 3 },
            { name: "dm-control", written: "dm-control", version: "1.0.44", marker: 'python_version < "3.13"', line: 4 },
        ]);
    });
    it("reads [build-system] requires from the sdist's pyproject.toml, and PEP 517's default without one", () => {
        assert.deepEqual(sdistBuildRequires(sdistArchive("x-1.0.tar.gz", '[project]\nname = "x"\n[build-system]\nrequires = [\n  "scikit-build-core>=0.10",\n  "pybind11",\n]\nbuild-backend = "scikit_build_core.build"\n')), ["scikit-build-core>=0.10", "pybind11"]);
        assert.deepEqual(sdistBuildRequires(sdistArchive("labmaze-1.0.6.tar.gz")), ["setuptools>=40.8.0", "wheel"]);
        assert.deepEqual(buildSystemRequires("[tool.x]\na = 1\n"), ["setuptools>=40.8.0", "wheel"]);
    });
});

describe("full-lock preflight against an in-process PEP 691 index", () => {
    const images = catalog(["13.2.1"], ["3.12", "3.13"]).filter((i) => i.family === "stable" || i.family === "base" || i.family === "cpu");
    const LOCK = "docker/stable/requirements-py3.13.lock";
    const fixture = (): Fixture => ({
        index: {},
        tags: [],
        log: [],
        packages: {
            numpy: [{ filename: "numpy-2.3.5-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl" }, { filename: "numpy-2.3.5-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl" }, { filename: "numpy-2.3.5-cp313-cp313-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl" }, { filename: "numpy-2.3.5-cp312-cp312-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl" }, { filename: "numpy-2.3.5.tar.gz" }],
            "dm-control": [{ filename: "dm_control-1.0.44-py3-none-any.whl" }],
            labmaze: labmazeFiles(),
            "antlr4-python3-runtime": [{ filename: "antlr4-python3-runtime-4.9.3.tar.gz", pyproject: '[build-system]\nrequires = ["setuptools"]\n' }],
        },
    });
    const run = (f: Fixture, lockText: string) =>
        lockPreflight({
            images,
            dockerfiles: DOCKERFILES,
            locks: Object.fromEntries(images.filter((i) => i.family !== "base").map((i) => [i.name, { path: LOCK.replace("3.13", i.cell.python).replace("stable", i.family), text: lockText }])),
            fetch: fixtureFetch(f, ORIGIN),
            indexUrl: `${ORIGIN}/simple`,
        });

    it("labmaze without a marker fails every 3.13 cell on every platform, naming the package, the cell and the platform, how far its wheels go and the sdist's build requirements", async () => {
        const r = await run(fixture(), "numpy==2.3.5\ndm-control==1.0.44\nlabmaze==1.0.6\n");
        const lab = r.problems.filter((p) => /labmaze==1\.0\.6/.test(p.message));
        assert.deepEqual(lab.map((p) => p.image).sort(), ["cpu-py3.13", "cpu-py3.13", "stable-cuda13.2-py3.13"]);
        const stable = lab.find((p) => p.image === "stable-cuda13.2-py3.13")!;
        assert.match(stable.message, /^cell cuda13\.2-py3\.13 \(stable-cuda13\.2-py3\.13\), linux\/amd64: labmaze==1\.0\.6 \(docker\/stable\/requirements-py3\.13\.lock:3\) has no wheel for cp313 on x86_64 \(glibc 2\.39\): its wheels stop at cp312 \(cp37, cp38, cp39, cp310, cp311, cp312\); pip\/uv would build it from source \(labmaze-1\.0\.6\.tar\.gz; build requirements: setuptools>=40\.8\.0, wheel\)/);
        assert.match(stable.fix, /python_version < "3\.13"/);
        assert.ok(lab.some((p) => /linux\/arm64: .*aarch64 \(glibc 2\.36\)/.test(p.message)), "the cpu image's arm64 half on bookworm's glibc");
        assert.ok(!r.problems.some((p) => /py3\.12/.test(p.image)), "3.12 has wheels for everything");
    });

    it("passes for the fixed lock (dm-control and labmaze below 3.13): markers are honoured", async () => {
        const r = await run(fixture(), 'numpy==2.3.5\ndm-control==1.0.44 ; python_version < "3.13"\nlabmaze==1.0.6 ; python_version < "3.13"\n');
        assert.deepEqual(r.problems, []);
        // 3.12: stable amd64 + cpu amd64/arm64 × 3 pins; 3.13: the same × numpy only
        assert.equal(r.checked, 3 * 3 + 3 * 1);
    });

    it("an sdist-only pin is a 'builds from source' note with its build requirements, not a failure", async () => {
        const r = await run(fixture(), "antlr4-python3-runtime==4.9.3\n");
        assert.deepEqual(r.problems, []);
        assert.equal(r.sourceBuilds.length, 6);
        assert.deepEqual(r.sourceBuilds[0], { image: "stable-cuda13.2-py3.12", platform: "linux/amd64", pin: "antlr4-python3-runtime==4.9.3", lock: "docker/stable/requirements-py3.12.lock:1", sdist: "antlr4-python3-runtime-4.9.3.tar.gz", buildRequires: ["setuptools"] });
    });

    it("a version or project the index does not have fails, naming the lock line", async () => {
        const r = await run(fixture(), "numpy==9.9.9\nnot-a-project==1.0\n");
        assert.ok(r.problems.some((p) => /numpy==9\.9\.9 \(docker\/stable\/requirements-py3\.12\.lock:1\): the index lists no file of version 9\.9\.9/.test(p.message)));
        assert.ok(r.problems.some((p) => /not-a-project==1\.0 \(docker\/cpu\/requirements-py3\.13\.lock:2\) is not on the index \(GET http:\/\/pypi\.fixture\/simple\/not-a-project\/ → 404\)/.test(p.message)));
    });

    it("asks the PEP 691 JSON API once per project, whatever the number of cells", async () => {
        const f = fixture();
        await run(f, "numpy==2.3.5\n");
        const gets = f.log.filter((l) => l.path === "/simple/numpy/");
        assert.equal(gets.length, 1);
        assert.match(gets[0].headers.accept ?? "", /application\/vnd\.pypi\.simple\.v1\+json/);
    });
});
