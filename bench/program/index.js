// The benchmark's overlay: the tutorial's topology with N containers, inside the host namespace
// the benchmark gives. JavaScript, so that no TypeScript compile is timed.
const pulumi = require("@pulumi/pulumi");
const { Address, Bridge, NatRule, NetworkNamespace, Route, Sysctl, VethPair } = require("pulumi-overlay");

const config = new pulumi.Config();
const n = config.requireNumber("containers");
const netns = config.require("hostNamespace");
const prefix = config.require("prefix");
// Two stacks can share one host namespace with different bridges, subnets (10.<subnet>.0.0/16)
// and veth names.
const bridge = config.get("bridge") ?? "br0";
const subnet = config.getNumber("subnet") ?? 0;
const vethPrefix = config.get("vethPrefix") ?? "veth";
const gatewayIp = `10.${subnet}.0.1`;

const br0 = new Bridge("br0", { name: bridge, netns });
const gateway = new Address("br0-gateway", { device: br0.name, address: `${gatewayIp}/16`, netns });
new Sysctl("ip-forward", { key: "net.ipv4.ip_forward", value: 1, netns });
new NatRule("masquerade", { type: "masquerade", source: `10.${subnet}.0.0/16`, outInterface: config.require("uplink"), netns });
for (let i = 1; i <= n; i++) {
    const ns = new NetworkNamespace(`c${i}`, { name: `${prefix}c${i}` });
    const veth = new VethPair(`c${i}-veth`, { name: `${vethPrefix}${i}`, netns, master: br0.name, peer: { name: "eth0", netns: ns.name } });
    const address = new Address(`c${i}-address`, { device: veth.peerName, address: `10.${subnet}.${Math.floor(i / 250)}.${(i % 250) + 2}/16`, netns: ns.name });
    new Route(`c${i}-default`, { destination: "default", gateway: gatewayIp, netns: ns.name }, { dependsOn: [address, gateway] });
}
