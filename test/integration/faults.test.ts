/**
 * Faults between docker / the CLI and the real registry (issue 30): every registry-touching command
 * runs through a fault-injecting proxy (./faultProxy.ts) in front of the test registry, and after
 * every fault the registry itself (read directly, not through the proxy) must satisfy:
 * - a marker tag only on a digest that was pushed whole (manifest and every blob present) and that
 *   the smoke test ran (a wrapper around docker records each `docker run` of the smoke test);
 * - `-latest` and the dated tag only on a marked digest;
 * - no tag that existed before the run lost or moved, except -latest/dated moved by a promotion;
 * - a second, fault-free run converges: it rebuilds nothing that is marked and finishes the rest.
 * Each run's outcome goes into docs/reliability-summary.json and the table of docs/reliability.md
 * (test/reliabilityTable.ts), so the published numbers are this suite's, re-measured on every run.
 *
 * scan-gate runs here too: its test-only overrides (cli/commands/scanGate.ts) point the ECR host of
 * its refs at the proxy and answer the scan findings from a file. The registry restart runs on a
 * private registry instance this suite starts and restarts (./privateRegistry.ts), never on the
 * shared one.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { listLocalRepository } from "../../components/registry/registryBackend";
import { localRegistryHooks } from "../../components/registry/localRegistryClient";
import { markerTag, parseTag } from "../../lib/images/tags";
import { CLI_BIN, ensureBuiltCli } from "../builtCli";
import { checkFaultInvariants, smokeTestedFromLog } from "../faultInvariants";
import { FaultRun, FaultSummary, recordFaultSummary } from "../reliabilityTable";
import { docker, IntegrationEnv, PROJECT_ROOT, push, tempDir, useIntegrationEnv } from "./env";
import { ECR_THROTTLING, FaultProxy, ProxyRule, startFaultProxy } from "./faultProxy";
import { hasRegistryBinary, startPrivateRegistry } from "./privateRegistry";
import { SCAN_GATE_TEST_FINDINGS, SCAN_GATE_TEST_REGISTRY_URL } from "../../cli/commands/scanGate";
import { FIXTURES, fixtureStackYaml, parentFamily, smokeFamily } from "./fixtureStack";

interface CliResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs the built CLI without blocking the event loop (the proxy lives in this process). */
function cliAsync(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 180_000);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}

const MANIFEST_ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/** Every tag → digest of `repositories`, read from the registry directly. */
async function snapshot(registry: string, repositories: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const repo of repositories) {
        const list = await fetch(`http://${registry}/v2/${repo}/tags/list`);
        if (list.status === 404) continue;
        const tags = ((await list.json()) as { tags: string[] | null }).tags ?? [];
        for (const tag of tags) {
            const head = await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } });
            if (head.status === 200) out.set(`${repo}:${tag}`, head.headers.get("docker-content-digest")!);
        }
    }
    return out;
}

/** The invariants after a faulted run, with the registry read directly. */
function checkInvariants(registry: string, before: Map<string, string>, after: Map<string, string>, smokeTested: Set<string>) {
    return checkFaultInvariants(before, after, smokeTested, (repo, digest) => pushedWhole(registry, repo, digest));
}

/** The manifest of `repo@digest` and every blob it names are in the registry. */
async function pushedWhole(registry: string, repo: string, digest: string): Promise<boolean> {
    const res = await fetch(`http://${registry}/v2/${repo}/manifests/${digest}`, { headers: { Accept: MANIFEST_ACCEPT } });
    if (res.status !== 200) return false;
    const m = (await res.json()) as { config?: { digest: string }; layers?: { digest: string }[]; manifests?: { digest: string }[] };
    if (m.manifests) {
        for (const child of m.manifests) if (!(await pushedWhole(registry, repo, child.digest))) return false;
        return true;
    }
    for (const blob of [m.config, ...(m.layers ?? [])]) {
        if (!blob) return false;
        const head = await fetch(`http://${registry}/v2/${repo}/blobs/${blob.digest}`, { method: "HEAD" });
        if (head.status !== 200) return false;
    }
    return true;
}

