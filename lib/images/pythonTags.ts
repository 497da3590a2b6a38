/**
 * What a pip/uv installer on one image cell accepts, as pure functions: the PEP 425 compatibility
 * tags of a CPython X.Y interpreter on a Linux machine with a given C library (manylinux per PEP 600
 * and its legacy aliases of PEPs 513, 571 and 599; musllinux per PEP 656), wheel file names
 * (PEP 427), and PEP 508 environment markers. Modelled on pypa/packaging's `tags.py` and
 * `markers.py`, the code pip and uv follow. Shared by the torch wheel check and the full-lock
 * preflight (lib/images/preflight.ts, lib/images/lockPreflight.ts).
 */

/** The interpreter and machine a cell's installer runs on. */
export interface PythonEnvironment {
    /** `3.13`. */
    python: string;
    /**
     * The interpreter's full version (`3.13.1`) when known. A cell names only X.Y and the base image
     * installs the newest patch its pinned uv knows (`uv python install X.Y`), which cannot be read
     * offline; without it `X.Y.0` is used for `python_full_version` and `Requires-Python` (a bound on
     * a patch release, e.g. `>=3.12.1`, is then judged as on 3.12.0: the conservative side).
     */
    pythonFull?: string;
    /** `x86_64` or `aarch64` (uname -m, PEP 508's platform_machine). */
    machine: string;
    /** The C library of the image: manylinux wheels need glibc, musllinux wheels musl. */
    libc: { kind: "glibc" | "musl"; major: number; minor: number };
}

/**
 * The C library of a base image, from the distribution its tag names (`…-ubuntu24.04`,
 * `3.12-slim-bookworm`): Ubuntu 24.04 ships glibc 2.39, 22.04 2.35, 20.04 2.31; Debian 13 (trixie)
 * 2.41, 12 (bookworm) 2.36, 11 (bullseye) 2.31; Alpine uses musl 1.2. Undefined for anything else.
 */
export function baseLibc(tag: string): PythonEnvironment["libc"] | undefined {
    const table: [RegExp, PythonEnvironment["libc"]][] = [
        [/ubuntu24\.04|noble/, { kind: "glibc", major: 2, minor: 39 }],
        [/ubuntu22\.04|jammy/, { kind: "glibc", major: 2, minor: 35 }],
        [/ubuntu20\.04|focal/, { kind: "glibc", major: 2, minor: 31 }],
        [/trixie/, { kind: "glibc", major: 2, minor: 41 }],
        [/bookworm/, { kind: "glibc", major: 2, minor: 36 }],
        [/bullseye/, { kind: "glibc", major: 2, minor: 31 }],
        [/alpine/, { kind: "musl", major: 1, minor: 2 }],
    ];
    return table.find(([re]) => re.test(tag))?.[1];
}

/** Docker platforms and their `uname -m`. */
export const PLATFORM_MACHINE: Record<string, string> = { "linux/amd64": "x86_64", "linux/arm64": "aarch64", "linux/ppc64le": "ppc64le", "linux/s390x": "s390x" };

/** A wheel file name's parts (PEP 427), or undefined when it is not a wheel. */
export function parseWheelName(file: string): { name: string; version: string; pythonTags: string[]; abiTags: string[]; platformTags: string[] } | undefined {
    const m = file.match(/^([^-]+)-([^-]+)(?:-\d[^-]*)?-([^-]+)-([^-]+)-([^-]+)\.whl$/);
    if (!m) return undefined;
    return { name: normalizeName(m[1]).replace(/-/g, "_"), version: m[2], pythonTags: m[3].split("."), abiTags: m[4].split("."), platformTags: m[5].split(".") };
}

