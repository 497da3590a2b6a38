import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { localRegistryDigest } from "../components/registry/localRegistry";

describe("local registry lookup (adopting tags the local registry already has)", () => {
    const digest = `sha256:${"cd".repeat(32)}`;
    let server: http.Server;
    let host: string;
    const seen: { method?: string; url?: string; accept?: string }[] = [];
    before(async () => {
        server = http.createServer((req, res) => {
            seen.push({ method: req.method, url: req.url, accept: req.headers.accept });
            if (req.url === "/v2/ml-ci/base/manifests/cuda12.6-py3.11-0123456789ab") {
                res.writeHead(200, { "Docker-Content-Digest": digest, "Content-Type": "application/vnd.oci.image.index.v1+json" });
            } else {
                res.writeHead(404);
            }
            res.end();
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    it("returns the digest of a present tag, asking for index and manifest media types", async () => {
        assert.equal(await localRegistryDigest(host, "ml-ci/base", "cuda12.6-py3.11-0123456789ab"), digest);
        const req = seen.at(-1)!;
        assert.equal(req.method, "HEAD");
        assert.match(req.accept ?? "", /application\/vnd\.oci\.image\.index\.v1\+json/);
        assert.match(req.accept ?? "", /application\/vnd\.docker\.distribution\.manifest\.v2\+json/);
    });

    it("returns undefined for a missing tag or repository", async () => {
        assert.equal(await localRegistryDigest(host, "ml-ci/base", "cuda12.6-py3.11-ffffffffffff"), undefined);
        assert.equal(await localRegistryDigest(host, "ml-ci/nope", "x"), undefined);
    });

    it("returns undefined, without throwing, when no registry is running (first up)", async () => {
        const closed = http.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
        const port = (closed.address() as AddressInfo).port;
        await new Promise<void>((r) => closed.close(() => r()));
        assert.equal(await localRegistryDigest(`127.0.0.1:${port}`, "ml-ci/base", "t"), undefined);
    });
});
