import { strict as assert } from "assert";
import { EcrModel, immutableTagMessage, listImagesAccessDenied } from "./ecrModel";

const D1 = "sha256:" + "1".repeat(64);
const D2 = "sha256:" + "2".repeat(64);

function thrown(f: () => unknown): Error & { details?: string } {
    try {
        f();
    } catch (e) {
        return e as Error & { details?: string };
    }
    throw new Error("expected a throw");
}

describe("ECR model of the mocks harness (FACTS §0, §2, §10)", () => {
    it("getImages answers ListImages ids, one per digest+tag pair, untagged without a tag", () => {
        const m = new EcrModel();
        m.addImage("ml-ci/base", D1, ["a", "b"]);
        m.addImage("ml-ci/base", D2, []);
        assert.deepEqual(m.getImages({ repositoryName: "ml-ci/base" }).imageIds, [
            { imageDigest: D1, imageTag: "a" },
            { imageDigest: D1, imageTag: "b" },
            { imageDigest: D2 },
        ]);
        assert.equal(m.registryCalls(), 1);
    });

    it("a missing repository is `couldn't find resource`, with details so the message survives the mock runtime", () => {
        const e = thrown(() => new EcrModel().getImages({ repositoryName: "ml-ci/none" }));
        assert.equal(e.message, "reading ECR Images: couldn't find resource");
        assert.equal(e.details, e.message);
    });

    it("an injected AccessDenied names ecr:ListImages and the repository", () => {
        const m = new EcrModel();
        m.ensureRepository("ml-ci/base");
        m.deniedListImages.add("ml-ci/base");
        const e = thrown(() => m.getImages({ repositoryName: "ml-ci/base" }));
        assert.equal(e.message, listImagesAccessDenied("ml-ci/base"));
        assert.ok(e.message.includes("AccessDeniedException") && e.message.includes("ecr:ListImages") && e.message.includes("repository/ml-ci/base"));
    });

    it("immutability: moving a tag to another digest fails with ECR's text, except excluded tags; same digest is fine", () => {
        const m = new EcrModel();
        m.configureRepository("ml-ci/base", "IMMUTABLE_WITH_EXCLUSION", [{ filter: "*-latest" }]);
        m.putTags("ml-ci/base", D1, ["py3.12-h0123456789ab", "py3.12-latest"]);
        m.putTags("ml-ci/base", D1, ["py3.12-h0123456789ab"]);
        m.putTags("ml-ci/base", D2, ["py3.12-latest"]);
        assert.equal(m.digestOf("ml-ci/base", "py3.12-latest"), D2);
        const e = thrown(() => m.putTags("ml-ci/base", D2, ["py3.12-h0123456789ab"]));
        assert.equal(e.message, immutableTagMessage("py3.12-h0123456789ab", "ml-ci/base"));
        assert.equal(
            e.message,
            "tag invalid: The image tag 'py3.12-h0123456789ab' already exists in the 'ml-ci/base' repository and cannot be overwritten because the repository is immutable.",
        );
    });

    it("a MUTABLE repository moves any tag", () => {
        const m = new EcrModel();
        m.configureRepository("r", "MUTABLE", undefined);
        m.putTags("r", D1, ["t"]);
        m.putTags("r", D2, ["t"]);
        assert.equal(m.digestOf("r", "t"), D2);
    });
});
