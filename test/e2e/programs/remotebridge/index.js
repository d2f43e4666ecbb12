// A BridgeNetwork with egress, names and its proof, built on the remote host of the `connection`
// config (JSON), out of its `uplink` interface.
const pulumi = require("@pulumi/pulumi");
const { BridgeNetwork } = require("pulumi-overlay");

const config = new pulumi.Config();
const net = new BridgeNetwork("remote", {
    subnet: "10.88.0.0/24",
    bridge: { name: "brr" },
    egress: { outInterface: config.require("uplink") },
    namespacePrefix: config.require("prefix"),
    connection: JSON.parse(config.require("connection")),
});
const a = net.attach("c1");
const b = net.attach("c2");
exports.addresses = { c1: a.address, c2: b.address };
exports.proved = pulumi.output(new Promise((resolve) => setImmediate(() => resolve(net.probe ? net.probe.proved : []))));
