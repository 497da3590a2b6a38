/**
 * #27 review, finding 3: the PR preview role reads the state, so it reads only what a `pulumi preview` of prod reads
 * on the DIY backend (pulumi/pulumi pkg/backend/diy: `.pulumi/meta.yaml`, `.pulumi/stacks/<project>/<stack>.json`
 * or its .gz/.zst variant), never `.pulumi/history/*` or `.pulumi/backups/*`, which keep older checkpoints (from
 * before the migration that took registry tokens out of the state: decision record 0013). iam-simulate decides.
 */
import * as assert from "assert";
import { PolicyDocument } from "../lib/access/documents";
import { plain, runProgram } from "./harness";
import { simulatedAllow } from "./simulatedPolicies";

const STATE = "arn:aws:s3:::ml-ci-pulumi-state/ml-ci-images/.pulumi";

describe("the preview role reads prod's checkpoint only, no history or backups (#27 review, finding 3)", function () {
    this.timeout(120_000);
    let preview: PolicyDocument;
    before(async () => {
        const run = await runProgram({ stack: "prod", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        preview = JSON.parse(plain(run.one("aws:iam/policy:Policy", "preview-access-read-policy").inputs.policy));
    });

    it("allows meta.yaml and prod's checkpoint (every compression variant)", async () => {
        for (const key of ["meta.yaml", "stacks/ml-ci-images/prod.json", "stacks/ml-ci-images/prod.json.gz", "stacks/ml-ci-images/prod.json.zst"]) {
            assert.ok(await simulatedAllow([preview], "s3:GetObject", `${STATE}/${key}`), key);
        }
        assert.ok(await simulatedAllow([preview], "s3:ListBucket", "arn:aws:s3:::ml-ci-pulumi-state", { "s3:prefix": "ml-ci-images/.pulumi/stacks/ml-ci-images/" }));
    });

    it("denies history, backups, locks and other stacks' checkpoints", async () => {
        for (const key of ["history/ml-ci-images/prod/prod-1733000000000000000.checkpoint.json", "backups/ml-ci-images/prod/prod.1733000000000000000.json", "stacks/ml-ci-images/dev.json", "locks/ml-ci-images/prod/x.json"]) {
            assert.ok(!(await simulatedAllow([preview], "s3:GetObject", `${STATE}/${key}`)), key);
        }
        assert.ok(!(await simulatedAllow([preview], "s3:PutObject", `${STATE}/stacks/ml-ci-images/prod.json`)));
    });
});
