/**
 * What every `ci-images` command runs with: its parsed flags, the streams, the environment and the
 * services a test replaces (fetch, the ECR authorization token). Commands throw {@link UsageError}
 * (exit 2) or {@link CliError} (exit 1) for expected failures: cli/main.ts prints their message, never
 * a stack trace.
 */
import type { FetchLike } from "../lib/registry/registryHttp";
import type { StackPlan } from "../lib/stackPlan";

/** A wrong call: unknown flag, missing argument, bad value. Exit 2, with the command's usage line. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** An expected failure (missing file, registry refused, timeout): exit 1 (or `exitCode`), message only. */
export class CliError extends Error {
    constructor(
        message: string,
        public readonly exitCode: number = 1,
    ) {
        super(message);
        this.name = "CliError";
    }
}

/** An ECR registry login, as GetAuthorizationToken returns it (decoded). */
export interface EcrAuthorization {
    /** `https://<account>.dkr.ecr.<region>.amazonaws.com` */
    proxyEndpoint: string;
    /** Always `AWS`. */
    user: string;
    password: string;
}

/** Services a command may use; tests replace them (no real network, no AWS account). */
export interface CliServices {
    /** HTTP for registry v2 APIs and the wheel index. @default globalThis.fetch */
    fetch: FetchLike;
    /** ECR GetAuthorizationToken in a region. @default @aws-sdk/client-ecr, loaded on first use */
    ecrAuthorization: (region: string) => Promise<EcrAuthorization>;
    /** Waits `ms` (wait's and scan-gate's polling). @default setTimeout */
    sleep: (ms: number) => Promise<void>;
    /** The clock. @default new Date() */
    now: () => Date;
    /** Uniform in [0, 1): the jitter of registry retries (lib/registry/retryPolicy.ts). @default Math.random */
    random?: () => number;
}

/** The context one command runs in (built by cli/main.ts). */
export interface CommandContext {
    /** The command name, e.g. `tags`. */
    command: string;
    /** Positional arguments after the command. */
    positional: string[];
    /** A value flag (`--timeout 90m`), or undefined when not given. */
    flag(name: string): string | undefined;
    /** A boolean flag (`--online`). */
    has(name: string): boolean;
    /** `--json`: machine output on stdout (every command accepts it). */
    json: boolean;
    out: NodeJS.WritableStream;
    err: NodeJS.WritableStream;
    env: NodeJS.ProcessEnv;
    services: CliServices;
    /** The project root: `--root`, or the directory holding Pulumi.yaml at or above the working directory. */
    root(): string;
    /** The stack: `--stack`, else `PULUMI_STACK`, else the Pulumi workspace's selected stack; UsageError when none. */
    stack(): string;
    /** Validates the stack's config and computes every image and tag (with the user-level hash cache). */
    plan(): Promise<StackPlan>;
    /** Prints `ci-images: warning: …` on stderr (never fails the command). */
    warn(message: string): void;
}

/** One flag of a command. */
export interface FlagSpec {
    /** Placeholder of the value (`<duration>`); absent for a boolean flag. */
    value?: string;
    help: string;
}

/** A command's interface: what `--help` prints and what the parser accepts. */
export interface CommandSpec {
    name: string;
    /** One line for the global usage. */
    summary: string;
    /** Positional part of the usage line, e.g. `<image>`. */
    args?: string;
    /** How many positional arguments it takes. @default 0 */
    positionals?: { min: number; max: number };
    /** Whether it reads a stack (`--stack`/`PULUMI_STACK`/the workspace). */
    stack: "required" | "optional" | "none";
    /** The command's own flags (the global ones, --stack --root --json --help, are added). */
    flags: Record<string, FlagSpec>;
    /** Paragraphs after the usage line: what it does, its exit codes, an example. */
    details: string;
    /** Loads the implementation (lazily: `--help` and other commands never load it). */
    load(): (ctx: CommandContext) => Promise<number>;
}
