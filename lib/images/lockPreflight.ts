/**
 * Full-lock preflight: before any build, every pin of the lock file each image cell installs
 * (`requirements-py<X.Y>.lock` of its build context) is resolved against the Python package index
 * through the PEP 691 JSON simple API, for each platform the image is built for. A pin resolves when
 * the index has a file of that exact version that the cell's installer accepts: a wheel whose PEP 425
 * tags fit the cell's CPython, machine and C library (lib/images/pythonTags.ts). Environment markers
 * are evaluated per cell, so `dm-control==1.0.44 ; python_version < "3.13"` is not asked for on 3.13.
 *
 * - A pin with wheels for other cells but none for this one fails, naming the package, the cell
 *   and the platform, and how far its wheels go (labmaze 1.0.6: "wheels stop at cp312").
 * - A pin published only as an sdist "builds from source": reported as a note with its build
 *   requirements (read from the sdist's pyproject.toml), not a failure (hydra's antlr4 runtime).
 * - A version the index does not have fails.
 *
 * Pure: the caller passes the lock texts, the Dockerfiles, a fetch function and the index URL.
 */
import { gunzipSync } from "zlib";
import { cellLibc, PreflightFetch, PreflightImage, PreflightProblem } from "./preflight";
import { requiresPythonAllows, versionsEqual } from "./pep440";
import { baseLibc, evaluateMarker, markerEnvironment, normalizeName, parseWheelName, PLATFORM_MACHINE, PythonEnvironment, wheelFits, wheelFitsInterpreter } from "./pythonTags";

export { baseLibc };

/** PyPI's simple index (PEP 503 / PEP 691). */
export const DEFAULT_PYTHON_INDEX_URL = "https://pypi.org/simple";
/** The PEP 691 JSON content type, version 1. */
export const SIMPLE_JSON = "application/vnd.pypi.simple.v1+json";

/** One `name==version` pin of a lock file. */
export interface LockPin {
    /** Normalized (PEP 503) name, e.g. `dm-control`. */
    name: string;
    /** As written, e.g. `dm-control`. */
    written: string;
    version: string;
    /** The environment marker after `;`, if any. */
    marker?: string;
    /** 1-based line in the lock file. */
    line: number;
}

/** A line of a lock file the preflight cannot check: not an exact `name==version[; marker]` pin. */
export interface UnparsedLockLine {
    /** 1-based line in the lock file. */
    line: number;
    text: string;
    why: string;
}

/**
 * The exact pins of a lock file, and every other requirement line as unparsed: `name @ url`,
 * a range (`name>=x`), a line continued with `\` and its `--hash=` continuation lines. Comments,
 * blank lines and top-level option lines (`--index-url`, `--extra-index-url`) are skipped.
 */
export function parseLock(text: string): { pins: LockPin[]; unparsed: UnparsedLockLine[] } {
    const pins: LockPin[] = [];
    const unparsed: UnparsedLockLine[] = [];
    let continued = false;
    text.split(/\r?\n/).forEach((raw, i) => {
        const line = raw.replace(/(^|\s)#.*$/, "").trim();
        const wasContinued = continued;
        continued = line.endsWith("\\");
        if (line === "") return;
        if (wasContinued || continued || /^--hash\b/.test(line)) {
            unparsed.push({ line: i + 1, text: line, why: "a continued line (`\\`, e.g. --hash from --generate-hashes): the preflight reads one pin per line" });
            return;
        }
        if (line.startsWith("-")) return;
        const [requirement, ...markerParts] = line.split(";");
        const m = requirement.trim().match(/^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([^\s,*]+)$/);
        if (!m) {
            const why = /\s@\s|^[A-Za-z0-9._-]+(?:\[[^\]]*\])?\s*@/.test(requirement) ? "a direct reference (`name @ url`), not an index pin" : "not an exact pin (`name==version`)";
            unparsed.push({ line: i + 1, text: line, why });
            return;
        }
        const marker = markerParts.join(";").trim();
        pins.push({ name: normalizeName(m[1]), written: m[1], version: m[2], marker: marker === "" ? undefined : marker, line: i + 1 });
    });
    return { pins, unparsed };
}

/** The exact pins of a lock file (see parseLock; lines that are not exact pins are left out). */
export function parseLockPins(text: string): LockPin[] {
    return parseLock(text).pins;
}

/** What the full-lock preflight reads. */
export interface LockPreflightInput {
    images: PreflightImage[];
    /** Dockerfile text by project-relative path (the root's FROM gives the C library). */
    dockerfiles: Record<string, string>;
    /** The lock file each image installs, by image name (images without one are skipped). */
    locks: Record<string, { path: string; text: string }>;
    fetch: PreflightFetch;
    /** @default DEFAULT_PYTHON_INDEX_URL */
    indexUrl?: string;
    /** Fetch sdists to read their build requirements. @default true */
    readBuildRequirements?: boolean;
}

