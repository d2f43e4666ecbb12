// The benchmark's overlay: an OverlayNetwork over the hosts of the `hosts` config (JSON, as
// OverlayNetwork takes them), with `containers` attachments spread over the hosts in turn.
const pulumi = require("@pulumi/pulumi");
const { OverlayNetwork } = require("pulumi-overlay");

const config = new pulumi.Config();
const hosts = JSON.parse(config.require("hosts"));
const names = Object.keys(hosts);
const net = new OverlayNetwork("bench", { subnet: "10.66.0.0/22", vni: 66, hosts, namespacePrefix: config.require("prefix") });
const count = Number(config.require("containers"));
for (let i = 0; i < count; i++) net.attach(names[i % names.length], `c${i}`);
