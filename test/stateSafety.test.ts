/**
 * State safety: the URN of every resource whose replacement destroys state (ECR repositories with
 * their images, IAM roles CI assumes, the OIDC provider, instance profiles, secrets, lifecycle
 * policies, the local registry container, and the mlci:* components that parent them) is pinned per stack in
 * test/__snapshots__/urns.<stack>.json. Renaming a resource, or moving it under another parent,
 * changes its URN and Pulumi REPLACES it; this test fails first.
 *
 * Refresh after an intended change, naming WHERE it is intended (comma-separated `<stack>:<URN substring>`;
 * an empty substring, `local:`, takes every change of that stack):
 *   UPDATE_URN_SNAPSHOTS='prod:registry-nightly' npx mocha test/stateSafety.test.ts
 * Update mode still asserts: a stack's snapshot is rewritten only when every changed URN contains one of
 * its substrings, each substring matched a change, and the diff is printed; anything else fails unwritten.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { RecordedResource, runProgram, RunOptions } from "./harness";

const SNAPSHOT_DIR = path.join(__dirname, "__snapshots__");

/** Types whose replacement loses state or breaks CI's trust. */
const STATEFUL_TYPES = [
    "aws:ecr/repository:Repository",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:iam/role:Role",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:secretsmanager/secret:Secret",
    // The local registry keeps pushed images inside its container: replacing it empties the registry.
    "docker:index/container:Container",
];
/** Components created once per image: their set follows the catalog, so they are not pinned. */
const PER_IMAGE_COMPONENTS = ["mlci:images:ImageBuild"];

const STACKS: Record<string, RunOptions> = {
    dev: { stack: "dev" },
    prod: { stack: "prod" },
    local: { stack: "local" },
};

/** Whether a resource's URN is pinned by the snapshot. */
function isPinned(type: string): boolean {
    return STATEFUL_TYPES.includes(type) || (type.startsWith("mlci:") && !PER_IMAGE_COMPONENTS.includes(type));
}

/**
 * The URN the Pulumi engine gives each resource: its type qualified by *every* ancestor's type
 * (`mlci:registry:EcrRegistry$mlci:registry:FamilyRepository$aws:ecr/repository:Repository`).
 * The mocks only prefix the direct parent's type, which would miss a renamed grandparent.
 */
function engineUrns(resources: Pick<RecordedResource, "type" | "name" | "urn" | "parentUrn">[], stack: string, project = "ml-ci-images"): Map<RecordedResource, string> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const qualified = new Map<string, string>();
    const qualify = (r: Pick<RecordedResource, "type" | "urn" | "parentUrn">): string => {
        const known = qualified.get(r.urn);
        if (known !== undefined) return known;
        const parent = r.parentUrn ? byUrn.get(r.parentUrn) : undefined;
        const q = parent && parent.type !== "pulumi:pulumi:Stack" ? `${qualify(parent)}$${r.type}` : r.type;
        qualified.set(r.urn, q);
        return q;
    };
    return new Map(resources.map((r) => [r as RecordedResource, `urn:pulumi:${stack}::${project}::${qualify(r)}::${r.name}`]));
}

/** Why the current URNs differ from the snapshot, or undefined when they match. */
function urnDrift(stack: string, pinned: string[], current: string[]): string | undefined {
    const now = new Set(current);
    const before = new Set(pinned);
    const gone = pinned.filter((u) => !now.has(u));
    const added = current.filter((u) => !before.has(u));
    if (gone.length === 0 && added.length === 0) return undefined;
    const lines = [`stack ${stack}: the URNs of stateful resources changed.`];
    if (gone.length > 0) {
        lines.push(
            "No longer declared (Pulumi would DELETE these, or REPLACE them if they reappear under a new URN):",
            ...gone.map((u) => `  - ${u}`),
            "Why this fails: renaming changes the URN and REPLACES the resource (an ECR repository with all its images): add `aliases: [{ name: '<old>' }]` to the resource " +
                "(or `aliases: [{ parent: <old parent> }]` when it moved), or, if the change is intended, update the snapshot naming it: " +
                `UPDATE_URN_SNAPSHOTS='${stack}:<URN substring>' npx mocha test/stateSafety.test.ts`,
        );
    }
    if (added.length > 0) {
        lines.push("Newly declared (not in the snapshot):", ...added.map((u) => `  + ${u}`), `If they are intended, update the snapshot naming them: UPDATE_URN_SNAPSHOTS='${stack}:<URN substring>' npx mocha test/stateSafety.test.ts`);
    }
    return lines.join("\n");
}

