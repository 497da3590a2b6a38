/**
 * The parts of PEP 440 the full-lock preflight needs, as pure functions: the canonical form of a
 * version (so a lock's `foo==1.0` matches the index's `foo-1.0.0` file, and `1.0RC1` matches
 * `1.0rc1`), and `Requires-Python` specifiers (`>=3.9`, `>=3.8,!=3.9.*,<3.14`, `~=3.10`) evaluated
 * against a CPython version. Modelled on pypa/packaging's `version.py` and `specifiers.py`.
 */

interface ParsedVersion {
    epoch: number;
    release: number[];
    pre?: [string, number];
    post?: number;
    dev?: number;
    local?: string;
}

const VERSION_RE = /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d+)?)?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?(?:[-_.]?(dev)[-_.]?(\d+)?)?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$/;

/** Parses a PEP 440 version (case-insensitive, with the spec's alternative spellings), or undefined. */
export function parseVersion(text: string): ParsedVersion | undefined {
    const m = text.trim().toLowerCase().match(VERSION_RE);
    if (!m) return undefined;
    const preName = m[3] === undefined ? undefined : ({ alpha: "a", beta: "b", c: "rc", pre: "rc", preview: "rc" } as Record<string, string>)[m[3]] ?? m[3];
    return {
        epoch: m[1] === undefined ? 0 : Number(m[1]),
        release: m[2].split(".").map(Number),
        pre: preName === undefined ? undefined : [preName, Number(m[4] ?? 0)],
        post: m[5] !== undefined ? Number(m[5]) : m[6] !== undefined ? Number(m[7] ?? 0) : undefined,
        dev: m[8] !== undefined ? Number(m[9] ?? 0) : undefined,
        local: m[10]?.replace(/[-_]/g, "."),
    };
}

/** The canonical form used for equality: trailing `.0` release parts dropped (PEP 440 zero padding). */
export function canonicalVersion(text: string): string {
    const v = parseVersion(text);
    if (!v) return text.trim().toLowerCase();
    const release = [...v.release];
    while (release.length > 1 && release[release.length - 1] === 0) release.pop();
    return (
        (v.epoch ? `${v.epoch}!` : "") +
        release.join(".") +
        (v.pre ? `${v.pre[0]}${v.pre[1]}` : "") +
        (v.post !== undefined ? `.post${v.post}` : "") +
        (v.dev !== undefined ? `.dev${v.dev}` : "") +
        (v.local ? `+${v.local}` : "")
    );
}

/** True when two versions are the same PEP 440 version (`1.0` == `1.0.0`, `1.0RC1` == `1.0rc1`). */
export function versionsEqual(a: string, b: string): boolean {
    return canonicalVersion(a) === canonicalVersion(b);
}

function compareRelease(a: number[], b: number[]): number {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const d = (a[i] ?? 0) - (b[i] ?? 0);
        if (d !== 0) return d;
    }
    return 0;
}

/**
 * True when a CPython release (`3.13.1`) satisfies a `Requires-Python` specifier set (comma-separated,
 * all must hold). Only release versions are compared: a Python version has no pre/post/dev part here.
 * Throws on a clause it cannot read, so the caller reports it instead of guessing.
 */
export function requiresPythonAllows(spec: string, python: string): boolean {
    const v = python.split(".").map(Number);
    for (const raw of spec.split(",")) {
        const clause = raw.trim();
        if (clause === "") continue;
        const m = clause.match(/^(===|==|!=|<=|>=|~=|<|>)\s*v?([0-9]+(?:\.[0-9]+)*)(\.\*)?([a-z0-9.+-]*)$/i);
        if (!m) throw new Error(`cannot read the Requires-Python clause "${clause}"`);
        const [, op, versionText, wildcard, suffix] = m;
        const r = versionText.split(".").map(Number);
        // A pre/post/dev suffix on a bound (">=3.8.0b1") orders just below/above the release; for a final
        // CPython release that only matters at equality, which such bounds never express in practice.
        const c = compareRelease(v, r);
        let ok: boolean;
        switch (op) {
            case "==":
            case "===":
                ok = wildcard ? compareRelease(v.slice(0, r.length), r) === 0 : c === 0 && suffix === "";
                break;
            case "!=":
                ok = wildcard ? compareRelease(v.slice(0, r.length), r) !== 0 : !(c === 0 && suffix === "");
                break;
            case "<=":
                ok = c <= 0;
                break;
            case ">=":
                ok = c > 0 || (c === 0 && !/post/i.test(suffix));
                break;
            case "<":
                ok = c < 0;
                break;
            case ">":
                ok = c > 0;
                break;
            case "~=": {
                if (r.length < 2) throw new Error(`~= needs at least two release parts: "${clause}"`);
                ok = c >= 0 && compareRelease(v.slice(0, r.length - 1), r.slice(0, -1)) === 0;
                break;
            }
            default:
                throw new Error(`cannot read the Requires-Python clause "${clause}"`);
        }
        if (!ok) return false;
    }
    return true;
}
