/**
 * Writes the DOT pictures of the examples (the same text BridgeNetwork.diagram() gives as a stack
 * output) and renders them to SVG with Graphviz:
 *
 *   node -r ts-node/register/transpile-only docs/pictures/make.ts   (needs `dot`: apt-get install graphviz)
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { renderDiagram } from "../../sdk/diagram";

const here = __dirname;
const pictures: Record<string, string> = {
    "tutorial-overlay": renderDiagram({
        name: "tutorial-overlay",
        subnet: "10.0.0.0/24",
        gateway: "10.0.0.1",
        bridge: "br0",
        netns: "lab",
        egress: "uplink",
        attachments: [
            { name: "c1", namespace: "c1", address: "10.0.0.2", ports: [] },
            { name: "c2", namespace: "c2", address: "10.0.0.3", ports: [] },
        ],
    }).dot,
    "bridge-network-front": renderDiagram({
        name: "front",
        subnet: "10.0.0.0/24",
        gateway: "10.0.0.1",
        bridge: "br-front",
        netns: "lab",
        egress: "uplink",
        attachments: [
            { name: "c1", namespace: "c1", address: "10.0.0.2", ports: ["8080->80/tcp"] },
            { name: "c2", namespace: "c2", address: "10.0.0.3", ports: [] },
            { name: "c3", namespace: "c3", address: "10.0.0.4", ports: [] },
        ],
    }).dot,
    "bridge-network-back": renderDiagram({
        name: "back",
        subnet: "10.1.0.0/24",
        gateway: "10.1.0.1",
        bridge: "br-back",
        netns: "lab",
        attachments: [{ name: "db", namespace: "db", address: "10.1.0.2", ports: [] }],
    }).dot,
    "routed-lab": `graph "routed-lab" {
    rankdir=LR;
    node [shape=box, fontname="Helvetica"];
    a1 [label="namespace a1\\neth0 10.1.0.2/24\\nroute 10.2.0.0/24 via 10.1.0.1"];
    router [label="namespace router\\nto-a 10.1.0.1/24\\nto-b 10.2.0.1/24\\nip_forward=1"];
    b1 [label="namespace b1\\neth0 10.2.0.2/24\\nroute 10.1.0.0/24 via 10.2.0.1"];
    a1 -- router [label="veth a-cable"];
    router -- b1 [label="veth b-cable"];
}
`,
};

for (const [name, dot] of Object.entries(pictures)) {
    const file = path.join(here, `${name}.dot`);
    writeFileSync(file, dot);
    execFileSync("dot", ["-Tsvg", "-o", path.join(here, `${name}.svg`), file]);
}
