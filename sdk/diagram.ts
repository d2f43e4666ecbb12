/**
 * Pictures of a network: Mermaid (renders in GitHub and most Markdown viewers) and Graphviz DOT
 * (`dot -Tsvg`). Pure.
 * @module
 */

/** One attachment in a picture. */
export interface DiagramAttachment {
    /** The attachment's name. */
    name: string;
    /** Its namespace (the container's; `netns` always means the host side). */
    namespace: string;
    /** Its address. */
    address: string;
    /** Its published ports, as `hostPort->port/protocol`. */
    ports: string[];
}

/** What a picture shows. */
export interface DiagramModel {
    /** The network's name. */
    name: string;
    /** Its subnet. */
    subnet: string;
    /** Its gateway address. */
    gateway: string;
    /** The bridge's name. */
    bridge: string;
    /** The host side's namespace; undefined for the root namespace. */
    netns?: string;
    /** The egress interface, if any. */
    egress?: string;
    /** The attachments. */
    attachments: DiagramAttachment[];
}

/** A network as a picture, in two languages. */
export interface Diagram {
    /** Mermaid `flowchart` text: renders in GitHub and most Markdown viewers. */
    mermaid: string;
    /** Graphviz DOT text: `dot -Tsvg`. */
    dot: string;
}

function id(text: string): string {
    return text.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Quotes a label for Mermaid (`"` is not allowed inside, `#quot;` is). */
function mermaidLabel(text: string): string {
    return `"${text.replace(/"/g, "#quot;")}"`;
}

/** Quotes a label for DOT. */
function dotLabel(text: string): string {
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Renders the network as Mermaid and DOT. */
export function renderDiagram(m: DiagramModel): Diagram {
    const host = m.netns ? `namespace ${m.netns}` : "host";
    const bridgeId = `br_${id(m.bridge)}`;
    const mermaid = [
        "flowchart LR",
        `    subgraph ${id(`side_${m.name}`)}[${mermaidLabel(`${host}`)}]`,
        `        ${bridgeId}[${mermaidLabel(`bridge ${m.bridge}<br/>${m.gateway} (gateway)<br/>${m.subnet}`)}]`,
        ...(m.egress
            ? [`        out_${id(m.egress)}([${mermaidLabel(`${m.egress} (egress, MASQUERADE)`)}])`, `        ${bridgeId} --> out_${id(m.egress)}`]
            : []),
        "    end",
        ...m.attachments.flatMap((a) => [
            `    ns_${id(a.namespace)}[${mermaidLabel(`namespace ${a.namespace}<br/>eth0 ${a.address}${a.ports.length ? `<br/>published ${a.ports.join(", ")}` : ""}`)}]`,
            `    ${bridgeId} --- ns_${id(a.namespace)}`,
        ]),
        "",
    ].join("\n");
    const dot = [
        `graph ${dotLabel(m.name)} {`,
        "    rankdir=LR;",
        '    node [shape=box, fontname="Helvetica"];',
        `    subgraph ${dotLabel(`cluster_${m.name}`)} {`,
        `        label=${dotLabel(host)};`,
        `        ${bridgeId} [label=${dotLabel(`bridge ${m.bridge}\n${m.gateway} (gateway)\n${m.subnet}`)}];`,
        ...(m.egress
            ? [
                  `        out_${id(m.egress)} [shape=ellipse, label=${dotLabel(`${m.egress}\negress, MASQUERADE`)}];`,
                  `        ${bridgeId} -- out_${id(m.egress)};`,
              ]
            : []),
        "    }",
        ...m.attachments.flatMap((a) => [
            `    ns_${id(a.namespace)} [label=${dotLabel(`namespace ${a.namespace}\neth0 ${a.address}${a.ports.length ? `\npublished ${a.ports.join(", ")}` : ""}`)}];`,
            `    ${bridgeId} -- ns_${id(a.namespace)};`,
        ]),
        "}",
        "",
    ].join("\n");
    return { mermaid, dot };
}
