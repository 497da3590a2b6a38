import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { planStackFile } from "../lib/stackPlan";
import { projectCopyPinnedToFixture } from "./preflightFixture";

const ROOT = path.resolve(__dirname, "..");

describe("baseImages keys match the pinned tag's version", () => {
    it("the shipped stacks pass", async () => {
        for (const stack of ["dev", "prod", "local"]) await planStackFile(ROOT, stack, { useHashCache: false });
    });
    it("a CUDA key pointing at another CUDA version's image fails with the path and the fix", async () => {
        const dir = projectCopyPinnedToFixture(ROOT);
        const file = path.join(dir, "Pulumi.prod.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/"13\.2\.1": nvidia\/cuda:13\.2\.1-devel/, '"13.2.1": nvidia/cuda:13.0.2-devel'));
        await assert.rejects(planStackFile(dir, "prod", { useHashCache: false }), /config mlci:families\.base\.baseImages\["13\.2\.1"\]: points at nvidia\/cuda:13\.0\.2-devel-ubuntu24\.04, whose tag is not CUDA 13\.2\.1 .*Fix: pin the 13\.2\.1 image/);
    });
    it("a Python key of a cpuOnly family pointing at another Python's image fails", async () => {
        const dir = projectCopyPinnedToFixture(ROOT);
        const file = path.join(dir, "Pulumi.prod.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/"3\.13": library\/python:3\.13-slim/, '"3.13": library/python:3.12-slim'));
        await assert.rejects(planStackFile(dir, "prod", { useHashCache: false }), /config mlci:families\.cpu\.baseImages\["3\.13"\]: points at library\/python:3\.12-slim-bookworm, whose tag is not Python 3\.13/);
    });
    it("the base Dockerfile declares no UBUNTU_VERSION (the Ubuntu release is the pinned upstream image's), and no stack sets it", () => {
        assert.ok(!/\bUBUNTU_VERSION\b/.test(fs.readFileSync(path.join(ROOT, "docker/base/Dockerfile"), "utf8")));
        for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f))) assert.ok(!/UBUNTU_VERSION/.test(fs.readFileSync(path.join(ROOT, f), "utf8")), f);
    });
});
