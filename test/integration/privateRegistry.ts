/**
 * A second, private registry for one test: Debian's `docker-registry` (distribution 2.8, the binary
 * scripts/integration-env.sh runs as the shared registry) on a free loopback port with its own
 * storage, so a test can restart it without touching the registry other engineers share. It is a
 * child of this process (its pid is the only one ever signalled); storage survives a restart, as
 * a real registry's does.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

/** A running private registry. */
export interface PrivateRegistry {
    /** `127.0.0.1:<port>`. */
    host: string;
    /** Stops it (SIGTERM, then waits for exit), keeps it down for `ms`, starts it again on the same port and storage. */
    restart(ms: number): Promise<void>;
    stop(): Promise<void>;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

async function answers(host: string): Promise<boolean> {
    try {
        return (await fetch(`http://${host}/v2/`)).status === 200;
    } catch {
        return false;
    }
}

/** Whether the `docker-registry` binary is installed (scripts/integration-env.sh installs it). */
export function hasRegistryBinary(): boolean {
    return (process.env.PATH ?? "").split(":").some((d) => fs.existsSync(path.join(d, "docker-registry")));
}

/** Starts a private registry with its storage and config under `dir`. */
export async function startPrivateRegistry(dir: string): Promise<PrivateRegistry> {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    fs.mkdirSync(path.join(dir, "storage"), { recursive: true });
    const config = path.join(dir, "registry.yml");
    fs.writeFileSync(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, "storage")}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n`);
    const log = path.join(dir, "registry.log");
    let child: ChildProcess | undefined;

    async function start(): Promise<void> {
        const out = fs.openSync(log, "a");
        child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", out, out] });
        fs.closeSync(out);
        for (let i = 0; i < 80; i++) {
            if (await answers(host)) return;
            if (child.exitCode !== null) break;
            await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`the private registry did not answer on ${host}: ${fs.readFileSync(log, "utf8").slice(-1000)}`);
    }

    async function stop(): Promise<void> {
        const c = child;
        child = undefined;
        if (!c || c.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
        c.kill("SIGTERM");
        const timer = setTimeout(() => c.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
    }

    await start();
    return {
        host,
        async restart(ms) {
            await stop();
            await new Promise((r) => setTimeout(r, ms));
            await start();
        },
        stop,
    };
}
