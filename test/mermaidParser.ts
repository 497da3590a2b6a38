/**
 * Mermaid's own parser (the `mermaid` package, exact-pinned), run in Node. `mermaid.parse` needs no
 * DOM except DOMPurify's hooks, which exist only in a browser; parsing never renders, so the sanitizer
 * is replaced by the identity before mermaid loads (the syntax check itself is mermaid's jison grammar).
 */
import * as path from "path";
import { pathToFileURL } from "url";

// mermaid is ESM-only: a real dynamic import (ts-node would turn `import()` into require()).
const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<any>;

let loaded: Promise<{ parse(text: string): Promise<unknown> }> | undefined;

async function loadMermaid() {
    const mermaidDir = path.dirname(require.resolve("mermaid/package.json", { paths: [__dirname] }));
    // The DOMPurify instance mermaid itself imports (resolved from mermaid's directory).
    const purifyEntry = require.resolve("dompurify", { paths: [mermaidDir] }).replace(/purify\.cjs\.js$/, "purify.es.mjs");
    const purify = (await importEsm(pathToFileURL(purifyEntry).href)).default;
    Object.assign(purify, { addHook: () => undefined, removeHook: () => undefined, removeHooks: () => undefined, sanitize: (s: unknown) => String(s) });
    const entry = (require(path.join(mermaidDir, "package.json")) as { exports: { ".": { import: string } } }).exports["."].import;
    return (await importEsm(pathToFileURL(path.join(mermaidDir, entry)).href)).default;
}

/** Parses a Mermaid diagram; rejects with mermaid's "Parse error on line N" for invalid syntax. */
export async function parseMermaid(text: string): Promise<unknown> {
    loaded ??= loadMermaid();
    return (await loaded).parse(text);
}