/** Where UPDATE_URN_SNAPSHOTS says changes are intended: stack → URN substrings. */
type UpdateSpec = Map<string, string[]>;

/** Parses UPDATE_URN_SNAPSHOTS (`<stack>:<URN substring>[,…]`); undefined when unset. Throws on a bare "1". */
function parseUpdateSpec(value: string | undefined, stacks: string[]): UpdateSpec | undefined {
    if (value === undefined || value === "") return undefined;
    const spec: UpdateSpec = new Map();
    for (const item of value.split(",")) {
        const colon = item.indexOf(":");
        const stack = colon < 0 ? "" : item.slice(0, colon);
        if (!stacks.includes(stack)) {
            throw new Error(`UPDATE_URN_SNAPSHOTS="${value}": "${item}" is not <stack>:<URN substring> with a stack among ${stacks.join(", ")}; name where the change is intended, e.g. UPDATE_URN_SNAPSHOTS='prod:registry-nightly' (or 'local:' for every change of a stack)`);
        }
        spec.set(stack, [...(spec.get(stack) ?? []), item.slice(colon + 1)]);
    }
    return spec;
}

/**
 * Update mode for one stack: whether to rewrite its snapshot, and why not. Every drifted URN (gone or
 * added) must contain one of the stack's intended substrings, and every substring must match a drifted
 * URN (a stale or mistyped one would otherwise wave a future change through unnoticed).
 */
function snapshotUpdate(stack: string, pinned: string[], current: string[], intended: string[] | undefined): { write: boolean; problem?: string; diff: string[] } {
    const now = new Set(current);
    const before = new Set(pinned);
    const changed = [...pinned.filter((u) => !now.has(u)).map((urn) => ({ urn, line: `- ${urn}` })), ...current.filter((u) => !before.has(u)).map((urn) => ({ urn, line: `+ ${urn}` }))];
    const diff = changed.map((c) => c.line);
    const named = (intended ?? []).filter((sub) => sub !== "");
    if (changed.length === 0 && named.length === 0) return { write: false, diff };
    if (changed.length === 0) return { write: false, diff, problem: `stack ${stack}: UPDATE_URN_SNAPSHOTS names ${named.map((sub) => `"${stack}:${sub}"`).join(", ")}, but no pinned URN of the stack changed` };
    const report = urnDrift(stack, pinned, current)!;
    if (intended === undefined) return { write: false, diff, problem: [report, `(UPDATE_URN_SNAPSHOTS names no change in stack ${stack})`].join("\n") };
    const unintended = changed.filter((c) => !intended.some((sub) => c.urn.includes(sub)));
    if (unintended.length > 0) {
        return {
            write: false,
            diff,
            problem: [
                `stack ${stack}: not rewritten: these URN changes are outside UPDATE_URN_SNAPSHOTS (${intended.map((sub) => `${stack}:${sub}`).join(", ")}):`,
                ...unintended.map((c) => `  ${c.line}`),
                "",
                report,
            ].join("\n"),
        };
    }
    const unused = intended.filter((sub) => !changed.some((c) => c.urn.includes(sub)));
    if (unused.length > 0) {
        return {
            write: false,
            diff,
            problem: [`stack ${stack}: not rewritten: UPDATE_URN_SNAPSHOTS names ${unused.map((sub) => `"${stack}:${sub}"`).join(", ")}, which matches no changed URN; the changes are:`, ...diff.map((l) => `  ${l}`)].join("\n"),
        };
    }
    return { write: true, diff };
}

const UPDATE = parseUpdateSpec(process.env.UPDATE_URN_SNAPSHOTS, ["dev", "prod", "local"]);

function snapshotPath(stack: string): string {
    return path.join(SNAPSHOT_DIR, `urns.${stack}.json`);
}

