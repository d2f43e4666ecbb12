// An OverlayNetwork across the hosts given in the `hosts` config (JSON:
// { a: { connection, underlay }, b: { ... } }), with the attachments of `attachments`
// (JSON: [[host, name], ...]).
const pulumi = require("@pulumi/pulumi");
const { OverlayNetwork } = require("pulumi-overlay");

const config = new pulumi.Config();
const net = new OverlayNetwork("lab", {
    subnet: "10.77.0.0/24",
    vni: 77,
    hosts: JSON.parse(config.require("hosts")),
    namespacePrefix: config.require("prefix"),
});
const attached = JSON.parse(config.get("attachments") ?? '[["a","c1"],["b","c2"]]').map(([host, name]) => [name, net.attach(host, name)]);
exports.addresses = Object.fromEntries(attached.map(([name, endpoint]) => [name, endpoint.ip]));
exports.mtu = net.mtu;
exports.picture = net.diagram();
