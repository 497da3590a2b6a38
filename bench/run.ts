/**
 * `npm run bench`: what makes ml-ci-images fast, side by side with the alternatives, as one
 * table of ratios measured in this run on the same files. Scratch data goes to os.tmpdir()
 * and is removed. A missed target is reported as MISSED; only a crash exits non-zero.
 *
 * Options: --rounds N (timing rounds per contestant, default 5), --only hashing,rebuild,program,cli,registry,plan
 * (plus plan-program: the program under mocks at 50-400 images with builders, ~2 min, not in the default set)
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { benchBuildPlan } from "./buildPlan";
import { benchCliStartup } from "./cliStartup";
import { benchContextHashing } from "./contextHashing";
import { benchProgramEvaluation } from "./programEvaluation";
import { benchRegistryCalls } from "./registryCalls";
import { benchRebuildMinimality } from "./rebuildMinimality";
import { renderTable, Row, seconds } from "./report";

function arg(name: string): string | undefined {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
    const rounds = Number(arg("rounds") ?? 5);
    const only = new Set((arg("only") ?? "hashing,rebuild,program,cli,registry,plan").split(","));
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-bench-"));
    const started = Date.now();
    const log = (line: string) => process.stderr.write(`[bench ${seconds((Date.now() - started) / 1000)}] ${line}\n`);
    const rows: Row[] = [];
    const details: string[] = [];
    let crashed = false;
    const section = async (name: string, title: string, fn: () => Promise<{ rows: Row[]; details: string[] }>) => {
        if (!only.has(name)) return;
        try {
            const r = await fn();
            rows.push(...r.rows);
            details.push(...r.details);
        } catch (e) {
            crashed = true;
            rows.push({ section: title, measurement: `crashed: ${(e as Error).message.split("\n")[0]}`, figure: "—", target: "—", status: "MISSED" });
            details.push(`${title}: ${(e as Error).stack ?? e}`);
        }
    };
    try {
        await section("hashing", "Context hashing", () => benchContextHashing({ workDir, rounds, log }));
        await section("rebuild", "Rebuild minimality", () => benchRebuildMinimality(workDir));
        await section("cli", "CLI start-up", () => benchCliStartup(rounds));
        await section("program", "Program evaluation", () => benchProgramEvaluation(workDir, Math.max(1, Math.min(rounds, 3)), log));
        await section("registry", "Registry lookups (#21)", () => benchRegistryCalls(Math.max(1, Math.min(rounds, 3)), log));
        if (only.has("plan") || only.has("plan-program")) {
            await section(only.has("plan") ? "plan" : "plan-program", "Build plan at scale (#20)", () => benchBuildPlan(Math.max(1, Math.min(rounds, 3)), log, only.has("plan-program")));
        }
    } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
    }
    const total = (Date.now() - started) / 1000;
    rows.push({ section: "Bench", measurement: `npm run bench wall time (${seconds(total)}) ÷ 2 min budget`, figure: `${(total / 120).toFixed(2)}×`, target: "≤ 1.0×", status: total <= 120 ? "met" : "MISSED" });
    console.log(renderTable(rows));
    console.log("");
    console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.availableParallelism?.() ?? os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; medians of ${rounds} rounds (round-robin).`);
    for (const d of details) console.log(`- ${d}`);
    return crashed ? 1 : 0;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
