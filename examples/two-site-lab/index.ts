/**
 * Two sites on one host: headquarters with a file server on a fast network, and a branch office
 * whose machines sit behind a slow WAN link (a token bucket, and netem delay and loss when the
 * kernel has sch_netem). The sites may reach each other; within a site, machines find each other
 * by name (`ip netns exec <prefix>laptop ping printer`).
 *
 *   hq      10.10.0.0/24 (br-hq):     files 10.10.0.2, build 10.10.0.3
 *   branch  10.20.0.0/24 (br-branch): laptop 10.20.0.2, printer 10.20.0.3   (each link: wanRate, wanDelay, wanLoss)
 */
import * as pulumi from "@pulumi/pulumi";
import { BridgeNetwork, type LinkShapeArgs, SandboxHost } from "pulumi-overlay";

const config = new pulumi.Config();
const prefix = config.get("prefix") ?? "";
let netns: pulumi.Input<string> | undefined = config.get("hostNamespace");
if ((config.getBoolean("sandbox") ?? true) && !netns) netns = new SandboxHost("sandbox", { prefix }).netns;

// The WAN: what each branch machine's link looks like, in both directions.
const wan: LinkShapeArgs = { rate: config.get("wanRate") ?? "10mbit" };
const delay = config.get("wanDelay");
const loss = config.get("wanLoss");
if (delay) wan.delay = delay;
if (loss) wan.loss = loss;

// Each site lets the other open connections into it (allowFrom takes networks or subnets).
const hq = new BridgeNetwork("hq", { subnet: "10.10.0.0/24", bridge: { name: "br-hq" }, netns, namespacePrefix: prefix, allowFrom: ["10.20.0.0/24"] });
const branch = new BridgeNetwork("branch", {
    subnet: "10.20.0.0/24",
    bridge: { name: "br-branch" },
    netns,
    namespacePrefix: prefix,
    allowFrom: [hq],
});

const machines = [hq.attach("files"), hq.attach("build"), branch.attach("laptop", { link: wan }), branch.attach("printer", { link: wan })];

export const addresses = Object.fromEntries(machines.map((m) => [m.name, m.address]));
export const namespaces = Object.fromEntries(machines.map((m) => [m.name, m.namespace]));
export const wanLink = wan;