/** A pin that resolves only to an sdist: the build runs it from source. */
export interface SourceBuildNote {
    image: string;
    platform: string;
    pin: string;
    lock: string;
    sdist: string;
    buildRequires: string[] | undefined;
}

/** An exact pin whose files at that version are all yanked (PEP 592): installers still take it, with a warning. */
export interface YankedNote {
    image: string;
    pin: string;
    lock: string;
    /** The index's reason, when it gives one. */
    reason?: string;
}

/** What the full-lock preflight found. */
export interface LockPreflightResult {
    problems: PreflightProblem[];
    /** Exact pins of yanked releases (informational: PEP 592 lets an `==` pin install them). */
    yanked: YankedNote[];
    /** Pins that build from source (informational). */
    sourceBuilds: SourceBuildNote[];
    /** Pins checked (image × platform × pin, markers applied). */
    checked: number;
}

interface IndexFile {
    filename: string;
    url: string;
    yanked: boolean;
    yankedReason?: string;
    /** PEP 691 `requires-python` (PEP 345 `Requires-Python`), if the index gives it. */
    requiresPython?: string;
}

type ProjectPage = { status: number; files: IndexFile[]; url: string } | { error: string; url: string };

/** Resolves every pin of every image's lock on each of its platforms. */
export async function lockPreflight(input: LockPreflightInput): Promise<LockPreflightResult> {
    const indexUrl = (input.indexUrl ?? DEFAULT_PYTHON_INDEX_URL).replace(/\/+$/, "");
    const byName = new Map(input.images.map((i) => [i.name, i]));
    const pages = new Map<string, Promise<ProjectPage>>();
    const sdists = new Map<string, Promise<string[] | undefined>>();
    const page = (name: string): Promise<ProjectPage> => {
        if (!pages.has(name)) pages.set(name, fetchProject(input.fetch, `${indexUrl}/${name}/`));
        return pages.get(name)!;
    };
    const buildRequires = (file: IndexFile): Promise<string[] | undefined> => {
        if (input.readBuildRequirements === false) return Promise.resolve(undefined);
        if (!sdists.has(file.url)) sdists.set(file.url, fetchBuildRequires(input.fetch, file));
        return sdists.get(file.url)!;
    };

    const problems: PreflightProblem[] = [];
    const sourceBuilds: SourceBuildNote[] = [];
    const yanked: YankedNote[] = [];
    const yankedSeen = new Set<string>();
    const unparsedSeen = new Set<string>();
    let checked = 0;
    for (const image of input.images) {
        const lock = input.locks[image.name];
        if (!lock) continue;
        const libc = cellLibc(image, byName, input.dockerfiles);
        if (!libc) {
            problems.push({
                image: image.name,
                message: "cannot tell the C library of the cell's base image (its root's first FROM, or a distribution baseLibc does not know), so wheel tags cannot be matched",
                fix: "build from an Ubuntu or Debian based image whose tag names the release (e.g. ubuntu24.04, bookworm), or add it to baseLibc in lib/images/pythonTags.ts",
            });
            continue;
        }
        const { pins, unparsed } = parseLock(lock.text);
        for (const u of unparsed) {
            const key = `${lock.path}:${u.line}`;
            if (unparsedSeen.has(key)) continue;
            unparsedSeen.add(key);
            problems.push({
                image: image.name,
                message: `${key}: "${u.text}" is ${u.why}, so check --online cannot resolve it`,
                fix: `regenerate ${lock.path} with its header's uv pip compile command (exact pins, no --generate-hashes), or pin it as name==version`,
            });
        }
        for (const platform of image.platforms) {
            const machine = PLATFORM_MACHINE[platform];
            if (machine === undefined) continue;
            const env: PythonEnvironment = { python: image.cell.python, machine, libc };
            const fullPython = env.pythonFull ?? `${env.python}.0`;
            const cell = `cell ${cellLabel(image)} (${image.name}), ${platform}`;
            for (const pin of pins) {
                const at = `${lock.path}:${pin.line}`;
                if (pin.marker !== undefined) {
                    let applies: boolean;
                    try {
                        applies = evaluateMarker(pin.marker, markerEnvironment(env));
                    } catch (e) {
                        problems.push({ image: image.name, message: `${at}: ${(e as Error).message}`, fix: "write a PEP 508 marker (e.g. python_version < \"3.13\")" });
                        continue;
                    }
                    if (!applies) continue;
                }
                checked++;
                const res = await page(pin.name);
                const what = `${pin.written}==${pin.version} (${at})`;
                if ("error" in res) {
                    problems.push({ image: image.name, message: `${cell}: could not read ${res.url} for ${what}: ${res.error}`, fix: "check the network path to the index (or MLCI_PYTHON_INDEX_URL) and retry" });
                    continue;
                }
                if (res.status === 404) {
                    problems.push({ image: image.name, message: `${cell}: ${what} is not on the index (GET ${res.url} → 404)`, fix: `check the name in ${lock.path} and regenerate the lock (docs/catalog.md, "Lock files")` });
                    continue;
                }
                if (res.status !== 200) {
                    problems.push({ image: image.name, message: `${cell}: could not read ${res.url} for ${what}: HTTP ${res.status}`, fix: "retry; check the index URL (MLCI_PYTHON_INDEX_URL)" });
                    continue;
                }
                const allOfVersion = res.files.filter((f) => { const v = fileVersion(f.filename, pin.name); return v !== undefined && versionsEqual(v, pin.version); });
                if (allOfVersion.length === 0) {
                    problems.push({ image: image.name, message: `${cell}: ${what}: the index lists no file of version ${pin.version} (${res.url})`, fix: `pin a version the index has, and regenerate ${lock.path}` });
                    continue;
                }
                if (allOfVersion.every((f) => f.yanked) && !yankedSeen.has(`${image.name} ${at}`)) {
                    yankedSeen.add(`${image.name} ${at}`);
                    yanked.push({ image: image.name, pin: `${pin.written}==${pin.version}`, lock: at, reason: allOfVersion.find((f) => f.yankedReason)?.yankedReason });
                }
                // Files whose Requires-Python excludes the cell's interpreter are not candidates (pip and uv skip
                // them). One the preflight cannot read stays a candidate: pip ignores an invalid
                // Requires-Python (_check_link_requires_python: "Ignoring invalid Requires-Python"), and so
                // does uv ("ignoring invalid Requires-Python").
                const ofVersion = allOfVersion.filter((f) => {
                    if (f.requiresPython === undefined || f.requiresPython.trim() === "") return true;
                    try {
                        return requiresPythonAllows(f.requiresPython, fullPython);
                    } catch {
                        return true;
                    }
                });
                if (ofVersion.length === 0) {
                    const specs = [...new Set(allOfVersion.map((f) => f.requiresPython))].join(" | ");
                    problems.push({ image: image.name, message: `${cell}: ${what}: every file of ${pin.version} requires Python ${specs}, not ${fullPython}`, fix: `pin a release that supports Python ${env.python}, or add an environment marker to the pin in ${lock.path} and its input requirements.txt` });
                    continue;
                }
                const wheels = ofVersion.filter((f) => f.filename.endsWith(".whl"));
                if (wheels.some((f) => wheelFits(f.filename, env))) continue;
                const sdist = ofVersion.find((f) => /\.(tar\.gz|zip)$/.test(f.filename));
                const envText = `cp${env.python.replace(".", "")} on ${machine} (${libc.kind} ${libc.major}.${libc.minor})`;
                if (wheels.length === 0 && sdist) {
                    sourceBuilds.push({ image: image.name, platform, pin: `${pin.written}==${pin.version}`, lock: at, sdist: sdist.filename, buildRequires: await buildRequires(sdist) });
                    continue;
                }
                const reach = wheelReach(wheels.map((w) => w.filename), env);
                const fromSource = sdist ? ` pip/uv would build it from source (${sdist.filename}; build requirements: ${formatRequires(await buildRequires(sdist))}), which its maintainers do not publish wheels for` : " and there is no sdist to build from";
                problems.push({
                    image: image.name,
                    message: `${cell}: ${what} has no wheel for ${envText}: ${reach};${fromSource}`,
                    fix: `pin a release with a ${envText} wheel, or add an environment marker to the pin in ${lock.path} and its input requirements.txt (e.g. ; python_version < "${env.python}"), or drop the cell; see docs/catalog.md, "Python 3.13: dm-control is not installed"`,
                });
            }
        }
    }
    return { problems, yanked, sourceBuilds, checked };
}

