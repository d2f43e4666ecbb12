/**
 * One subnet across several Linux hosts: on each host a bridge and a VXLAN device to every other
 * host, and containers (network namespaces) on the host of your choice, with addresses unique across
 * the hosts. Pulumi's engine reaches the hosts over SSH; they need sshd, iproute2 and nothing else.
 *
 *   host a (192.0.2.11): bridge ovl42 + vx42 -- web 10.42.0.2
 *   host b (192.0.2.12): bridge ovl42 + vx42 -- db  10.42.0.3      (ip netns exec web ping 10.42.0.3)
 *
 * VXLAN is neither authenticated nor encrypted: run it over an underlay you trust (docs/multi-host.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { type OverlayEgressArgs, OverlayNetwork } from "pulumi-overlay";

interface HostConfig {
    /** The host's SSH address. */
    address: string;
    /** The SSH user (default root). */
    user?: string;
    /** The host's public key as in known_hosts; omitted: your known_hosts decides. */
    hostKey?: string;
    /** Its address on the underlay, if not `address`. */
    underlay?: string;
    /** The SSH port (default 22). */
    port?: number;
}

const config = new pulumi.Config();
const hosts = config.requireObject<Record<string, HostConfig>>("hosts");
const privateKey = config.getSecret("privateKey");

const net = new OverlayNetwork("lab", {
    subnet: config.get("subnet") ?? "10.42.0.0/24",
    // The way out, through one host's interface ({ host: "a", outInterface: "eth0" }) or several
    // ([{ host: "a", ... }, { host: "b", ... }]: each host's containers leave through their own); omitted: none.
    egress: config.getObject<OverlayEgressArgs | OverlayEgressArgs[]>("egress"),
    vni: config.getNumber("vni") ?? 42,
    namespacePrefix: config.get("prefix") ?? "",
    hosts: Object.fromEntries(
        Object.entries(hosts).map(([name, h]) => [
            name,
            {
                connection: { host: h.address, user: h.user ?? "root", port: h.port, privateKey, hostKey: h.hostKey },
                underlay: h.underlay ?? h.address,
            },
        ]),
    ),
});

// One container per host unless `containers` says otherwise ({ web: "a", db: "b" }).
const containers = config.getObject<Record<string, string>>("containers") ?? Object.fromEntries(Object.keys(hosts).map((h) => [`c-${h}`, h]));
const attached = Object.entries(containers).map(([name, host]) => [name, net.attach(host, name)] as const);

export const addresses = Object.fromEntries(attached.map(([name, endpoint]) => [name, endpoint.ip]));
export const mtu = net.mtu;
export const picture = net.diagram();