describe("state safety: URNs of stateful resources are pinned per stack", function () {
    this.timeout(120_000);

    for (const [stack, opts] of Object.entries(STACKS)) {
        it(`${stack}: every repository, role, OIDC provider, instance profile, secret, lifecycle policy and component keeps its URN`, async () => {
            const run = await runProgram({ ...opts, env: { MLCI_REBUILD_EPOCH: "2026-11-22", GITHUB_TOKEN: undefined } });
            const urns = engineUrns(run.resources, stack);
            const current = [...new Set(run.resources.filter((r) => isPinned(r.type)).map((r) => urns.get(r)!))].sort();
            const exists = fs.existsSync(snapshotPath(stack));
            assert.ok(exists || UPDATE?.get(stack)?.includes(""), `no snapshot ${path.relative(process.cwd(), snapshotPath(stack))}: create it with UPDATE_URN_SNAPSHOTS='${stack}:' npx mocha test/stateSafety.test.ts`);
            const pinned: string[] = exists ? JSON.parse(fs.readFileSync(snapshotPath(stack), "utf8")).urns : [];
            if (UPDATE === undefined) {
                const drift = urnDrift(stack, pinned, current);
                assert.ok(drift === undefined, drift);
                return;
            }
            const update = snapshotUpdate(stack, pinned, current, UPDATE.get(stack));
            assert.ok(update.problem === undefined, update.problem);
            if (update.write) {
                fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
                fs.writeFileSync(snapshotPath(stack), `${JSON.stringify({ stack, note: "URNs of stateful resources; see test/stateSafety.test.ts", urns: current }, null, 2)}\n`);
                console.log(`      rewrote ${path.relative(process.cwd(), snapshotPath(stack))}:\n${update.diff.map((l) => `        ${l}`).join("\n")}`);
            }
        });
    }

    it("the snapshots pin what matters: every family repository on the ECR stacks, nothing cloud on local", () => {
        const read = (stack: string): string[] => JSON.parse(fs.readFileSync(snapshotPath(stack), "utf8")).urns;
        for (const stack of ["dev", "prod"]) {
            const repos = read(stack).filter((u) => u.includes("$aws:ecr/repository:Repository::"));
            assert.deepEqual(repos.map((u) => u.split("::").pop()).sort(), ["base", "cpu", "habitat", "nightly", "stable"].map((f) => `registry-${f}-repository`).sort(), stack);
            assert.ok(repos.every((u) => u.includes("::mlci:registry:EcrRegistry$mlci:registry:FamilyRepository$aws:ecr/repository:Repository::")), "fully qualified by every ancestor");
            assert.ok(read(stack).some((u) => u.endsWith("$aws:iam/role:Role::pipeline-access-role")), `${stack} pins the pipeline role`);
            assert.ok(read(stack).some((u) => u.endsWith("$aws:iam/role:Role::runner-access-role")), `${stack} pins the runner role`);
        }
        assert.deepEqual(read("local").filter((u) => u.includes("aws:")), []);
    });

    it("the drift report names a renamed repository as a replacement and gives the alias fix", () => {
        const old = "urn:pulumi:prod::ml-ci-images::mlci:registry:EcrRegistry$mlci:registry:FamilyRepository$aws:ecr/repository:Repository::registry-nightly-repository";
        const renamed = old.replace("registry-nightly-repository", "registry-nightly-repo");
        const report = urnDrift("prod", [old], [renamed])!;
        assert.match(report, /- .*::registry-nightly-repository$/m);
        assert.match(report, /\+ .*::registry-nightly-repo$/m);
        assert.ok(report.includes("renaming changes the URN and REPLACES the resource (an ECR repository with all its images): add `aliases: [{ name: '<old>' }]` to the resource"), report);
        assert.ok(report.includes("UPDATE_URN_SNAPSHOTS='prod:<URN substring>' npx mocha test/stateSafety.test.ts"), report);
        assert.equal(urnDrift("prod", [old], [old]), undefined);
    });

    it("a component moved under another parent changes the engine URN of every descendant", () => {
        const resources = [
            { type: "mlci:registry:EcrRegistry", name: "registry", urn: "r", parentUrn: "" },
            { type: "mlci:registry:FamilyRepository", name: "registry-base", urn: "f", parentUrn: "r" },
            { type: "aws:ecr/repository:Repository", name: "registry-base-repository", urn: "x", parentUrn: "f" },
        ];
        const urns = [...engineUrns(resources, "dev").values()];
        assert.equal(urns[2], "urn:pulumi:dev::ml-ci-images::mlci:registry:EcrRegistry$mlci:registry:FamilyRepository$aws:ecr/repository:Repository::registry-base-repository");
        const moved = [...engineUrns([{ ...resources[0], type: "mlci:registry:Registry" }, resources[1], resources[2]], "dev").values()];
        assert.notEqual(moved[2], urns[2], "a renamed grandparent type replaces the repository");
    });
});

