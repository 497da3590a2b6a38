/**
 * #27 review, finding 8: the GitHub token stays out of the state. Two copies could land there:
 * - the SDK's: @pulumi/github's Provider constructor copies GITHUB_TOKEN into its `token` input when given none
 *   (provider.js `?? utilities.getEnv("GITHUB_TOKEN")`); index.ts deletes the program's GITHUB_TOKEN first;
 * - the plugin's: NOT stored. pulumi-github provider/resources.go declares `token` Default EnvVars GITHUB_TOKEN, but
 *   pulumi-terraform-bridge pkg/tfbridge/provider.go CheckConfig applies defaults only to the Terraform config it
 *   validates (buildTerraformConfig → makeTerraformInputsWithOptions) and returns the program's `news` (secrets
 *   marked, changed only by a PreConfigureCallback, which pulumi-github has none of); the engine stores that.
 * So this checks what the program registers, with a token in its environment.
 */
import * as assert from "assert";
import { runProgram } from "./harness";

const TOKEN = "ghs_thisIsAPerRunInstallationToken0123456789";

describe("the GitHub token is kept out of what the program registers (#27 review, finding 8)", function () {
    this.timeout(120_000);

    it("with GITHUB_TOKEN set, the GitHub provider gets no token input and no registered input holds the token", async () => {
        const run = await runProgram({ stack: "prod", env: { MLCI_REBUILD_EPOCH: "2026-11-22", GITHUB_TOKEN: TOKEN } });
        const provider = run.one("pulumi:providers:github", "github-provider");
        assert.ok(!("token" in provider.inputs), `provider inputs: ${Object.keys(provider.inputs).join(", ")}`);
        assert.strictEqual(provider.inputs.owner, "pytorch");
        const leaking = run.resources.filter((r) => JSON.stringify(r.inputs).includes(TOKEN));
        assert.deepStrictEqual(leaking.map((r) => r.urn), []);
    });
});
