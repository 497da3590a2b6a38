/**
 * One measured process for the program-evaluation benchmark (run by programEvaluation.ts):
 *   real <config.yaml> <out.json>           the program (index.ts) under the test harness's mocks; the
 *                                           registry holds every tag the previous real run pushed
 *                                           (`<out.json>` if present): the preview / no-op `up` case
 *   bare <real-out.json> <out.json>         no program: the same node_modules modules loaded, the
 *                                           same resources registered flat under plain mocks
 * Each writes `{ ms }`: milliseconds from process start to the end of the run.
 */
import * as fs from "fs";
import { performance } from "perf_hooks";

interface RealOut {
    ms: number;
    images: number;
    resources: { type: string; name: string; custom: boolean; inputs: Record<string, unknown> }[];
    /** `<repository>:<tag>` → digest for every content and dated tag of the run. */
    registryImages: Record<string, string>;
    /** Files under node_modules the real run loaded, in load order. */
    modules: string[];
}

async function real(configPath: string, outPath: string): Promise<void> {
    const { runProgram } = require("../test/harness");
    const previous: RealOut | undefined = fs.existsSync(outPath) ? JSON.parse(fs.readFileSync(outPath, "utf8")) : undefined;
    const result = await runProgram({ stack: "dev", configYaml: fs.readFileSync(configPath, "utf8"), registryImages: previous?.registryImages ?? {} });
    const ms = performance.now();
    // What the run left in the ECR model (builds, markers, aliases): the next run adopts everything.
    const registryImages: Record<string, string> = {};
    for (const [repo, r] of result.ecr.repositories) for (const img of r.images) for (const tag of img.tags) registryImages[`${repo}:${tag}`] = img.digest;
    const out: RealOut = {
        ms,
        images: Object.keys(result.outputs.images ?? {}).length,
        registryImages,
        resources: result.resources.map((r: RealOut["resources"][number]) => ({ type: r.type, name: r.name, custom: r.custom, inputs: r.inputs })),
        modules: Object.keys(require.cache).filter((f) => f.includes("/node_modules/") && !f.includes("/ts-node/") && !f.includes("/typescript/")),
    };
    fs.writeFileSync(outPath, JSON.stringify(out));
}

async function bare(realOutPath: string, outPath: string): Promise<void> {
    const recorded: RealOut = JSON.parse(fs.readFileSync(realOutPath, "utf8"));
    for (const m of recorded.modules) require(m);
    const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
            call: (args) => args.inputs,
        },
        "ml-ci-images",
        "dev",
        false,
    );
    class Custom extends pulumi.CustomResource {}
    class Component extends pulumi.ComponentResource {}
    recorded.resources.forEach((r, i) => {
        if (r.custom) new Custom(r.type, `${r.name}-${i}`, r.inputs);
        else new Component(r.type, `${r.name}-${i}`, {}, {});
    });
    await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
    fs.writeFileSync(outPath, JSON.stringify({ ms: performance.now() }));
}

const [mode, a, b] = process.argv.slice(2);
(mode === "real" ? real(a, b) : mode === "bare" ? bare(a, b) : Promise.reject(new Error(`unknown mode ${mode}`))).then(
    () => process.exit(0),
    (e) => {
        console.error(e?.stack ?? e);
        process.exit(1);
    },
);
