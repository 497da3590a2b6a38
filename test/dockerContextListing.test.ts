/**
 * listContextFiles (lib/images/dockerContext.ts), deterministically: the order it returns does not
 * follow the filesystem's (readdir is replaced by one that answers in a chosen order), and `!`
 * re-includes reach into an excluded directory as Docker's do. These used to be caught only by the
 * random property in properties.test.ts, some runs out of ten.
 */
import { strict as assert } from "assert";
import * as path from "path";
import { listContextFiles } from "../lib/images/dockerContext";
import { writeTree } from "./fixtures";

// The module object dockerContext.ts reads readdirSync from (esModuleInterop binds its `fs` by getter).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fsModule = require("fs") as typeof import("fs");

/** Runs `fn` with readdirSync answering each directory's entries reordered by `order`. */
function withReaddirOrder<T>(order: (names: string[]) => string[], fn: () => T): T {
    const real = fsModule.readdirSync;
    const patched = ((dir: fs.PathLike, opts?: unknown) => {
        const entries = (real as (d: fs.PathLike, o?: unknown) => (string | { name: string })[])(dir, opts);
        const name = (e: string | { name: string }) => (typeof e === "string" ? e : e.name);
        const wanted = order(entries.map(name));
        return wanted.map((n) => entries.find((e) => name(e) === n)!);
    }) as unknown as typeof real;
    fsModule.readdirSync = patched;
    try {
        return fn();
    } finally {
        fsModule.readdirSync = real;
    }
}
import type * as fs from "fs";

const FILES = { "Dockerfile": "FROM scratch\n", "b.txt": "b", "a.txt": "a", "A.txt": "A", "dir-x": "x", "dir/z": "z", "dir/a": "a", "dir/sub/m": "m", "_u": "u" };
/** Code-unit order of the paths: what every caller (the content hash) relies on. */
const SORTED = ["A.txt", "Dockerfile", "_u", "a.txt", "b.txt", "dir-x", "dir/a", "dir/sub/m", "dir/z"];

describe("listContextFiles: order and re-includes (deterministic)", () => {
    it("is sorted by path whatever order the filesystem lists a directory in", () => {
        const root = writeTree(FILES);
        const orders: [string, (n: string[]) => string[]][] = [
            ["as listed", (n) => n],
            ["reversed", (n) => [...n].sort().reverse()],
            ["sorted", (n) => [...n].sort()],
            ["rotated", (n) => [...[...n].sort().slice(2), ...[...n].sort().slice(0, 2)]],
        ];
        for (const [what, order] of orders) {
            const listed = withReaddirOrder(order, () => listContextFiles(root, path.join(root, "Dockerfile")).map((f) => f.path));
            assert.deepEqual(listed, SORTED, `readdir ${what}`);
        }
    });

    it("a `!` pattern re-includes a file inside an excluded directory, and only that file", () => {
        const root = writeTree({
            "Dockerfile": "FROM scratch\n",
            ".dockerignore": "cache\n!cache/keep.txt\nbuild/**\n!build/sub/keep.lock\n*.tmp\n",
            "cache/keep.txt": "k",
            "cache/drop.txt": "d",
            "cache/deeper/drop.txt": "d",
            "build/x": "x",
            "build/sub/keep.lock": "l",
            "build/sub/drop.lock": "d",
            "src/a.py": "a",
            "src/b.tmp": "t",
            "root.tmp": "t",
        });
        const listed = withReaddirOrder((n) => [...n].sort().reverse(), () => listContextFiles(root, path.join(root, "Dockerfile")).map((f) => f.path));
        // `*.tmp` is anchored at the context root as in Docker (filepath.Match: `*` stops at `/`).
        assert.deepEqual(listed, [".dockerignore", "Dockerfile", "build/sub/keep.lock", "cache/keep.txt", "src/a.py", "src/b.tmp"]);
    });

    it("without a `!` pattern an excluded directory is not walked at all", () => {
        const root = writeTree({ "Dockerfile": "FROM scratch\n", ".dockerignore": "cache\n", "cache/a": "a", "cache/b/c": "c", "kept": "k" });
        const walked: string[] = [];
        const listed = withReaddirOrder(
            (n) => n,
            () => {
                const real = fsModule.readdirSync;
                fsModule.readdirSync = ((dir: fs.PathLike, opts?: unknown) => {
                    walked.push(path.relative(root, String(dir)));
                    return (real as (d: fs.PathLike, o?: unknown) => unknown)(dir, opts);
                }) as unknown as typeof real;
                try {
                    return listContextFiles(root, path.join(root, "Dockerfile")).map((f) => f.path);
                } finally {
                    fsModule.readdirSync = real;
                }
            },
        );
        assert.deepEqual(listed, [".dockerignore", "Dockerfile", "kept"]);
        assert.deepEqual(walked, [""], "only the context root was read");
    });
});
