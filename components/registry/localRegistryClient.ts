import { FetchLike, RegistryHttpClient } from "../../lib/registry/registryHttp";

const HOOKS = Symbol.for("mlci.localRegistryHooks");

/**
 * The `fetch` the program uses to reach the local registry (`http://localhost:<port>`). Unit tests
 * replace it with an in-memory registry (test/fakeRegistry.ts) so no test opens a real port. Kept
 * on `globalThis` under a registered symbol, so a copy of the program loaded from another path
 * (the no-op tests run two checkouts) shares it.
 */
export const localRegistryHooks: { fetch: FetchLike } = ((globalThis as Record<symbol, unknown>)[HOOKS] as { fetch: FetchLike } | undefined) ??
    ((globalThis as Record<symbol, unknown>)[HOOKS] = { fetch: (url: string, init?: Parameters<FetchLike>[1]) => fetch(url, init as RequestInit) }) as { fetch: FetchLike };

/** A registry v2 client of the local registry at `localhost:<port>` (no credentials: Docker trusts localhost). */
export function localRegistryClient(server: string): RegistryHttpClient {
    return new RegistryHttpClient({ baseUrl: `http://${server}`, fetch: (url, init) => localRegistryHooks.fetch(url, init) });
}