describe("state safety: deletion protection of ECR repositories", function () {
    this.timeout(120_000);

    it("prod repositories are protected and retained on delete, never force-deleted", async () => {
        const run = await runProgram({ ...STACKS.prod, env: { GITHUB_TOKEN: undefined } });
        const repos = run.byType("aws:ecr/repository:Repository");
        assert.equal(repos.length, 5);
        for (const r of repos) {
            assert.equal(r.protect, true, `${r.urn} must be protected`);
            assert.equal(r.retainOnDelete, true, `${r.urn} must be retained on delete`);
            assert.notEqual(r.inputs.forceDelete, true, `${r.urn} must not be force-deleted`);
        }
    });

    it("dev repositories are not protected and may be force-deleted with their images", async () => {
        const run = await runProgram({ ...STACKS.dev });
        const repos = run.byType("aws:ecr/repository:Repository");
        assert.equal(repos.length, 5);
        for (const r of repos) {
            assert.equal(r.protect, false, `${r.urn} must not be protected`);
            assert.equal(r.retainOnDelete, false, `${r.urn} is deleted with the dev stack`);
            assert.equal(r.inputs.forceDelete, true, `${r.urn} must be force-deletable`);
        }
    });
});

describe("state safety: snapshot update mode still asserts", () => {
    const repo = (name: string) => `urn:pulumi:prod::ml-ci-images::mlci:registry:EcrRegistry$mlci:registry:FamilyRepository$aws:ecr/repository:Repository::${name}`;
    const role = "urn:pulumi:prod::ml-ci-images::mlci:access:RunnerPullAccess$aws:iam/role:Role::runner-access-role";
    const pinned = [repo("registry-base-repository"), repo("registry-nightly-repository"), role];

    it("rewrites when every changed URN is where UPDATE_URN_SNAPSHOTS says, and reports the diff", () => {
        const current = [repo("registry-base-repository"), repo("registry-nightly-images"), role];
        const u = snapshotUpdate("prod", pinned, current, ["registry-nightly"]);
        assert.deepEqual(u, { write: true, diff: [`- ${repo("registry-nightly-repository")}`, `+ ${repo("registry-nightly-images")}`] });
    });

    it("refuses (nothing written) when another pinned URN changed too, naming it", () => {
        const current = [repo("registry-base-repository"), repo("registry-nightly-images"), role.replace("runner-access-role", "runner-role")];
        const u = snapshotUpdate("prod", pinned, current, ["registry-nightly"]);
        assert.equal(u.write, false);
        assert.ok(u.problem!.startsWith("stack prod: not rewritten: these URN changes are outside UPDATE_URN_SNAPSHOTS (prod:registry-nightly):\n"), u.problem);
        assert.ok(u.problem!.includes(`  - ${role}\n`), u.problem);
        assert.ok(!u.problem!.split("\n\n")[0].includes("registry-nightly-images"), "the intended change is not listed as unintended");
    });

    it("refuses a substring that matches no change, and a stack the spec does not name", () => {
        const current = [repo("registry-base-repository"), repo("registry-nightly-images"), role];
        assert.match(snapshotUpdate("prod", pinned, current, ["registry-nightly", "registry-cpu"]).problem!, /UPDATE_URN_SNAPSHOTS names "prod:registry-cpu", which matches no changed URN/);
        assert.match(snapshotUpdate("prod", pinned, current, undefined).problem!, /UPDATE_URN_SNAPSHOTS names no change in stack prod/);
        assert.deepEqual(snapshotUpdate("prod", pinned, pinned, undefined), { write: false, diff: [] });
        assert.deepEqual(snapshotUpdate("prod", pinned, pinned, [""]), { write: false, diff: [] });
        assert.match(snapshotUpdate("prod", pinned, pinned, ["registry-nightly"]).problem!, /names "prod:registry-nightly", but no pinned URN of the stack changed/);
    });

    it("takes <stack>:<substring> lists; a bare 1 or an unknown stack is an error that shows the form", () => {
        assert.equal(parseUpdateSpec(undefined, ["dev", "prod"]), undefined);
        assert.deepEqual([...parseUpdateSpec("prod:registry-nightly,prod:runner,dev:", ["dev", "prod"])!], [["prod", ["registry-nightly", "runner"]], ["dev", [""]]]);
        for (const bad of ["1", "staging:x", "registry-nightly"]) {
            assert.throws(() => parseUpdateSpec(bad, ["dev", "prod"]), /is not <stack>:<URN substring> with a stack among dev, prod; name where the change is intended, e.g. UPDATE_URN_SNAPSHOTS='prod:registry-nightly'/, bad);
        }
    });
});
