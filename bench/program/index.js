// The benchmark's overlay: the tutorial's topology with N containers, inside the host namespace
// the benchmark gives. JavaScript, so that no TypeScript compile is timed.
const pulumi = require("@pulumi/pulumi");
const { Address, Bridge, NatRule, NetworkNamespace, Route, Sysctl, VethPair } = require("pulumi-overlay");

const config = new pulumi.Config();
const n = config.requireNumber("containers");
const netns = config.require("hostNamespace");
const prefix = config.require("prefix");

const br0 = new Bridge("br0", { name: "br0", netns });
const gateway = new Address("br0-gateway", { device: br0.name, address: "10.0.0.1/16", netns });
new Sysctl("ip-forward", { key: "net.ipv4.ip_forward", value: 1, netns });
new NatRule("masquerade", { type: "masquerade", source: "10.0.0.0/16", outInterface: config.require("uplink"), netns });
for (let i = 1; i <= n; i++) {
    const ns = new NetworkNamespace(`c${i}`, { name: `${prefix}c${i}` });
    const veth = new VethPair(`c${i}-veth`, { name: `veth${i}`, netns, master: br0.name, peer: { name: "eth0", netns: ns.name } });
    const address = new Address(`c${i}-address`, { device: veth.peerName, address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 2}/16`, netns: ns.name });
    new Route(`c${i}-default`, { destination: "default", gateway: "10.0.0.1", netns: ns.name }, { dependsOn: [address, gateway] });
}
