/**
 * What GitHub does with a workflow's `on:` filters and a job's `if:`, for tests that ask "does this event
 * run this job?". The glob rules are GitHub's "Filter pattern cheat sheet" (Workflow syntax for GitHub
 * Actions): `*` matches any characters but `/`, `**` any characters including `/`, `?` one character
 * (not `/`), `+` one or more of the preceding character, `[…]` a class; a pattern starting with `!`
 * excludes what it matches, and patterns are read in order, so a later match wins. A `paths` filter
 * passes when at least one changed file is included. The expression subset is the one the workflows
 * use in `if:`: literals, context lookups, `==`, `!=`, `!`, `&&`, `||`, parentheses.
 */

/** A GitHub filter pattern as a RegExp over the whole path or ref. */
export function globRegExp(pattern: string): RegExp {
    let re = "";
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "*" && pattern[i + 1] === "*") {
            // `**/` also matches no directory at all (`**/*.js` matches `app.js`).
            if (pattern[i + 2] === "/") {
                re += "(?:.*/)?";
                i += 2;
            } else {
                re += ".*";
                i += 1;
            }
        } else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else if (c === "+") re += "+";
        else if (c === "[") {
            const end = pattern.indexOf("]", i);
            re += pattern.slice(i, end + 1);
            i = end;
        } else re += c.replace(/[.^$|(){}\\]/g, "\\$&");
    }
    return new RegExp(`^${re}$`);
}

/** Whether `value` passes an ordered list of patterns (with `!` exclusions): the last matching pattern decides. */
export function passesPatterns(patterns: readonly string[], value: string): boolean {
    let included = false;
    for (const p of patterns) {
        const negated = p.startsWith("!");
        if (globRegExp(negated ? p.slice(1) : p).test(value)) included = !negated;
    }
    return included;
}

/** A push event as the filters see it. */
export interface PushEvent {
    /** Branch name, e.g. `main`. */
    branch: string;
    /** Files the push changed, relative to the repository root. */
    changedFiles: string[];
}

/** Whether a workflow's `on.push` (branches, branches-ignore, paths, paths-ignore) triggers on `event`. */
export function pushTriggers(on: unknown, event: PushEvent): boolean {
    if (typeof on !== "object" || on === null || !("push" in on)) return false;
    const push = ((on as Record<string, unknown>).push ?? {}) as Record<string, string[] | undefined>;
    if (push.branches && !passesPatterns(push.branches, event.branch)) return false;
    if (push["branches-ignore"] && passesPatterns(push["branches-ignore"], event.branch)) return false;
    if (push.paths && !event.changedFiles.some((f) => passesPatterns(push.paths!, f))) return false;
    if (push["paths-ignore"] && event.changedFiles.every((f) => passesPatterns(push["paths-ignore"]!, f))) return false;
    return true;
}

type Token = { kind: "str" | "num" | "bool" | "null" | "id" | "op"; value: string };

function tokenize(src: string): Token[] {
    const out: Token[] = [];
    const re = /\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|(==|!=|&&|\|\||!|\(|\)|<=|>=|<|>)|([A-Za-z_][\w.-]*(?:\[[^\]]+\])?(?:\.[\w-]+)*))/y;
    let m: RegExpExecArray | null;
    let at = 0;
    while (at < src.length) {
        re.lastIndex = at;
        m = re.exec(src);
        if (!m || m[0].length === 0) {
            if (/^\s*$/.test(src.slice(at))) break;
            throw new Error(`cannot read the expression at "${src.slice(at)}"`);
        }
        at = re.lastIndex;
        if (m[1] !== undefined) out.push({ kind: "str", value: m[1].slice(1, -1).replace(/''/g, "'") });
        else if (m[2] !== undefined) out.push({ kind: "num", value: m[2] });
        else if (m[3] !== undefined) out.push({ kind: "op", value: m[3] });
        else if (m[4] === "true" || m[4] === "false") out.push({ kind: "bool", value: m[4] });
        else if (m[4] === "null") out.push({ kind: "null", value: "null" });
        else out.push({ kind: "id", value: m[4] });
    }
    return out;
}

function lookup(contexts: Record<string, unknown>, path: string): unknown {
    let v: unknown = contexts;
    for (const part of path.split(".")) {
        if (typeof v !== "object" || v === null) return null;
        v = (v as Record<string, unknown>)[part];
    }
    return v ?? null;
}

