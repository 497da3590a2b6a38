import * as pulumi from "@pulumi/pulumi";
import { FetchLike, RegistryHttpClient } from "../../lib/registry/registryHttp";
import { RetrySettings } from "../../lib/registry/retryPolicy";

const HOOKS = Symbol.for("mlci.localRegistryHooks");

/** What the program's local-registry client runs with; unit tests replace every part. */
export interface LocalRegistryHooks {
    fetch: FetchLike;
    /** Waits between retries. @default setTimeout */
    sleep: (ms: number) => Promise<void>;
    /** Jitter source in [0, 1). @default Math.random */
    random: () => number;
    /** Where a retry is announced. @default pulumi.log.warn */
    onRetry: (line: string) => void;
    /**
     * Whether this run creates the LocalRegistry (no container of that name exists yet, so nothing
     * can listen on its port). @default asks docker: `docker container inspect <name>` says "No such container"
     */
    registryCreatedByThisRun: (containerName: string) => Promise<boolean>;
}

/** The default {@link LocalRegistryHooks.registryCreatedByThisRun}: no container of that name (docker's "No such container"). */
function noSuchContainer(containerName: string): Promise<boolean> {
    return new Promise((resolve) => {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const { execFile } = require("child_process") as typeof import("child_process");
        execFile("docker", ["container", "inspect", "--format", "{{.Id}}", containerName], (error, _stdout, stderr) => {
            // Another failure (no docker CLI, daemon down) is not read as "created": a refusal then fails the run.
            resolve(error !== null && /no such (container|object)/i.test(String(stderr)));
        });
    });
}

/**
 * The `fetch` (and retry clock) the program uses to reach the local registry
 * (`http://localhost:<port>`). Unit tests replace it with an in-memory registry
 * (test/fakeRegistry.ts) so no test opens a real port. Kept on `globalThis` under a registered
 * symbol, so a copy of the program loaded from another path (the no-op tests run two checkouts)
 * shares it.
 */
export const localRegistryHooks: LocalRegistryHooks = (() => {
    const g = globalThis as Record<symbol, unknown>;
    const hooks = (g[HOOKS] ??= { fetch: (url: string, init?: Parameters<FetchLike>[1]) => fetch(url, init as RequestInit) }) as Partial<LocalRegistryHooks>;
    hooks.sleep ??= (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    hooks.random ??= Math.random;
    hooks.onRetry ??= (line) => void pulumi.log.warn(`local registry: ${line}`);
    hooks.registryCreatedByThisRun ??= noSuchContainer;
    return hooks as LocalRegistryHooks;
})();

/**
 * Retries of the program's local-registry reads: the registry's rules (lib/registry/retryPolicy.ts)
 * within a shorter budget than the CLI's. When this run creates the registry (first `up`), a refused
 * connection is not retried: nothing can listen yet, and it means "empty" at once.
 */
export const LOCAL_REGISTRY_RETRY: Partial<RetrySettings> = { maxAttempts: 5, budgetMs: 15_000 };

/**
 * A registry v2 client of the local registry at `localhost:<port>` (no credentials: Docker trusts
 * localhost). `createdByThisRun`: a refused connection is final (see {@link LOCAL_REGISTRY_RETRY}).
 */
export function localRegistryClient(server: string, createdByThisRun = false): RegistryHttpClient {
    return new RegistryHttpClient({
        baseUrl: `http://${server}`,
        fetch: (url, init) => localRegistryHooks.fetch(url, init),
        retry: {
            settings: { ...LOCAL_REGISTRY_RETRY, retryRefused: !createdByThisRun },
            now: () => Date.now(),
            sleep: (ms) => localRegistryHooks.sleep(ms),
            random: () => localRegistryHooks.random(),
            onRetry: (line) => localRegistryHooks.onRetry(line),
        },
    });
}