function cellLabel(image: PreflightImage): string {
    return image.cell.cuda !== undefined ? `cuda${image.cell.cuda.split(".").slice(0, 2).join(".")}-py${image.cell.python}` : `py${image.cell.python}`;
}

/** How far a pin's wheels go, for the message: the CPython tags they cover, or their platforms. */
function wheelReach(files: string[], env: PythonEnvironment): string {
    if (files.length === 0) return "it has no wheel at all";
    const interpreterFits = files.filter((f) => wheelFitsInterpreter(f, env));
    if (interpreterFits.length > 0) {
        const platforms = [...new Set(interpreterFits.flatMap((f) => parseWheelName(f)!.platformTags))].sort();
        return `its cp${env.python.replace(".", "")}-compatible wheels are only for ${platforms.join(", ")}`;
    }
    const cpTags = [...new Set(files.flatMap((f) => parseWheelName(f)!.pythonTags).filter((t) => /^cp\d+$/.test(t)))].sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)) || a.localeCompare(b));
    if (cpTags.length > 0) return `its wheels stop at ${cpTags[cpTags.length - 1]} (${cpTags.join(", ")})`;
    return `its wheels are for ${[...new Set(files.flatMap((f) => parseWheelName(f)!.pythonTags))].join(", ")}`;
}

