/**
 * The source import graph has no cycle: every .ts file outside node_modules, test, dist and bench,
 * with every relative import (static, `import type`, `export … from`, `require()` and `import()`),
 * as TypeScript's own pre-processor finds them.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";

const SKIPPED_DIRS = new Set(["node_modules", "test", "dist", "bench", ".git", ".cache"]);

function sourceFiles(root: string): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const abs = path.join(dir, e.name);
            if (e.isDirectory()) {
                if (!SKIPPED_DIRS.has(e.name)) walk(abs);
            } else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(abs);
        }
    };
    walk(root);
    return out.sort();
}

/** The relative imports of `file` resolved to files (`./x` → `x.ts` or `x/index.ts`). */
function relativeImports(file: string): string[] {
    const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    const out: string[] = [];
    for (const ref of info.importedFiles) {
        if (!ref.fileName.startsWith(".")) continue;
        const base = path.resolve(path.dirname(file), ref.fileName);
        const found = [`${base}.ts`, path.join(base, "index.ts"), base].find((c) => c.endsWith(".ts") && fs.existsSync(c));
        if (found) out.push(found);
    }
    return out;
}

/** Every import cycle among the sources under `root`, each as `a.ts -> b.ts -> a.ts` (project-relative). */
export function findImportCycles(root: string): string[] {
    const files = sourceFiles(root);
    const edges = new Map(files.map((f) => [f, relativeImports(f)]));
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const stack: string[] = [];
    const visit = (f: string) => {
        state.set(f, "open");
        stack.push(f);
        for (const dep of edges.get(f) ?? []) {
            if (state.get(dep) === "open") cycles.push([...stack.slice(stack.indexOf(dep)), dep].map((p) => path.relative(root, p)).join(" -> "));
            else if (!state.has(dep) && edges.has(dep)) visit(dep);
        }
        stack.pop();
        state.set(f, "done");
    };
    for (const f of files) if (!state.has(f)) visit(f);
    return cycles;
}

describe("source import graph", () => {
    it("has no cycle among the program's, lib's and the CLI's sources", () => {
        const root = path.resolve(__dirname, "..");
        assert.ok(sourceFiles(root).some((f) => f.endsWith(path.join("cli", "commands", "publish.ts"))), "the walk reaches cli/commands/");
        assert.deepEqual(findImportCycles(root), []);
    });

    it("finds a cycle made by a type-only import or a lazy require, and ignores test/", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "import-cycles-"));
        try {
            fs.mkdirSync(path.join(dir, "cli", "commands"), { recursive: true });
            fs.mkdirSync(path.join(dir, "test"));
            fs.writeFileSync(path.join(dir, "cli", "commands", "publish.ts"), `export function run() { return require("../dockerPublish"); }\n`);
            fs.writeFileSync(path.join(dir, "cli", "dockerPublish.ts"), `import type { ImageBuilder } from "./commands/publish";\nexport const x = 1;\n`);
            fs.writeFileSync(path.join(dir, "cli", "leaf.ts"), `export * from "./dockerPublish";\n`);
            fs.writeFileSync(path.join(dir, "test", "a.ts"), `import "./b";\n`);
            fs.writeFileSync(path.join(dir, "test", "b.ts"), `import "./a";\n`);
            assert.deepEqual(findImportCycles(dir), [`cli/commands/publish.ts -> cli/dockerPublish.ts -> cli/commands/publish.ts`]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
