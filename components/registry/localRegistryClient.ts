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
    return hooks as LocalRegistryHooks;
})();

/**
 * Retries of the program's local-registry reads: the registry's rules (lib/registry/retryPolicy.ts)
 * within a shorter budget than the CLI's, because on the first `up` nothing listens yet (the program
 * creates the registry) and a refused connection then means "empty", after these few seconds.
 */
export const LOCAL_REGISTRY_RETRY: Partial<RetrySettings> = { maxAttempts: 5, budgetMs: 15_000 };

/** A registry v2 client of the local registry at `localhost:<port>` (no credentials: Docker trusts localhost). */
export function localRegistryClient(server: string): RegistryHttpClient {
    return new RegistryHttpClient({
        baseUrl: `http://${server}`,
        fetch: (url, init) => localRegistryHooks.fetch(url, init),
        retry: {
            settings: LOCAL_REGISTRY_RETRY,
            now: () => Date.now(),
            sleep: (ms) => localRegistryHooks.sleep(ms),
            random: () => localRegistryHooks.random(),
            onRetry: (line) => localRegistryHooks.onRetry(line),
        },
    });
}