function formatRequires(requires: string[] | undefined): string {
    return requires === undefined ? "unknown" : requires.length === 0 ? "none declared" : requires.join(", ");
}

/** The version of a distribution file of `name` (wheel or sdist), or undefined. */
export function fileVersion(filename: string, name: string): string | undefined {
    const wheel = parseWheelName(filename);
    if (wheel) return normalizeName(wheel.name) === name ? wheel.version : undefined;
    const sdist = filename.match(/^(.+)-([^-]+)\.(?:tar\.gz|zip)$/);
    if (sdist && normalizeName(sdist[1]) === name) return sdist[2];
    return undefined;
}

async function fetchProject(fetch: PreflightFetch, url: string): Promise<ProjectPage> {
    try {
        const res = await fetch(url, { headers: { Accept: `${SIMPLE_JSON}, application/vnd.pypi.simple.latest+json;q=0.9` } });
        if (res.status !== 200) return { status: res.status, files: [], url };
        const type = res.headers.get("content-type") ?? "";
        if (!type.includes("json")) return { error: `answered ${type || "no content type"}, not the PEP 691 JSON API (${SIMPLE_JSON})`, url };
        const body = JSON.parse(await res.text()) as { files?: { filename: string; url: string; yanked?: boolean | string; "requires-python"?: string | null }[] };
        const files = (body.files ?? []).map((f) => ({
            filename: f.filename,
            url: new URL(f.url, url).toString(),
            yanked: f.yanked !== undefined && f.yanked !== false,
            yankedReason: typeof f.yanked === "string" && f.yanked !== "" ? f.yanked : undefined,
            requiresPython: typeof f["requires-python"] === "string" ? f["requires-python"] : undefined,
        }));
        return { status: 200, files, url };
    } catch (e) {
        return { error: e instanceof Error ? e.message : String(e), url };
    }
}

/** The sdist's `[build-system] requires` (pyproject.toml), or PEP 517's legacy default without one. */
async function fetchBuildRequires(fetch: PreflightFetch, file: IndexFile): Promise<string[] | undefined> {
    if (!file.filename.endsWith(".tar.gz")) return undefined;
    try {
        const res = await fetch(file.url, {});
        if (res.status !== 200 || !res.arrayBuffer) return undefined;
        return sdistBuildRequires(Buffer.from(await res.arrayBuffer()));
    } catch {
        return undefined;
    }
}

/** Reads `[build-system] requires` from a .tar.gz sdist's top-level pyproject.toml. */
export function sdistBuildRequires(targz: Buffer): string[] {
    const tar = gunzipSync(targz);
    for (let offset = 0; offset + 512 <= tar.length; ) {
        const header = tar.subarray(offset, offset + 512);
        if (header.every((b) => b === 0)) break;
        const name = cString(header.subarray(0, 100));
        const prefix = cString(header.subarray(345, 500));
        const size = parseInt(cString(header.subarray(124, 136)).trim() || "0", 8);
        const full = prefix ? `${prefix}/${name}` : name;
        const body = offset + 512;
        if (/^[^/]+\/pyproject\.toml$/.test(full)) return buildSystemRequires(tar.subarray(body, body + size).toString("utf8"));
        offset = body + Math.ceil(size / 512) * 512;
    }
    return ["setuptools>=40.8.0", "wheel"]; // PEP 517: a project without pyproject.toml builds with setuptools' legacy backend
}

function cString(b: Buffer): string {
    const end = b.indexOf(0);
    return b.subarray(0, end < 0 ? b.length : end).toString("utf8");
}

/** `requires = [...]` of the `[build-system]` table (a TOML subset: one array of strings). */
export function buildSystemRequires(toml: string): string[] {
    const section = toml.match(/^\[build-system\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m);
    if (!section) return ["setuptools>=40.8.0", "wheel"];
    const requires = section[1].match(/^\s*requires\s*=\s*\[([\s\S]*?)\]/m);
    if (!requires) return ["setuptools>=40.8.0", "wheel"];
    return [...requires[1].matchAll(/"([^"]*)"|'([^']*)'/g)].map((m) => m[1] ?? m[2]);
}
