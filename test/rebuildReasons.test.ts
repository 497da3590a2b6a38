/** lib/images/rebuildReasons.ts on hand-made plans: the verdicts and reasons explain and graph print. */
import { strict as assert } from "assert";
import type { SizedContextEntry } from "../lib/images/graph";
import { ExplainedImage, explainRebuilds } from "../lib/images/rebuildReasons";

const sha = (c: string) => c.repeat(64);

function image(name: string, parent: string | undefined, over: { files?: SizedContextEntry[]; tag?: string; parentTag?: string | null } = {}): ExplainedImage {
    const files = over.files ?? [{ path: "Dockerfile", mode: "-", sha256: sha("a"), size: 10 }];
    return {
        name,
        parent,
        tag: over.tag ?? `${name}-t1`,
        dockerfile: `docker/${name}/Dockerfile`,
        context: `docker/${name}`,
        hashInputs: {
            dockerfileSha256: sha("d"),
            contextDigest: files.map((f) => f.sha256[0]).join(""),
            buildArgs: { PYTHON_VERSION: "3.12" },
            platforms: ["linux/amd64"],
            parentTag: over.parentTag ?? (parent ? `${parent}-t1` : null),
            rebuildEpoch: null,
            contextFiles: files.length,
            contextManifest: files,
        },
    };
}

describe("rebuild reasons", () => {
    it("names at most three context files and counts the rest, and says when the parent rebuilds too", () => {
        const files = (c: string) => ["a", "b", "c", "d", "e"].map((p) => ({ path: `${p}.py`, mode: "-" as const, sha256: sha(c), size: 1 }));
        const before = [image("base", undefined), image("app", "base", { files: files("1") })];
        const after = [image("base", undefined), image("app", "base", { files: files("2"), tag: "app-t2" })];
        const [base, app] = explainRebuilds({ images: before }, { images: after });
        assert.equal(base.status, "unchanged");
        assert.equal(app.status, "rebuilds-own-input");
        assert.equal(app.reason, "rebuilds: docker/app/a.py modified; docker/app/b.py modified; docker/app/c.py modified; 2 more context files changed");
        const baseEdited = image("base", undefined, { files: [{ path: "Dockerfile", mode: "-", sha256: sha("b"), size: 10 }], tag: "base-t2" });
        const withParent = explainRebuilds({ images: before }, { images: [baseEdited, image("app", "base", { files: files("2"), tag: "app-t2", parentTag: "base-t2" })] });
        assert.equal(withParent[0].status, "rebuilds-own-input");
        assert.equal(withParent[0].reason, "rebuilds: docker/base/Dockerfile modified", "same size: no size shown");
        assert.deepEqual(withParent[1].changes.map((c) => c.input), ["context", "context", "context", "context", "context", "parentTag"]);
        assert.match(withParent[1].reason!, / \(and its parent `base` rebuilds\)$/);
    });

    it("a revision whose config did not validate: every image rebuilds, and the reason says why", () => {
        const verdicts = explainRebuilds({ invalid: "HEAD~9: mlci:registry.pullThroughCache" }, { images: [image("base", undefined)] });
        assert.deepEqual(verdicts.map((v) => [v.status, v.previousTag, v.reason]), [["rebuilds-own-input", null, "rebuilds: no previous tag is known, since the stack's config at HEAD~9: mlci:registry.pullThroughCache does not validate under this checkout's rules"]]);
    });
});
