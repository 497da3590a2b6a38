// Test helper: a moto_server IAM emulator used as an independent validator of generated IAM documents.
// moto checks identity policies on CreatePolicy (JSON, Version, Effect, statement keys, condition operators,
// action vendor prefixes, resource ARN format) but does NOT check trust policies on CreateRole; it checks them
// on UpdateAssumeRolePolicy (same grammar, no Resource, only sts:* role actions). So roles are created and then
// their trust policy is re-submitted through UpdateAssumeRolePolicy.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as http from "http";
import * as net from "net";

/** One IAM call to send to moto. */
export type IamOp =
    | { op: "CreatePolicy"; name: string; document: string }
    | { op: "CreateRole"; name: string; trustPolicy: string }
    | { op: "UpdateAssumeRolePolicy"; name: string; trustPolicy: string }
    | { op: "CreateOpenIDConnectProvider"; url: string; clientIds: string[]; thumbprints?: string[] };

/** moto's answer to one op: accepted, or the error it returned. */
export interface IamResult { ok: boolean; error?: string }

const SCRIPT = `
import json, sys, boto3
endpoint = sys.argv[1]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
out = []
for op in json.load(sys.stdin):
    try:
        kind = op["op"]
        if kind == "CreatePolicy":
            iam.create_policy(PolicyName=op["name"], PolicyDocument=op["document"])
        elif kind == "CreateRole":
            iam.create_role(RoleName=op["name"], AssumeRolePolicyDocument=op["trustPolicy"])
        elif kind == "UpdateAssumeRolePolicy":
            iam.update_assume_role_policy(RoleName=op["name"], PolicyDocument=op["trustPolicy"])
        elif kind == "CreateOpenIDConnectProvider":
            kwargs = {"Url": op["url"], "ClientIDList": op["clientIds"]}
            if op.get("thumbprints"):
                kwargs["ThumbprintList"] = op["thumbprints"]
            iam.create_open_id_connect_provider(**kwargs)
        else:
            raise ValueError("unknown op " + kind)
        out.append({"ok": True})
    except Exception as e:
        out.append({"ok": False, "error": str(e)})
print(json.dumps(out))
`;

/** Why moto cannot be used here, or undefined when moto_server, moto and boto3 are all available. */
export function motoUnavailableReason(): string | undefined {
    const server = spawnSync("sh", ["-c", "command -v moto_server"], { encoding: "utf8" });
    if (server.status !== 0) return "moto_server is not on PATH (pip install 'moto[server]' boto3)";
    const py = spawnSync("python3", ["-c", "import moto, boto3"], { encoding: "utf8" });
    if (py.status !== 0) return `python3 cannot import moto and boto3: ${py.stderr.trim()}`;
    return undefined;
}

/**
 * For a suite's `before` hook: skips the suite with a line when moto is unavailable, or fails it under
 * CI=true (a suite that CI must run never turns green by skipping).
 */
export function requireMoto(ctx: Mocha.Context, suite: string): void {
    const reason = motoUnavailableReason();
    if (reason === undefined) return;
    if (process.env.CI === "true") throw new Error(`CI=true but moto is unavailable: ${reason}. ${suite} must run in CI.`);
    console.warn(`      ${suite} skipped: ${reason}`);
    ctx.skip();
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const address = srv.address();
            const port = typeof address === "object" && address !== null ? address.port : 0;
            srv.close(() => resolve(port));
        });
    });
}

function answers(url: string): Promise<boolean> {
    return new Promise((resolve) => {
        const req = http.get(url, (res) => { res.resume(); resolve(true); });
        req.on("error", () => resolve(false));
        req.setTimeout(1000, () => { req.destroy(); resolve(false); });
    });
}

/** A running moto_server on 127.0.0.1 that this process started (and must stop). */
export class MotoIam {
    private constructor(private readonly child: ChildProcess, readonly endpoint: string) {}

    /** Starts moto_server on a free port and waits until it answers. */
    static async start(timeoutMs = 30_000): Promise<MotoIam> {
        const port = await freePort();
        const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore", detached: true });
        const endpoint = `http://127.0.0.1:${port}`;
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
            if (await answers(`${endpoint}/moto-api/`)) return new MotoIam(child, endpoint);
            await new Promise((r) => setTimeout(r, 200));
        }
        child.kill();
        throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms`);
    }

    /** Sends the ops in order and returns one result per op. */
    run(ops: IamOp[]): IamResult[] {
        const res = spawnSync("python3", ["-c", SCRIPT, this.endpoint], { input: JSON.stringify(ops), encoding: "utf8" });
        if (res.status !== 0) throw new Error(`boto3 client failed: ${res.stderr}`);
        return JSON.parse(res.stdout) as IamResult[];
    }

    /** Stops the server (its whole process group: the pyenv shim and the python process). */
    stop(): void {
        if (this.child.pid === undefined || this.child.exitCode !== null) return;
        try {
            process.kill(-this.child.pid, "SIGTERM");
        } catch {
            this.child.kill("SIGTERM");
        }
    }
}

/**
 * Starts moto_server for the enclosing `describe` and stops it afterwards. Returns a getter for
 * the running server. When moto is not installed the `describe` is skipped with the reason, except
 * under CI (`CI=true`), where that is a failure: CI must never go green without these checks.
 */
export function useMotoIam(): () => MotoIam {
    let moto: MotoIam | undefined;
    before(async function () {
        const reason = motoUnavailableReason();
        if (reason !== undefined) {
            if (process.env.CI === "true") throw new Error(`CI=true but moto is unavailable: ${reason}. The moto IAM checks must run in CI (the test workflow installs moto[server], pinned).`);
            console.warn(`      moto checks skipped: ${reason}`);
            this.skip();
        }
        moto = await MotoIam.start();
    });
    after(() => moto?.stop());
    return () => moto!;
}

/** Ops that submit a trust policy the way moto validates it: CreateRole, then UpdateAssumeRolePolicy. */
export function roleOps(name: string, trustPolicy: string): IamOp[] {
    return [
        { op: "CreateRole", name, trustPolicy },
        { op: "UpdateAssumeRolePolicy", name, trustPolicy },
    ];
}

/** "label: error" lines for every rejected op; empty when moto accepted all. */
export function rejections(ops: IamOp[], results: IamResult[]): string[] {
    return results.flatMap((r, i) => (r.ok ? [] : [`${ops[i].op} ${"name" in ops[i] ? (ops[i] as { name: string }).name : ""}: ${r.error}`]));
}
