// A BridgeNetwork of two attachments inside the host namespace the test gives, for the host
// firewall tests; `probe: false` in the config turns its proof off, `acceptIn` (chains separated
// by commas) and `backend` set its firewall, `egress` names the uplink to masquerade out of.
const pulumi = require("@pulumi/pulumi");
const { BridgeNetwork } = require("pulumi-overlay");

const config = new pulumi.Config();
const acceptIn = config.get("acceptIn");
const net = new BridgeNetwork("fw", {
    subnet: "10.60.0.0/24",
    bridge: { name: "brfw" },
    netns: config.require("hostNamespace"),
    namespacePrefix: config.require("prefix"),
    probe: config.getBoolean("probe") ?? true,
    egress: config.get("egress") ? { outInterface: config.get("egress") } : undefined,
    firewall: { backend: config.get("backend") ?? "auto", acceptIn: acceptIn ? acceptIn.split(",") : [] },
});
const a = net.attach("a");
const b = net.attach("b");
exports.addresses = { a: a.address, b: b.address };
// The probe is declared once the program's synchronous code has made its attach calls.
exports.proved = pulumi.output(new Promise((resolve) => setImmediate(() => resolve(net.probe ? net.probe.proved : []))));
