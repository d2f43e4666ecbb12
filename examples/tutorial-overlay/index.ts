/**
 * The tutorial's lab, declared: two containers (network namespaces c1 and c2) on a bridge br0
 * with the gateway 10.0.0.1, IP forwarding and MASQUERADE so that they reach the outside.
 *
 *   [c1] eth0 10.0.0.2/24 ─┐
 *                          ├── br0 10.0.0.1/24 ── (forwarding, MASQUERADE) ── uplink
 *   [c2] eth0 10.0.0.3/24 ─┘
 *
 * With `sandbox` (the default) the host side lives in a namespace of its own ("lab"), whose
 * uplink leads to a namespace that plays the internet (203.0.113.1, TEST-NET): nothing of the
 * machine's own network is touched. `hostNamespace` puts the host side into a namespace that
 * already exists instead (a test sandbox, a VM's netns). With `sandbox: false` and no
 * `hostNamespace`, the bridge, forwarding and NAT are made on the host itself, out of `uplink`.
 */
import * as pulumi from "@pulumi/pulumi";
import { Address, Bridge, NatRule, NetworkNamespace, Route, SandboxHost, Sysctl, VethPair } from "pulumi-overlay";

const config = new pulumi.Config();
const sandbox = config.getBoolean("sandbox") ?? true;
const prefix = config.get("prefix") ?? "";
const mtu = config.getNumber("mtu");
const subnet = "10.0.0.0/24";
const gateway = "10.0.0.1";

// The host side: a sandbox namespace with a fake uplink, an existing namespace, or the host itself.
let hostNetns: pulumi.Input<string> | undefined = config.get("hostNamespace");
let uplink: pulumi.Input<string> = config.get("uplink") ?? "eth0";
const internetAddress = "203.0.113.1";
if (sandbox && !hostNetns) {
    const lab = new SandboxHost("sandbox", { prefix });
    hostNetns = lab.netns;
    uplink = lab.uplink;
}

const br0 = new Bridge("br0", { name: "br0", netns: hostNetns, mtu });
const gatewayAddress = new Address("br0-gateway", { device: br0.name, address: `${gateway}/24`, netns: hostNetns });

const containers = [
    { name: "c1", address: "10.0.0.2" },
    { name: "c2", address: "10.0.0.3" },
];
const made = containers.map((c) => {
    const ns = new NetworkNamespace(c.name, { name: `${prefix}${c.name}` });
    const veth = new VethPair(`${c.name}-veth`, { name: `veth-${c.name}`, netns: hostNetns, master: br0.name, mtu, peer: { name: "eth0", netns: ns.name } });
    const address = new Address(`${c.name}-address`, { device: veth.peerName, address: `${c.address}/24`, netns: ns.name });
    // The device from the veth (a property dependency): if the pair is replaced, the kernel drops
    // the route with it, and Pulumi replaces the route too.
    new Route(`${c.name}-default`, { destination: "default", gateway, device: veth.peerName, netns: ns.name }, { dependsOn: [address, gatewayAddress] });
    return { ...c, namespace: ns.name };
});

// Out through the uplink: forwarding on the host side, and the subnet masqueraded behind it.
new Sysctl("ip-forward", { key: "net.ipv4.ip_forward", value: 1, netns: hostNetns });
new NatRule("masquerade", { type: "masquerade", source: subnet, outInterface: uplink, netns: hostNetns });

export const namespaces = made.map((c) => c.namespace);
export const addresses = Object.fromEntries(made.map((c) => [c.name, c.address]));
export const hostNamespace = hostNetns;
export const tryNext = pulumi
    .all(made.map((c) => c.namespace))
    .apply(([c1, c2]) => [
        `sudo ip netns exec ${c1} ping -c 1 10.0.0.3`,
        `sudo ip netns exec ${c2} ping -c 1 ${gateway}`,
        `sudo ip netns exec ${c1} ping -c 1 ${sandbox ? internetAddress : "<an address beyond your uplink>"}`,
        `sudo ip netns exec ${c1} ip -br addr`,
    ]);
