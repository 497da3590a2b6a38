/**
 * docs/bootstrap.md's Mermaid diagram and the rehearsal's actor table (ACTORS) say the same thing:
 * the same actors, each entering the same role the same way, each role reaching the same resources.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ACTORS, RESOURCES, ROLES } from "./actors";
import { PROJECT_ROOT } from "./world";

function diagram(): { nodes: Map<string, string>; edges: { from: string; label?: string; to: string }[] } {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "bootstrap.md"), "utf8");
    const block = /<!-- bootstrap:diagram -->\s*```mermaid\n([\s\S]*?)```/.exec(text);
    assert.ok(block, "docs/bootstrap.md has a ```mermaid block after <!-- bootstrap:diagram -->");
    const nodes = new Map<string, string>();
    const edges: { from: string; label?: string; to: string }[] = [];
    for (const line of block[1].split("\n").map((l) => l.trim())) {
        const node = /^([A-Za-z][A-Za-z0-9]*)\["(.*)"\]$/.exec(line);
        if (node) nodes.set(node[1], node[2]);
        const edge = /^([A-Za-z][A-Za-z0-9]*) -->(?:\|([^|]*)\|)? ([A-Za-z][A-Za-z0-9]*)$/.exec(line);
        if (edge) edges.push({ from: edge[1], label: edge[2], to: edge[3] });
    }
    return { nodes, edges };
}

describe("docs/bootstrap.md: the diagram follows the rehearsal's actors", () => {
    it("has exactly the rehearsal's actors, roles and resources as nodes, with their labels", () => {
        const { nodes } = diagram();
        const expected = new Map<string, string>([...ACTORS.map((a) => [a.id, a.label] as [string, string]), ...Object.entries(ROLES), ...Object.entries(RESOURCES)]);
        assert.deepEqual([...nodes].sort(), [...expected].sort());
    });

    it("draws each actor entering its role the way the rehearsal enters it, and each role reaching the actor's resources", () => {
        const { edges } = diagram();
        const actorEdges = edges.filter((e) => ACTORS.some((a) => a.id === e.from)).map((e) => `${e.from} -[${e.label}]-> ${e.to}`).sort();
        assert.deepEqual(actorEdges, ACTORS.map((a) => `${a.id} -[${a.via}]-> ${a.role}`).sort());
        const roleEdges = [...new Set(edges.filter((e) => e.from in ROLES).map((e) => `${e.from} -> ${e.to}`))].sort();
        assert.deepEqual(roleEdges, [...new Set(ACTORS.flatMap((a) => a.resources.map((r) => `${a.role} -> ${r}`)))].sort());
    });

    it("lists the actors in the rehearsal's order", () => {
        const { nodes } = diagram();
        assert.deepEqual([...nodes.keys()].filter((k) => ACTORS.some((a) => a.id === k)), ACTORS.map((a) => a.id));
    });
});
