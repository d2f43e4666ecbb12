/**
 * Docker's bridge driver, declared: a "front" network with three containers that reach the
 * outside and publish a port, and a "back" network that the front may reach only when
 * `allowFrontToBack` is set.
 *
 *   front 10.0.0.0/24 (br-front): c1 10.0.0.2 (publishes 8080->80), c2 10.0.0.3 (given), c3 10.0.0.4,
 *                                 and the containers named in the `extra` config
 *   back  10.1.0.0/24 (br-back):  db 10.1.0.2
 */
import * as pulumi from "@pulumi/pulumi";
import { BridgeNetwork, SandboxHost } from "pulumi-overlay";

const config = new pulumi.Config();
const prefix = config.get("prefix") ?? "";
let netns: pulumi.Input<string> | undefined = config.get("hostNamespace");
let uplink: pulumi.Input<string> = config.get("uplink") ?? "eth0";
if ((config.getBoolean("sandbox") ?? true) && !netns) {
    const sandbox = new SandboxHost("sandbox", { prefix });
    netns = sandbox.netns;
    uplink = sandbox.uplink;
}

// The packet-filter backend of both networks' rules: auto (the default), iptables or nftables.
const firewall = { backend: (config.get("firewallBackend") ?? "auto") as "auto" | "iptables" | "nftables" };

const front = new BridgeNetwork("front", {
    subnet: "10.0.0.0/24",
    bridge: { name: "br-front" },
    netns,
    egress: { outInterface: uplink },
    namespacePrefix: prefix,
    firewall,
});
const back = new BridgeNetwork("back", {
    subnet: "10.1.0.0/24",
    bridge: { name: "br-back" },
    netns,
    namespacePrefix: prefix,
    allowFrom: config.getBoolean("allowFrontToBack") ? [front] : [],
    firewall,
});
const c1 = front.attach("c1").publish({ hostPort: 8080, port: 80 });
const c2 = front.attach("c2", { address: "10.0.0.3" });
const c3 = config.getBoolean("dropC3") ? undefined : front.attach("c3");
// More containers by config (`extra: c4,c5`): adding or removing one never renumbers the others.
const extra = (config.get("extra") ?? "")
    .split(",")
    .filter((name) => name !== "")
    .map((name) => front.attach(name));
const db = back.attach("db");

const all = [c1, c2, ...(c3 ? [c3] : []), ...extra, db];
export const addresses = Object.fromEntries(all.map((a) => [a.name, a.address]));
export const namespaces = Object.fromEntries(all.map((a) => [a.name, a.namespace]));
export const frontDiagram = front.diagram();
export const backDiagram = back.diagram();
