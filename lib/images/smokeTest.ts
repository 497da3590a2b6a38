/**
 * The smoke test's command line (docker/test_image.sh), one definition for the program's smoke-test
 * Command and for `ci-images publish`: a build published by either is tested the same way, so the
 * marker it earns means the same thing.
 */
import type { TaggedImage } from "./graph";
import { cudaShort } from "./matrix";

/** The smoke test script, relative to the project root. */
export const SMOKE_TEST_SCRIPT = "docker/test_image.sh";

/** How an image is smoke-tested. */
export interface SmokeTestOptions {
    /** Maximum compressed registry size in GB (the family's budget). */
    sizeBudgetGb: number;
    /** Also require CUDA to run (GPU host); only for CUDA cells. */
    gpu: boolean;
}

/**
 * The script's flags for an image: the cell (`--python X.Y`, `--cuda X.Y` or `--cuda none`) always,
 * so an image referenced by digest, whose tag the script cannot read, is still checked against its
 * cell; the size budget, `--gpu` (CUDA cells on a GPU host), the family's imports, the pinned torch
 * version (families with a TORCH_VERSION arg) and the rebuild epoch of date-rebuilt families, so a
 * nightly wheel older than 8 days before the epoch fails (freshness).
 */
export function smokeTestArgs(image: Pick<TaggedImage, "cell" | "smokeImports" | "buildArgs" | "hashInputs">, opts: SmokeTestOptions): string[] {
    return [
        "--python",
        image.cell.python,
        "--cuda",
        image.cell.cuda ? cudaShort(image.cell.cuda) : "none",
        "--size-budget-gb",
        String(opts.sizeBudgetGb),
        ...(opts.gpu && image.cell.cuda ? ["--gpu"] : []),
        ...(image.smokeImports.length ? ["--imports", image.smokeImports.join(",")] : []),
        ...(image.buildArgs.TORCH_VERSION ? ["--torch-version", image.buildArgs.TORCH_VERSION] : []),
        ...(image.hashInputs.rebuildEpoch ? ["--rebuild-epoch", image.hashInputs.rebuildEpoch] : []),
    ];
}

/**
 * One argument for a POSIX shell line: left bare when it is only characters no shell treats
 * specially (so the usual lines read as before), else single-quoted (`'` as `'\''`).
 */
export function shellQuote(arg: string): string {
    return /^[A-Za-z0-9_.,:/@%+=-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

/**
 * The smoke test as one shell line, for the program's smoke-test Command (pulumi-command runs
 * `create` through `sh -c`): every argument quoted, so a config value can never become shell syntax
 * even if it got past the config schema's module-name check.
 */
export function smokeTestCommandLine(wrapper: string[], ref: string, flags: string[]): string {
    return [...wrapper, "bash", SMOKE_TEST_SCRIPT, ref, ...flags].map(shellQuote).join(" ");
}
