// The benchmark's overlay: the tutorial's topology with N containers, inside the host namespace
// the benchmark gives. JavaScript, so that no TypeScript compile is timed.
const pulumi = require("@pulumi/pulumi");
const { Address, Bridge, BridgeNetwork, Endpoint, NatRule, NetworkNamespace, Route, Sysctl, VethPair } = require("pulumi-overlay");

const config = new pulumi.Config();
const n = config.requireNumber("containers");
// The host side's namespace; not set: the provider's own (the benchmark's "host" tools run the
// engine inside the sandbox's host namespace, as on a host whose bridge is in its root namespace).
const netns = config.get("hostNamespace");
const prefix = config.require("prefix");
// Two stacks can share one host namespace with different bridges, subnets (10.<subnet>.0.0/16)
// and veth names.
const bridge = config.get("bridge") ?? "br0";
const subnet = config.getNumber("subnet") ?? 0;
const vethPrefix = config.get("vethPrefix") ?? "veth";
// "resources": each container as a NetworkNamespace, a VethPair, an Address and a Route, as the
// tutorial types them; "endpoints": each container as one Endpoint (the same kernel objects).
const shape = config.get("shape") ?? "resources";
const gatewayIp = `10.${subnet}.0.1`;

// "network": the N containers as attachments of one BridgeNetwork with egress, as users declare
// them (names and probe off: the other measured tools neither write hosts files nor ping).
if (shape === "network") {
    const net = new BridgeNetwork("lab", {
        subnet: `10.${subnet}.0.0/16`,
        bridge: { name: bridge },
        netns,
        namespacePrefix: prefix,
        egress: { outInterface: config.require("uplink") },
        names: false,
        probe: false,
    });
    for (let i = 1; i <= n; i++) net.attach(`c${i}`);
    return;
}

// A dynamic provider that does nothing.
const nothing = {
    create: async () => ({ id: "x", outs: {} }),
    delete: async () => {},
};

/**
 * What "network" registers besides its attachments, through the provider that does nothing: a
 * component, its bridge, gateway address, two chains, forwarding and masquerade. Returns what the
 * attachments hang on.
 */
function noopNetworkBase() {
    const lab = new pulumi.ComponentResource("bench:index:Lab", "lab");
    const parent = { parent: lab };
    const root = new pulumi.dynamic.Resource(nothing, "lab-bridge", {}, parent);
    const gateway = new pulumi.dynamic.Resource(nothing, "lab-gateway", {}, { ...parent, dependsOn: [root] });
    for (const name of ["lab-in", "lab-out", "lab-forwarding", "lab-masquerade"]) new pulumi.dynamic.Resource(nothing, name, {}, { ...parent, dependsOn: [root] });
    return { parent, root, gateway };
}

// "noop-network": what "network" registers, N attachments included, through the provider that does nothing.
if (shape === "noop-network") {
    const { parent, gateway } = noopNetworkBase();
    for (let i = 1; i <= n; i++) new pulumi.dynamic.Resource(nothing, `lab-c${i}`, { n: i }, { ...parent, dependsOn: [gateway] });
    return;
}

// "noop-sized": "noop-network" whose N attachments carry an attachment's properties (what the SDK
// registers; sizedProvider.js adds what our check, create and read add), its provider text one
// require as ours is: what Pulumi's engine and SDK cost for our contract, with no host work.
if (shape === "noop-sized") {
    const { parent, root, gateway } = noopNetworkBase();
    const sized = `exports.handler = () => require(${JSON.stringify(require("node:path").join(__dirname, "sizedProvider.js"))});\n`;
    const bridgeName = root.id.apply(() => bridge);
    for (let i = 1; i <= n; i++) {
        const inputs = {
            __provider: sized,
            logicalName: `lab-c${i}`,
            identity: require("node:crypto").createHash("sha256").update(`c${i}`).digest("hex").slice(0, 32),
            namespace: `${prefix}c${i}`,
            bridge: bridgeName,
            netns,
            subnet: `10.${subnet}.0.0/16`,
            gateway: gatewayIp,
            reserved: [],
        };
        // Without stack traces for its promises, as the SDK registers (sdk/provider.ts: OverlayResource).
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        new pulumi.CustomResource("pulumi-nodejs:dynamic/overlay:Endpoint", `lab-c${i}`, inputs, { ...parent, dependsOn: [gateway] });
        Error.stackTraceLimit = limit;
    }
    return;
}

// "noop": as many resources as "endpoints" declares (N + 4), through a dynamic provider that does
// nothing: what Pulumi's engine and SDK cost on their own, the floor of any provider.
if (shape === "noop") {
    const root = new pulumi.dynamic.Resource(nothing, "br0", {});
    for (const name of ["br0-gateway", "ip-forward", "masquerade"]) new pulumi.dynamic.Resource(nothing, name, {}, { dependsOn: [root] });
    for (let i = 1; i <= n; i++) new pulumi.dynamic.Resource(nothing, `c${i}`, { n: i }, { dependsOn: [root] });
    return;
}

const br0 = new Bridge("br0", { name: bridge, netns });
const gateway = new Address("br0-gateway", { device: br0.name, address: `${gatewayIp}/16`, netns });
new Sysctl("ip-forward", { key: "net.ipv4.ip_forward", value: 1, netns });
new NatRule("masquerade", { type: "masquerade", source: `10.${subnet}.0.0/16`, outInterface: config.require("uplink"), netns });
for (let i = 1; i <= n; i++) {
    const address = `10.${subnet}.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    if (shape === "endpoints") {
        new Endpoint(`c${i}`, { namespace: `${prefix}c${i}`, bridge: br0.name, netns, hostInterface: `${vethPrefix}${i}`, subnet: `10.${subnet}.0.0/16`, address, pool: bridge }, { dependsOn: [gateway] });
        continue;
    }
    const ns = new NetworkNamespace(`c${i}`, { name: `${prefix}c${i}` });
    const veth = new VethPair(`c${i}-veth`, { name: `${vethPrefix}${i}`, netns, master: br0.name, peer: { name: "eth0", netns: ns.name } });
    const addr = new Address(`c${i}-address`, { device: veth.peerName, address: `${address}/16`, netns: ns.name });
    new Route(`c${i}-default`, { destination: "default", gateway: gatewayIp, netns: ns.name }, { dependsOn: [addr, gateway] });
}