function outcomeOf(r: CliResult, command: string): FaultRun["outcome"] {
    const retried = /^ci-images: retrying /m.test(r.stderr) || /Retrying in \d+ second/.test(r.stderr);
    if (r.code === 0) return retried ? "green-after-retries" : "green";
    const clean = r.code === 1 && new RegExp(`^ci-images(?: ${command})?: \\S`, "m").test(r.stderr) && !/^\s+at .+\(.+:\d+:\d+\)$/m.test(r.stderr);
    return clean ? "failed-cleanly" : "failed-unclean";
}

function countKinds(proxy: FaultProxy): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of proxy.injected) out[f.kind] = (out[f.kind] ?? 0) + 1;
    return out;
}

describe("integration: faults between docker, the CLI and the registry never lose or half-promote an image", function () {
    this.timeout(10 * 60_000);
    const getEnv = useIntegrationEnv();
    const runs: FaultRun[] = [];
    let started = Date.now();
    let proxy: FaultProxy;
    const sharedProxy = () => proxy;
    let root: string;
    let prefix: string;
    let dockerLog: string;
    let cliEnv: NodeJS.ProcessEnv;

    /** The stack: base (the parent fixture) and stable (the smoke fixture FROM it); `greeting` changes every content hash. */
    function writeStack(env: IntegrationEnv, greeting: string, opts: { via?: FaultProxy; baseDockerfile?: string } = {}): void {
        fs.writeFileSync(
            path.join(root, "Pulumi.it.yaml"),
            fixtureStackYaml({
                pythonVersion: env.pythonVersion,
                families: [parentFamily("base", greeting, opts.baseDockerfile), smokeFamily("stable", "base")],
                prefix,
                port: (opts.via ?? proxy).host.split(":")[1],
            }),
        );
    }

    const repositories = () => [`${prefix}/base`, `${prefix}/stable`];

    /** Digests whose smoke test passed: `exit=0 run … <ref>@sha256:… python -c …` in the docker wrapper's log (it logs each command's exit status after it ran). */
    function smokeTestedDigests(): Set<string> {
        const log = fs.existsSync(dockerLog) ? fs.readFileSync(dockerLog, "utf8") : "";
        return smokeTestedFromLog(log);
    }

    before(async () => {
        started = Date.now();
        const env = getEnv();
        ensureBuiltCli();
        proxy = await startFaultProxy(env.registry);
        root = tempDir("faults");
        for (const rel of ["Pulumi.yaml", FIXTURES, "docker/test_image.sh", "scripts/with-registry-auth.sh"]) fs.cpSync(path.join(PROJECT_ROOT, rel), path.join(root, rel), { recursive: true });
        prefix = `${env.namespace}-faults`;
        dockerLog = path.join(root, "docker-calls.log");
        const wrapper = path.join(root, "docker-logged.sh");
        // Logs each docker command with its exit status once it ran: only `exit=0` smoke tests count as passed.
        fs.writeFileSync(wrapper, `#!/bin/sh\n'${env.dockerClient}' "$@"\nstatus=$?\nprintf 'exit=%s %s\\n' "$status" "$*" >> '${dockerLog}'\nexit $status\n`, { mode: 0o755 });
        // A base with a 4 MiB incompressible layer, for the reset in the middle of a blob upload.
        fs.mkdirSync(path.join(root, FIXTURES, "bigparent"), { recursive: true });
        fs.writeFileSync(
            path.join(root, FIXTURES, "bigparent", "Dockerfile"),
            // The smoke test runs `uv pip check`: the parent fixture's stand-in, as in ../parent.
            `ARG BASE_REGISTRY=docker.io\nFROM \${BASE_REGISTRY}/mlci-test/python:latest AS final\nARG GREETING\nCOPY uv /usr/bin/uv\nRUN python -c "import os; open('/big.bin', 'wb').write(os.urandom(4 << 20))" && echo "$GREETING" > /greeting\n`,
        );
        fs.copyFileSync(path.join(root, FIXTURES, "parent", "uv"), path.join(root, FIXTURES, "bigparent", "uv"));
        cliEnv = { ...env.processEnv };
        // The developer's retry settings must not change what the suite measures.
        for (const k of ["CI_IMAGES_REGISTRY_ATTEMPTS", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"]) delete cliEnv[k];
        cliEnv = { ...cliEnv, MLCI_DOCKER: wrapper, DOCKER: wrapper, XDG_CACHE_HOME: path.join(root, ".xdg"), PULUMI_STACK: "it", MLCI_REGISTRY_AUTH: "" };
    });

    after(async function () {
        if (!proxy) return;
        await proxy.close();
        if (runs.length > 0) recordFaultSummary({ recordedAt: new Date().toISOString().slice(0, 10), suiteSeconds: Math.round((Date.now() - started) / 1000), runs } satisfies FaultSummary);
    });

    /**
     * One faulted publish of `images` with a fresh content hash, the invariants after it, then a
     * fault-free rerun that must converge. Returns the faulted run's result.
     */
    async function publishWith(
        title: string,
        kinds: string[],
        rules: ProxyRule[],
        opts: { images?: string[]; expect?: FaultRun["outcome"][]; via?: { proxy: FaultProxy; registry: string }; baseDockerfile?: string } = {},
    ): Promise<CliResult & { injectedFaults: FaultProxy["injected"] }> {
        const env0 = getEnv();
        // Another registry (a private instance behind its own proxy) when the test says so.
        const env = opts.via ? { ...env0, registry: opts.via.registry } : env0;
        const proxy = opts.via?.proxy ?? sharedProxy();
        writeStack(env, `${title} ${Date.now()}`, { via: proxy, baseDockerfile: opts.baseDockerfile });
        const names = opts.images ?? [`base-py${env.pythonVersion}`];
        const before = await snapshot(env.registry, repositories());
        proxy.setRules(rules);
        const r = await cliAsync(["publish", ...names, "--registry", proxy.host, "--json"], { cwd: root, env: cliEnv });
        const injected = countKinds(proxy);
        const injectedFaults = [...proxy.injected];
        proxy.setRules([]);
        const outcome = outcomeOf(r, "publish");
        const afterFault = await snapshot(env.registry, repositories());
        const found = await checkInvariants(env.registry, before, afterFault, smokeTestedDigests());

        // The rerun, fault-free: nothing marked is rebuilt, everything ends marked.
        const markedBefore = new Set(names.filter((n) => {
            const [family] = n.split("-py");
            return [...afterFault.keys()].some((k) => k.startsWith(`${prefix}/${family}:`) && parseTag(k.split(":")[1])?.shape === "marker" && !before.has(k));
        }));
        const again = await cliAsync(["publish", ...names, "--registry", proxy.host, "--json"], { cwd: root, env: cliEnv });
        let converged = again.code === 0;
        if (converged) {
            const report = JSON.parse(again.stdout) as { images: { name: string; action: string; tag: string; ref: string }[] };
            for (const image of report.images) {
                if (markedBefore.has(image.name) && image.action !== "skipped") converged = false;
                const parsed = parseTag(image.tag)!;
                const digest = image.ref.split("@")[1];
                const finalTags = await snapshot(env.registry, repositories());
                if (finalTags.get(`${prefix}/${image.name.split("-py")[0]}:${markerTag(parsed.cell, parsed.hash!, parsed.rebuild ?? 0)}`) !== digest) converged = false;
            }
        }
        const afterRerun = await snapshot(env.registry, repositories());
        const rerunFound = await checkInvariants(env.registry, afterFault, afterRerun, smokeTestedDigests());
        runs.push({
            test: title,
            command: "publish",
            kinds,
            injected,
            outcome,
            retryLines: (r.stderr.match(/^ci-images: retrying /gm) ?? []).length,
            imagesLost: found.imagesLost.length + rerunFound.imagesLost.length,
            halfPromotions: found.halfPromotions.length + rerunFound.halfPromotions.length,
            converged,
        });
        const context = `\n--- faulted run (exit ${r.code}; injected ${JSON.stringify(proxy.injected)}):\n${r.stderr.slice(-2500)}\n--- rerun (exit ${again.code}):\n${again.stderr.slice(-1500)}`;
        assert.deepEqual(found.imagesLost, [], `images lost${context}`);
        assert.deepEqual(found.halfPromotions, [], `half-promotions${context}`);
        assert.deepEqual(rerunFound.imagesLost, [], `images lost by the rerun${context}`);
        assert.deepEqual(rerunFound.halfPromotions, [], `half-promotions by the rerun${context}`);
        for (const k of kinds) assert.ok((injected[k] ?? 0) > 0, `no ${k} fault was injected: the rule matched nothing${context}`);
        assert.ok((opts.expect ?? ["green-after-retries", "green"]).includes(outcome), `outcome ${outcome}${context}`);
        assert.ok(converged, `the fault-free rerun did not converge${context}`);
        return { ...r, injectedFaults };
    }

    // --- publish: the CLI's own registry requests (listing, digest read-back, marker PUT) -----------------

    it("publish: 503 on the listing, 500 on the digest read-back, 502 on the marker PUT, then the PUT's answer lost after the registry applied it: all retried", async () => {
        const r = await publishWith("publish 5xx and a lost answer", ["503", "500", "502", "reset, answer lost"], [
            { kind: "503", method: "GET", path: /\/tags\/list$/, times: 2, fault: { kind: "status", status: 503 } },
            { kind: "500", method: "HEAD", path: /\/manifests\/py[\d.]+-h[0-9a-f]{12}$/, times: 1, fault: { kind: "status", status: 500 } },
            { kind: "502", method: "PUT", path: /\/manifests\/py[\d.]+-ok[0-9a-f]{12}$/, times: 1, fault: { kind: "status", status: 502 } },
            { kind: "reset, answer lost", method: "PUT", path: /\/manifests\/py[\d.]+-ok[0-9a-f]{12}$/, times: 1, fault: { kind: "reset", when: "afterUpstream" } },
        ]);
        assert.match(r.stderr, /^ci-images: retrying GET 127\.0\.0\.1:\d+\/v2\/.*\/tags\/list in [\d.]+s \(503\)$/m);
        assert.match(r.stderr, /^ci-images: retrying PUT .*-ok[0-9a-f]{12} in [\d.]+s \(502\)$/m);
        assert.match(r.stderr, /^ci-images: retrying PUT .*-ok[0-9a-f]{12} in [\d.]+s \(connection reset\)$/m);
    });

    it("publish: 429 with and without Retry-After, and ECR's registry-endpoint throttling (429 TOOMANYREQUESTS, Rate exceeded), are retried", async () => {
        const r = await publishWith("publish throttled", ["429 + Retry-After", "429, no Retry-After", "ECR throttling (429 TOOMANYREQUESTS)"], [
            { kind: "429 + Retry-After", method: "GET", path: /\/tags\/list$/, times: 1, fault: { kind: "status", status: 429, headers: { "Retry-After": "1" } } },
            { kind: "ECR throttling (429 TOOMANYREQUESTS)", method: "GET", path: /\/tags\/list$/, times: 1, fault: ECR_THROTTLING },
            { kind: "429, no Retry-After", method: "PUT", path: /\/manifests\/py[\d.]+-ok[0-9a-f]{12}$/, times: 2, fault: { kind: "status", status: 429 } },
        ]);
        assert.match(r.stderr, /^ci-images: retrying GET .*\/tags\/list in 1\.0s \(429, Retry-After\)$/m);
        assert.equal(r.stderr.match(/^ci-images: retrying GET .*\/tags\/list in [\d.]+s \(429(, Retry-After)?\)$/gm)?.length, 2, r.stderr);
    });

    it("publish: a reset in the middle of a blob upload (docker) is survived or fails cleanly, never half-promoted", async () => {
        const r = await publishWith("publish reset mid blob", ["reset mid blob upload"], [{ kind: "reset mid blob upload", method: /^(PATCH|PUT)$/, path: /\/blobs\/uploads\//, times: 1, fault: { kind: "reset", when: "midBody", bytes: 1 << 20 } }], {
            expect: ["green-after-retries", "green", "failed-cleanly"],
            baseDockerfile: `${FIXTURES}/bigparent/Dockerfile`,
        });
        // The cut came 1 MiB into a body longer than that: the 4 MiB layer, not a config blob.
        const cut = r.injectedFaults.find((f) => f.kind === "reset mid blob upload")!;
        console.log(`      reset mid blob upload: ${cut.line}`);
        assert.equal(cut.bytesForwarded, 1 << 20, cut.line);
    });

    it("publish: a reset in the middle of docker's manifest PUT of the child leaves the parent marked; the rerun builds only the child", async () => {
        const env = getEnv();
        const r = await publishWith("publish reset mid manifest PUT", ["reset mid manifest PUT"], [{ kind: "reset mid manifest PUT", method: "PUT", path: /\/stable\/manifests\/py[\d.]+-h[0-9a-f]{12}$/, times: 1, fault: { kind: "reset", when: "midBody", bytes: 64 } }], {
            images: [`base-py${env.pythonVersion}`, `stable-py${env.pythonVersion}`],
            expect: ["green-after-retries", "green", "failed-cleanly"],
        });
        if (r.code !== 0) assert.match(r.stderr, new RegExp(`^ci-images publish: building stable-py${env.pythonVersion.replace(".", "\\.")} failed: [\\s\\S]*\\(already published: base-py`, "m"));
    });

    it("publish: the proxy in front of the registry restarts while docker pushes (resets, then refused for 2 s)", async () => {
        await publishWith("publish restart during push", ["proxy restart"], [{ kind: "proxy restart", method: "POST", path: /\/blobs\/uploads\/$/, times: 1, fault: { kind: "restart", ms: 2_000 } }], {
            expect: ["green-after-retries", "green", "failed-cleanly"],
        });
    });

    it("publish: slow first bytes need no retry; the proxy restarting as the marker is PUT is retried through the refused window", async () => {
        const t = Date.now();
        const r = await publishWith("publish slow first byte, restart at marker", ["slow first byte", "proxy restart"], [
            { kind: "slow first byte", method: "GET", path: /\/tags\/list$/, times: 1, fault: { kind: "slowFirstByte", ms: 1_500 } },
            { kind: "slow first byte", method: "HEAD", path: /\/manifests\/py[\d.]+-h[0-9a-f]{12}$/, times: 1, fault: { kind: "slowFirstByte", ms: 1_000 } },
            { kind: "proxy restart", method: "PUT", path: /\/manifests\/py[\d.]+-ok[0-9a-f]{12}$/, times: 1, fault: { kind: "restart", ms: 1_500 } },
        ]);
        assert.doesNotMatch(r.stderr, /^ci-images: retrying (GET|HEAD) /m, "a slow answer is not a failure");
        assert.match(r.stderr, /^ci-images: retrying PUT .* \(connection (reset|refused)\)$/m);
        assert.ok(Date.now() - t >= 2_500);
    });

    it("publish: the real registry (a private docker-registry instance) restarts as the marker is PUT; the PUT is retried until it is back", async function () {
        if (!hasRegistryBinary()) this.skip();
        const registry = await startPrivateRegistry(tempDir("private-registry"));
        const restarts: number[] = [];
        const privateProxy = await startFaultProxy(registry.host, {
            restartUpstream: async (ms) => {
                const t = Date.now();
                await registry.restart(ms);
                restarts.push(Date.now() - t);
            },
        });
        try {
            const r = await publishWith(
                "publish real registry restart at marker",
                ["registry restart"],
                [{ kind: "registry restart", method: "PUT", path: /\/manifests\/py[\d.]+-ok[0-9a-f]{12}$/, times: 1, fault: { kind: "upstreamRestart", ms: 1_000 } }],
                { via: { proxy: privateProxy, registry: registry.host } },
            );
            assert.match(r.stderr, /^ci-images: retrying PUT .*-ok[0-9a-f]{12} in [\d.]+s \(connection reset\)$/m);
            assert.equal(restarts.length, 1);
            assert.ok(restarts[0] >= 1_000 && restarts[0] < 10_000, `restart took ${restarts[0]} ms`);
        } finally {
            await privateProxy.close();
            await registry.stop();
        }
    });

    // --- wait, retag, status and the program's listing -----------------------------------------------

    /** A tested build of a throwaway image (content tag + marker) pushed straight to the registry. */
    async function testedImage(env: IntegrationEnv, repo: string): Promise<{ digest: string; tag: string; marker: string }> {
        const tag = "py3.11-h0123456789ab";
        const ref = `${env.registry}/${repo}:${tag}`;
        docker(env, ["tag", env.busyboxImage, ref]);
        const digest = push(env, ref);
        const marker = "py3.11-ok0123456789ab";
        const put = await fetch(`http://${env.registry}/v2/${repo}/manifests/${marker}`, {
            method: "PUT",
            headers: { "Content-Type": (await fetch(`http://${env.registry}/v2/${repo}/manifests/${digest}`, { headers: { Accept: MANIFEST_ACCEPT } })).headers.get("content-type")! },
            body: new Uint8Array(await (await fetch(`http://${env.registry}/v2/${repo}/manifests/${digest}`, { headers: { Accept: MANIFEST_ACCEPT } })).arrayBuffer()),
        });
        assert.equal(put.status, 201);
        return { digest, tag, marker };
    }

    const COMMAND_FAULTS: { kind: string; rule: (method: string, path: RegExp) => ProxyRule }[] = [
        { kind: "503", rule: (method, path) => ({ kind: "503", method, path, times: 2, fault: { kind: "status", status: 503 } }) },
        { kind: "429 + Retry-After", rule: (method, path) => ({ kind: "429 + Retry-After", method, path, times: 1, fault: { kind: "status", status: 429, headers: { "Retry-After": "1" } } }) },
        { kind: "429, no Retry-After", rule: (method, path) => ({ kind: "429, no Retry-After", method, path, times: 2, fault: { kind: "status", status: 429 } }) },
        { kind: "reset before answer", rule: (method, path) => ({ kind: "reset before answer", method, path, times: 2, fault: { kind: "reset", when: "beforeForward" } }) },
    ];

    async function commandRun(command: string, kind: string, run: () => Promise<CliResult>, check: (r: CliResult) => Promise<void>, watched: string[]): Promise<void> {
        const env = getEnv();
        const before = await snapshot(env.registry, watched);
        const r = await run();
        const injected = countKinds(proxy);
        proxy.setRules([]);
        const after = await snapshot(env.registry, watched);
        // wait, retag and status test nothing: a marker they left on a new digest would be a half-promotion.
        const found = await checkInvariants(env.registry, before, after, smokeTestedDigests());
        runs.push({ test: `${command} ${kind}`, command, kinds: [kind], injected, outcome: outcomeOf(r, command), retryLines: (r.stderr.match(/^ci-images: retrying /gm) ?? []).length, imagesLost: found.imagesLost.length, halfPromotions: found.halfPromotions.length, converged: null });
        assert.ok((injected[kind] ?? 0) > 0, `no ${kind} injected`);
        assert.deepEqual(found.imagesLost, []);
        assert.deepEqual(found.halfPromotions, []);
        await check(r);
    }

    it("wait: 503, 429 (with and without Retry-After) and resets on its manifest HEADs are retried; it prints the tested ref", async () => {
        const env = getEnv();
        const { digest } = await testedImage(env, `${prefix}/waited`);
        // wait resolves the image from the stack: a tested build goes under the stack's base content tag and marker.
        writeStack(env, "wait");
        const images = JSON.parse((await cliAsync(["tags", "--json"], { cwd: root, env: cliEnv })).stdout).images as { name: string; repository: string; tag: string }[];
        const base = images.find((n) => n.name.startsWith("base-"))!;
        const parsed = parseTag(base.tag)!;
        await retagDirect(env, base.repository, digest, `${prefix}/waited`, [base.tag, markerTag(parsed.cell, parsed.hash!)]);
        for (const f of COMMAND_FAULTS) {
            proxy.setRules([f.rule("HEAD", /\/manifests\//)]);
            await commandRun(
                "wait",
                f.kind,
                () => cliAsync(["wait", base.name, "--registry", proxy.host, "--timeout", "60s", "--interval", "1s"], { cwd: root, env: cliEnv }),
                async (r) => {
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(r.stdout, `${proxy.host}/${base.repository}:${base.tag}@${digest}\n`);
                    assert.match(r.stderr, /^ci-images: retrying HEAD /m);
                },
                [base.repository],
            );
        }
    });

    it("wait: a registry whose first byte comes later than --timeout ends at the timeout, in one line", async () => {
        const env = getEnv();
        writeStack(env, "wait");
        const images = JSON.parse((await cliAsync(["tags", "--json"], { cwd: root, env: cliEnv })).stdout).images as { name: string; repository: string; tag: string }[];
        const base = images.find((n) => n.name.startsWith("base-"))!;
        proxy.setRules([{ kind: "slow first byte", method: "HEAD", path: /\/manifests\//, times: 100, fault: { kind: "slowFirstByte", ms: 15_000 } }]);
        const t = Date.now();
        await commandRun(
            "wait",
            "slow first byte",
            () => cliAsync(["wait", base.name, "--registry", proxy.host, "--timeout", "3s", "--interval", "1s"], { cwd: root, env: cliEnv }),
            async (r) => {
                const took = Date.now() - t;
                assert.equal(r.code, 1, r.stderr);
                assert.ok(took < 10_000, `wait took ${took} ms with --timeout 3s`);
                const last = r.stderr.trim().split("\n").at(-1)!;
                assert.match(last, /^ci-images wait: timed out after 3s waiting for .*timed out \(ETIMEDOUT\).*\. Fix: /);
                assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
            },
            [base.repository],
        );
    });

    it("scan-gate (through the proxy, findings from a file): 503 and a reset on its manifest read are retried; the gate passes", async () => {
        const env = getEnv();
        const repo = `${prefix}/scanned`;
        const { digest } = await testedImage(env, repo);
        const findings = path.join(root, "scan-findings.json");
        fs.writeFileSync(findings, JSON.stringify({ imageScanStatus: { status: "COMPLETE" }, imageScanFindings: { findings: [], findingSeverityCounts: {} } }));
        const scanEnv = { ...cliEnv, MLCI_REGISTRY_AUTH: "AWS:unused", [SCAN_GATE_TEST_REGISTRY_URL]: `http://${proxy.host}`, [SCAN_GATE_TEST_FINDINGS]: findings };
        for (const f of [COMMAND_FAULTS[0], COMMAND_FAULTS[3]]) {
            proxy.setRules([f.rule("GET", /\/manifests\/sha256:/)]);
            await commandRun(
                "scan-gate",
                f.kind,
                () => cliAsync(["scan-gate", `123456789012.dkr.ecr.us-east-1.amazonaws.com/${repo}@${digest}`, "--settle", "0s", "--timeout", "60s", "--json"], { cwd: root, env: scanEnv }),
                async (r) => {
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(JSON.parse(r.stdout).results[0].verdict, "pass");
                    assert.equal(r.stderr.match(/^ci-images: retrying GET 127\.0\.0\.1:\d+\/v2\/.*\/manifests\/sha256:[0-9a-f]{64} in [\d.]+s \((503|connection reset)\)$/gm)?.length, 2, r.stderr);
                },
                [repo],
            );
        }
    });

    /** Copies the manifest `fromRepo@digest` into `repo` under `tags` (blobs are mounted by the registry on PUT). */
    async function retagDirect(env: IntegrationEnv, repo: string, digest: string, fromRepo: string, tags: string[]): Promise<void> {
        const get = await fetch(`http://${env.registry}/v2/${fromRepo}/manifests/${digest}`, { headers: { Accept: MANIFEST_ACCEPT } });
        const bytes = new Uint8Array(await get.arrayBuffer());
        const manifest = JSON.parse(Buffer.from(bytes).toString("utf8")) as { config: { digest: string }; layers: { digest: string }[] };
        for (const blob of [manifest.config, ...manifest.layers]) {
            const mount = await fetch(`http://${env.registry}/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${fromRepo}`, { method: "POST" });
            assert.ok(mount.status === 201 || mount.status === 202, `mount ${blob.digest}: ${mount.status}`);
        }
        for (const tag of tags) {
            const put = await fetch(`http://${env.registry}/v2/${repo}/manifests/${tag}`, { method: "PUT", headers: { "Content-Type": get.headers.get("content-type")! }, body: bytes });
            assert.equal(put.status, 201, `PUT ${repo}:${tag}`);
        }
    }

    it("retag: 503, 429 (with and without Retry-After) and resets are retried and the tags land; a registry that keeps resetting fails in one line", async () => {
        const env = getEnv();
        const repo = `${prefix}/retagged`;
        const { digest } = await testedImage(env, repo);
        for (const [i, f] of COMMAND_FAULTS.entries()) {
            // A promotion: -latest and a dated tag onto the marked digest. The fault hits the dated
            // tag's PUT (new every round) or the GET of the manifest by digest.
            const dated = `py3.11-2026120${i + 1}`;
            proxy.setRules([i % 2 === 0 ? f.rule("PUT", new RegExp(`/manifests/${dated}$`)) : f.rule("GET", /\/manifests\/sha256:/)]);
            await commandRun(
                "retag",
                f.kind,
                () => cliAsync(["retag", `${proxy.host}/${repo}@${digest}`, "py3.11-latest", dated], { cwd: root, env: cliEnv }),
                async (r) => {
                    assert.equal(r.code, 0, r.stderr);
                    assert.match(r.stderr, /^ci-images: retrying (PUT|GET) /m);
                    const after = await snapshot(env.registry, [repo]);
                    assert.equal(after.get(`${repo}:py3.11-latest`), digest);
                    assert.equal(after.get(`${repo}:${dated}`), digest);
                },
                [repo],
            );
        }
        proxy.setRules([{ kind: "reset before answer", times: 100, fault: { kind: "reset", when: "beforeForward" } }]);
        await commandRun(
            "retag",
            "reset before answer",
            () => cliAsync(["retag", `${proxy.host}/${repo}@${digest}`, "py3.11-20261209"], { cwd: root, env: { ...cliEnv, CI_IMAGES_REGISTRY_ATTEMPTS: "3" } }),
            async (r) => {
                assert.equal(r.code, 1);
                const last = r.stderr.trim().split("\n").at(-1)!;
                assert.match(last, new RegExp(`^ci-images: retag ${proxy.host.replace(/\./g, "\\.")}/${repo}@${digest}: GET .*: connection reset \\((ECONNRESET|UND_ERR_SOCKET)\\) after 3 attempts in [\\d.]+s$`));
                assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
            },
            [repo],
        );
    });

    it("status: a 503 and a reset on its reads are retried; the report is complete", async () => {
        const env = getEnv();
        writeStack(env, "status");
        for (const f of [COMMAND_FAULTS[0], COMMAND_FAULTS[3]]) {
            proxy.setRules([f.rule("GET", /\/tags\/list$/)]);
            await commandRun(
                "status",
                f.kind,
                () => cliAsync(["status", "--registry", proxy.host, "--json"], { cwd: root, env: cliEnv }),
                async (r) => {
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(JSON.parse(r.stdout).images.length, 2);
                },
                repositories(),
            );
        }
    });

    it("the program's listing (local backend): 503, 429 and resets are retried; it lists every tag", async () => {
        const env = getEnv();
        const repo = `${prefix}/retagged`;
        const expected = [...(await snapshot(env.registry, [repo])).keys()].map((k) => k.split(":")[1]).sort();
        const saved = { ...localRegistryHooks };
        const lines: string[] = [];
        localRegistryHooks.onRetry = (l) => void lines.push(l);
        try {
            for (const f of COMMAND_FAULTS) {
                lines.length = 0;
                proxy.setRules([f.rule("GET", /\/tags\/list$/)]);
                let listed: string[] = [];
                let error = "";
                const before = await snapshot(env.registry, [repo]);
                try {
                    listed = (await listLocalRepository(proxy.host, repo)).flatMap((l) => l.tags).sort();
                } catch (e) {
                    error = (e as Error).message;
                }
                const injected = countKinds(proxy);
                proxy.setRules([]);
                const found = await checkInvariants(env.registry, before, await snapshot(env.registry, [repo]), new Set());
                runs.push({ test: `listing ${f.kind}`, command: "listing", kinds: [f.kind], injected, outcome: error ? "failed-cleanly" : lines.length ? "green-after-retries" : "green", retryLines: lines.length, imagesLost: found.imagesLost.length, halfPromotions: found.halfPromotions.length, converged: null });
                assert.deepEqual(found.halfPromotions, []);
                assert.equal(error, "", error);
                assert.deepEqual(listed, expected);
                assert.ok(lines.length >= 1 && lines.every((l) => /^retrying GET 127\.0\.0\.1:\d+\/v2\/.*\/tags\/list in [\d.]+s \(/.test(l)), lines.join("\n"));
            }
        } finally {
            Object.assign(localRegistryHooks, saved);
        }
    });
});
