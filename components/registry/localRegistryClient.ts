import { FetchLike, RegistryHttpClient } from "../../lib/registry/registryHttp";

/**
 * The `fetch` the program uses to reach the local registry (`http://localhost:<port>`). Unit tests
 * replace it with an in-memory registry (test/fakeRegistry.ts) so no test opens a real port.
 */
export const localRegistryHooks: { fetch: FetchLike } = {
    fetch: (url, init) => fetch(url, init as RequestInit),
};

/** A registry v2 client of the local registry at `localhost:<port>` (no credentials: Docker trusts localhost). */
export function localRegistryClient(server: string): RegistryHttpClient {
    return new RegistryHttpClient({ baseUrl: `http://${server}`, fetch: (url, init) => localRegistryHooks.fetch(url, init) });
}