/** GitHub's loose equality: strings compare case-insensitively; other types by value after coercion to number. */
function looseEquals(a: unknown, b: unknown): boolean {
    if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
    if (a === null || b === null) return a === b || a === "" || b === "";
    return Number(a) === Number(b);
}

const truthy = (v: unknown) => !(v === null || v === false || v === 0 || v === "" || v === undefined);

/**
 * Evaluates an `if:` expression (with or without `${{ }}`) against contexts, e.g.
 * `{ github: { event_name: "push", ref: "refs/heads/main" }, vars: {} }`. Status functions
 * (`always()`, `success()`, …) are not supported: a test of trigger flow does not need them.
 */
export function evaluateIf(expression: string | undefined, contexts: Record<string, unknown>): boolean {
    if (expression === undefined) return true;
    const src = expression.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, "$1");
    const tokens = tokenize(src);
    let i = 0;
    const peek = () => tokens[i];
    const primary = (): unknown => {
        const t = tokens[i++];
        if (!t) throw new Error(`unexpected end of "${src}"`);
        if (t.kind === "op" && t.value === "(") {
            const v = or();
            if (tokens[i++]?.value !== ")") throw new Error(`missing ) in "${src}"`);
            return v;
        }
        if (t.kind === "op" && t.value === "!") return !truthy(primary());
        if (t.kind === "str") return t.value;
        if (t.kind === "num") return Number(t.value);
        if (t.kind === "bool") return t.value === "true";
        if (t.kind === "null") return null;
        if (t.kind === "id") {
            if (peek()?.value === "(") throw new Error(`function calls are not supported: ${t.value}(…) in "${src}"`);
            return lookup(contexts, t.value);
        }
        throw new Error(`unexpected ${t.value} in "${src}"`);
    };
    const comparison = (): unknown => {
        const left = primary();
        const op = peek();
        if (op?.kind === "op" && (op.value === "==" || op.value === "!=")) {
            i++;
            const right = primary();
            return op.value === "==" ? looseEquals(left, right) : !looseEquals(left, right);
        }
        return left;
    };
    const and = (): unknown => {
        let v = comparison();
        while (peek()?.value === "&&") {
            i++;
            const r = comparison();
            v = truthy(v) ? r : v;
        }
        return v;
    };
    const or = (): unknown => {
        let v = and();
        while (peek()?.value === "||") {
            i++;
            const r = and();
            v = truthy(v) ? v : r;
        }
        return v;
    };
    const value = or();
    if (i !== tokens.length) throw new Error(`unexpected ${tokens[i].value} in "${src}"`);
    return truthy(value);
}

/**
 * The shell GitHub runs a Linux `run:` step with ("Workflow syntax for GitHub Actions", jobs.<job_id>.steps[*].shell):
 * no `shell` (and no `defaults.run.shell`) is `bash -e {0}`, WITHOUT pipefail; `shell: bash` is
 * `bash --noprofile --norc -eo pipefail {0}`; `sh` is `sh -e {0}`. The step's own `shell` wins over the job's
 * `defaults.run.shell`, which wins over the workflow's. Returns the argv, `{0}` being the script file.
 */
export function githubShellArgv(step: { shell?: string }, defaults: { job?: unknown; workflow?: unknown } = {}): string[] {
    const shellOf = (d: unknown) => ((d as { run?: { shell?: string } } | undefined)?.run?.shell);
    const shell = step.shell ?? shellOf(defaults.job) ?? shellOf(defaults.workflow);
    if (shell === undefined) return ["bash", "-e", "{0}"];
    if (shell === "bash") return ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"];
    if (shell === "sh") return ["sh", "-e", "{0}"];
    throw new Error(`shell ${shell}: not modelled`);
}

/** Whether a `run:` step's pipelines fail when a command before the last `|` fails (pipefail from the shell or the script). */
export function runsWithPipefail(step: { shell?: string; run?: string }, defaults: { job?: unknown; workflow?: unknown } = {}): boolean {
    return githubShellArgv(step, defaults).includes("pipefail") || /^\s*set\s+(-[a-z]*o\s+pipefail|-o\s+pipefail)\b/m.test(step.run ?? "");
}
