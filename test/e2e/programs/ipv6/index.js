// An IPv6 BridgeNetwork with two attachments, inside the host namespace the test gives.
const pulumi = require("@pulumi/pulumi");
const { BridgeNetwork } = require("pulumi-overlay");

const config = new pulumi.Config();
const prefix = config.require("prefix");
const net = new BridgeNetwork("v6", {
    subnet: "fd00:10::/64",
    bridge: { name: "br6" },
    netns: config.require("hostNamespace"),
    namespacePrefix: prefix,
    firewall: { backend: config.get("backend") ?? "auto" },
});
const a = net.attach("a");
const b = net.attach("b", { address: "fd00:10::b" });
exports.addresses = { a: a.address, b: b.address, gateway: net.gateway };
