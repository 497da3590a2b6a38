/**
 * Runs `ci-images` in-process (cli/main.ts) with captured streams, an isolated hash cache and
 * replaceable services (fetch, ECR token, clock, sleep), for command tests that need fakes.
 * Subprocess tests of the built CLI use test/builtCli.ts instead.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import type { CliServices } from "../cli/context";
import { main } from "../cli/main";
import YAML from "yaml";
import { catalogConfig, catalogFiles, writeTree } from "./fixtures";

/** What one in-process run printed and returned. */
export interface CliRun {
    code: number;
    stdout: string;
    stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
    /** Environment of the run. @default process.env without PULUMI_STACK/CI_IMAGES_REGISTRY/MLCI_REGISTRY_AUTH/CI_IMAGES_REGISTRY_ATTEMPTS/AWS retry settings, with a temp XDG_CACHE_HOME and PULUMI_HOME */
    env?: NodeJS.ProcessEnv;
    /** Working directory. @default process.cwd() */
    cwd?: string;
    services?: Partial<CliServices>;
}

let isolated: string | undefined;

/** An environment that cannot see the developer's Pulumi workspace, cache or registry login. */
export function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    isolated ??= fs.mkdtempSync(path.join(os.tmpdir(), "ci-images-test-home-"));
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(isolated, "cache"), PULUMI_HOME: path.join(isolated, "pulumi") };
    for (const k of ["PULUMI_STACK", "CI_IMAGES_REGISTRY", "MLCI_REGISTRY_AUTH", "MLCI_HASH_CACHE", "AWS_REGION", "AWS_DEFAULT_REGION", "CI_IMAGES_REGISTRY_ATTEMPTS", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"]) delete env[k];
    return { ...env, ...extra };
}

/** Runs the CLI in-process and captures its output. */
export async function runCli(argv: string[], opts: RunCliOptions = {}): Promise<CliRun> {
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = "";
    let stderr = "";
    out.on("data", (d) => (stdout += d));
    err.on("data", (d) => (stderr += d));
    const code = await main(argv, { out, err, env: opts.env ?? isolatedEnv(), cwd: opts.cwd, services: opts.services });
    return { code, stdout, stderr };
}

/** A fixture project with a `ci` stack file holding the fixture catalog config. */
export function cliFixtureProject(): string {
    const root = writeTree(catalogFiles());
    const config = Object.fromEntries(Object.entries(catalogConfig()).map(([k, v]) => [`mlci:${k}`, v]));
    fs.writeFileSync(path.join(root, "Pulumi.ci.yaml"), YAML.stringify({ config: { "aws:region": "us-east-1", ...config, "mlci:dockerHubAccessToken": { secure: "v1:abc" } } }));
    return root;
}

