// A BridgeNetwork of two attachments inside the host namespace the test gives, for the host
// firewall tests; `probe: false` in the config turns its proof off.
const pulumi = require("@pulumi/pulumi");
const { BridgeNetwork } = require("pulumi-overlay");

const config = new pulumi.Config();
const net = new BridgeNetwork("fw", {
    subnet: "10.60.0.0/24",
    bridge: { name: "brfw" },
    netns: config.require("hostNamespace"),
    namespacePrefix: config.require("prefix"),
    probe: config.getBoolean("probe") ?? true,
});
const a = net.attach("a");
const b = net.attach("b");
exports.addresses = { a: a.address, b: b.address };
// The probe is declared once the program's synchronous code has made its attach calls.
exports.proved = pulumi.output(new Promise((resolve) => setImmediate(() => resolve(net.probe ? net.probe.proved : []))));