/** PEP 503 name normalization: `Pybind11_Global` → `pybind11-global`. */
export function normalizeName(name: string): string {
    return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** The legacy manylinux tags and the glibc they stand for (PEPs 513, 571, 599; PEP 600 keeps them valid). */
const LEGACY_MANYLINUX: Record<string, [number, number]> = { manylinux1: [2, 5], manylinux2010: [2, 12], manylinux2014: [2, 17] };

/** True when a wheel platform tag runs on the environment's machine and C library. */
export function platformTagFits(tag: string, env: PythonEnvironment): boolean {
    if (tag === "any") return true;
    if (tag === `linux_${env.machine}`) return true; // what pip itself accepts (packaging.tags._linux_platforms)
    const legacy = tag.match(/^(manylinux1|manylinux2010|manylinux2014)_(.+)$/);
    if (legacy) {
        const [major, minor] = LEGACY_MANYLINUX[legacy[1]];
        return env.libc.kind === "glibc" && legacy[2] === env.machine && atMost(major, minor, env.libc);
    }
    const pep600 = tag.match(/^manylinux_(\d+)_(\d+)_(.+)$/);
    if (pep600) return env.libc.kind === "glibc" && pep600[3] === env.machine && atMost(Number(pep600[1]), Number(pep600[2]), env.libc);
    const musl = tag.match(/^musllinux_(\d+)_(\d+)_(.+)$/);
    if (musl) return env.libc.kind === "musl" && musl[3] === env.machine && atMost(Number(musl[1]), Number(musl[2]), env.libc);
    return false;
}

function atMost(major: number, minor: number, libc: { major: number; minor: number }): boolean {
    return major < libc.major || (major === libc.major && minor <= libc.minor);
}

/**
 * True when one (python, abi) tag pair of a wheel is accepted by CPython `env.python`
 * (packaging.tags.cpython_tags + compatible_tags): `cpXY-cpXY`, `cp3Y-abi3` for Y ≤ X.Y's minor
 * (3.2 on), `cpXY-none`, and `py3`/`py3Y` (Y ≤ minor) with `none`. A free-threaded `cp313t` ABI
 * does not fit a default build.
 */
export function interpreterTagFits(pythonTag: string, abiTag: string, env: PythonEnvironment): boolean {
    const [major, minor] = env.python.split(".").map(Number);
    const own = `cp${major}${minor}`;
    const cp = pythonTag.match(/^cp(\d)(\d+)$/);
    if (cp) {
        const [tMajor, tMinor] = [Number(cp[1]), Number(cp[2])];
        if (abiTag === "abi3") return tMajor === major && tMinor >= 2 && tMinor <= minor;
        return pythonTag === own && (abiTag === own || abiTag === "none");
    }
    const py = pythonTag.match(/^py(\d)(\d*)$/);
    if (py && abiTag === "none") {
        if (Number(py[1]) !== major) return false;
        return py[2] === "" || Number(py[2]) <= minor;
    }
    return false;
}

/**
 * True when some tag triple (python, abi, platform) of the wheel file name is supported in the
 * environment. The triple is judged whole, as packaging.tags.sys_tags lists them: the platform `any`
 * only goes with the ABI `none` (`py3-none-any`, `cp313-none-any`), so `cp313-cp313-any` or
 * `cp313-abi3-any` fits nothing, although each of its parts appears in some supported tag.
 */
export function wheelFits(file: string, env: PythonEnvironment): boolean {
    const w = parseWheelName(file);
    if (!w) return false;
    return w.pythonTags.some((py) => w.abiTags.some((abi) => interpreterTagFits(py, abi, env) && w.platformTags.some((p) => platformTagFits(p, env) && (p !== "any" || abi === "none"))));
}

/** True when some tag of the wheel fits the interpreter, whatever its platform. */
export function wheelFitsInterpreter(file: string, env: PythonEnvironment): boolean {
    const w = parseWheelName(file);
    return w !== undefined && w.pythonTags.some((py) => w.abiTags.some((abi) => interpreterTagFits(py, abi, env)));
}

// --- PEP 508 environment markers ------------------------------------------------------------

/** The PEP 508 marker variables of a CPython X.Y on Linux. */
export function markerEnvironment(env: PythonEnvironment): Record<string, string> {
    return {
        python_version: env.python,
        python_full_version: env.pythonFull ?? `${env.python}.0`,
        platform_machine: env.machine,
        platform_system: "Linux",
        sys_platform: "linux",
        os_name: "posix",
        platform_python_implementation: "CPython",
        implementation_name: "cpython",
        implementation_version: env.pythonFull ?? `${env.python}.0`,
        platform_release: "",
        platform_version: "",
        extra: "",
    };
}

type Token = { kind: "str" | "var" | "op" | "and" | "or" | "(" | ")"; value: string };

function tokenize(marker: string): Token[] {
    const tokens: Token[] = [];
    const re = /\s*(?:(\()|(\))|('[^']*'|"[^"]*")|(===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)|(and\b)|(or\b)|([A-Za-z_][A-Za-z0-9_.]*))/gy;
    let pos = 0;
    while (pos < marker.length) {
        if (/^\s*$/.test(marker.slice(pos))) break;
        re.lastIndex = pos;
        const m = re.exec(marker);
        if (!m) throw new Error(`cannot parse the environment marker "${marker}" at "${marker.slice(pos)}"`);
        pos = re.lastIndex;
        if (m[1]) tokens.push({ kind: "(", value: "(" });
        else if (m[2]) tokens.push({ kind: ")", value: ")" });
        else if (m[3]) tokens.push({ kind: "str", value: m[3].slice(1, -1) });
        else if (m[4]) tokens.push({ kind: "op", value: m[4].replace(/\s+/, " ") });
        else if (m[5]) tokens.push({ kind: "and", value: "and" });
        else if (m[6]) tokens.push({ kind: "or", value: "or" });
        else tokens.push({ kind: "var", value: m[7] });
    }
    return tokens;
}

/** Compares release versions numerically (`3.9` < `3.13`); pre/post/dev parts are not needed for markers here. */
export function compareVersions(a: string, b: string): number {
    const pa = a.split(".").map((x) => parseInt(x, 10) || 0);
    const pb = b.split(".").map((x) => parseInt(x, 10) || 0);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const d = (pa[i] ?? 0) - (pb[i] ?? 0);
        if (d !== 0) return d;
    }
    return 0;
}

const VERSION_VARS = new Set(["python_version", "python_full_version", "implementation_version"]);

function compare(left: string, op: string, right: string, versionLike: boolean): boolean {
    if (op === "in") return right.includes(left);
    if (op === "not in") return !right.includes(left);
    if (versionLike && /^\d+(\.\d+)*$/.test(left) && /^\d+(\.\d+)*$/.test(right)) {
        const c = compareVersions(left, right);
        switch (op) {
            case "==":
            case "===":
                return c === 0;
            case "!=":
                return c !== 0;
            case "<":
                return c < 0;
            case "<=":
                return c <= 0;
            case ">":
                return c > 0;
            case ">=":
                return c >= 0;
            case "~=":
                return c >= 0 && compareVersions(left, right.split(".").slice(0, -1).join(".")) >= 0 && left.split(".").slice(0, right.split(".").length - 1).join(".") === right.split(".").slice(0, -1).join(".");
        }
    }
    switch (op) {
        case "==":
        case "===":
            return left === right;
        case "!=":
            return left !== right;
        default:
            throw new Error(`the marker operator ${op} needs versions, got "${left}" and "${right}"`);
    }
}

/** Evaluates a PEP 508 marker (`python_version < "3.13" and platform_machine == "x86_64"`). Throws on a syntax error. */
export function evaluateMarker(marker: string, variables: Record<string, string>): boolean {
    const tokens = tokenize(marker);
    let i = 0;
    const value = (t: Token): { text: string; version: boolean } => {
        if (t.kind === "str") return { text: t.value, version: false };
        if (t.kind === "var") {
            if (!(t.value in variables)) throw new Error(`unknown marker variable ${t.value} in "${marker}"`);
            return { text: variables[t.value], version: VERSION_VARS.has(t.value) };
        }
        throw new Error(`expected a value in "${marker}"`);
    };
    const atom = (): boolean => {
        const t = tokens[i++];
        if (t === undefined) throw new Error(`unexpected end of the marker "${marker}"`);
        if (t.kind === "(") {
            const v = or();
            if (tokens[i++]?.kind !== ")") throw new Error(`missing ")" in "${marker}"`);
            return v;
        }
        const op = tokens[i++];
        const r = tokens[i++];
        if (op?.kind !== "op" || r === undefined) throw new Error(`expected "<value> <op> <value>" in "${marker}"`);
        const left = value(t);
        const right = value(r);
        return compare(left.text, op.value, right.text, left.version || right.version);
    };
    const and = (): boolean => {
        let v = atom();
        while (tokens[i]?.kind === "and") {
            i++;
            const r = atom();
            v = v && r;
        }
        return v;
    };
    const or = (): boolean => {
        let v = and();
        while (tokens[i]?.kind === "or") {
            i++;
            const r = and();
            v = v || r;
        }
        return v;
    };
    const result = or();
    if (i !== tokens.length) throw new Error(`unexpected "${tokens[i].value}" in the marker "${marker}"`);
    return result;
}
