import * as pulumi from "@pulumi/pulumi";
import { type Subnet, defaultGateway, parseSubnet } from "../providers/ipam";
import { Address } from "./address";
import { Bridge } from "./bridge";
import type { ConnectionArgs } from "./connection";
import { Endpoint } from "./endpoint";
import { FirewallChain, type FirewallRuleArgs } from "./firewallChain";
import { IpLease } from "./ipLease";
import { NatRule } from "./natRule";
import { Sysctl } from "./sysctl";
import { Vxlan } from "./vxlan";

/** One host of an {@link OverlayNetwork}. */
export interface OverlayHostArgs {
    /** How to reach it over SSH; omitted: this machine (at most one host may omit it). */
    connection?: ConnectionArgs;
    /** Its address on the underlay, which the other hosts send VXLAN packets to, e.g. `192.0.2.11`. */
    underlay: string;
    /** The underlay interface (`dev` of the VXLAN device); omitted: the kernel routes to the remotes. */
    device?: string;
    /** The host-side namespace for the bridge and VXLAN device on that host; omitted: its root namespace. */
    netns?: string;
}

/** The way out of an {@link OverlayNetwork}, through one host. */
export interface OverlayEgressArgs {
    /** The host (a key of `hosts`) whose bridge holds the gateway and which masquerades. */
    host: string;
    /** That host's interface that leads out, e.g. `eth0`. */
    outInterface: string;
}

/** Arguments of an {@link OverlayNetwork}. */
export interface OverlayNetworkArgs {
    /** The subnet spanning the hosts, IPv4 (`10.10.0.0/24`). Attachments get unique addresses from it. */
    subnet: string;
    /** The VXLAN network identifier, 1-16777215, the same on every host. */
    vni: number;
    /** The hosts, by a name of your choice: `{ a: { connection, underlay: "192.0.2.11" }, b: { ... } }`. */
    hosts: Record<string, OverlayHostArgs>;
    /** The bridge's name on every host; default `ovl` and the VNI (`ovl42`). */
    bridgeName?: string;
    /** The underlay's MTU (default 1500); the network's MTU is 50 bytes less (the VXLAN header over IPv4). */
    underlayMtu?: number;
    /** The UDP port of VXLAN, default 4789. */
    dstPort?: number;
    /** Prefix of the namespace names attachments get by default (`<prefix><attachment name>`). */
    namespacePrefix?: string;
    /**
     * The way out, through one host or several: the gateway address (the subnet's first) on each
     * such host's bridge, forwarding on and MASQUERADE out of its `outInterface` there. With one
     * egress host, every attachment's default route goes via the gateway (traffic from other hosts
     * crosses the VXLAN to it). With several, their bridges share one MAC address (an anycast
     * gateway: each attachment's gateway is its own host's bridge), and attachments on hosts without
     * egress get no default route. Omitted: the network reaches nothing outside it.
     */
    egress?: OverlayEgressArgs | OverlayEgressArgs[];
    /**
     * The backend of the network's rules on every host (isolation, egress NAT): `auto` (the
     * default), `iptables` or `nftables`, as a BridgeNetwork's `firewall.backend`.
     */
    firewallBackend?: "auto" | "iptables" | "nftables";
}

/** Arguments of {@link OverlayNetwork.attach}. */
export interface OverlayAttachArgs {
    /** The address, inside the subnet. Omitted: the lowest free one, unique across the hosts. */
    address?: string;
    /** The namespace's name. Default: the network's `namespacePrefix` plus the attachment's name. */
    namespace?: string;
}

/** What an {@link OverlayNetwork} declares on one host. */
export interface OverlayHostParts {
    /** The host's bridge. */
    bridge: Bridge;
    /** The host's VXLAN device, on the bridge, to every other host. */
    vxlan: Vxlan;
}

/** An attachment of an {@link OverlayNetwork}. */
export interface OverlayAttachment {
    /** The host it is on. */
    host: string;
    /** Its name, as given to attach. */
    name: string;
    /** Its Endpoint (namespace, veth, address). */
    endpoint: Endpoint;
}

/** The VXLAN header and the outer IPv4, UDP and Ethernet headers: what the network's MTU gives up. */
export const VXLAN_OVERHEAD_IPV4 = 50;

/**
 * One subnet spanning several hosts: on each host a bridge and a VXLAN device to every other host
 * (head-end replication, learning off), and attachments (namespaces, each an {@link Endpoint}) on
 * the host of your choice, with addresses unique across the hosts and stable across runs (leased
 * from one pool, kept on the first host). The MTU is lowered for the VXLAN header. Hosts are
 * reached over SSH (`connection`), one connection per host, by Pulumi's engine: nothing runs on
 * them but sshd, iproute2 and the commands.
 *
 * VXLAN is neither authenticated nor encrypted: the underlay must be trusted (docs/multi-host.md).
 *
 * @example
 * ```ts
 * const net = new OverlayNetwork("lab", {
 *     subnet: "10.10.0.0/24",
 *     vni: 42,
 *     hosts: { a: { connection: { host: "192.0.2.11", user: "root", privateKey }, underlay: "192.0.2.11" },
 *              b: { connection: { host: "192.0.2.12", user: "root", privateKey }, underlay: "192.0.2.12" } },
 * });
 * const web = net.attach("a", "web");
 * const db = net.attach("b", "db");   // web pings db across the hosts
 * ```
 */
export class OverlayNetwork extends pulumi.ComponentResource {
    /** The network's Pulumi name. */
    readonly name: string;
    /** The subnet. */
    readonly subnet: string;
    /** The network's MTU (the underlay's minus the VXLAN overhead). */
    readonly mtu: number;
    /** The bridge's name on every host. */
    readonly bridgeName: string;
    /** Each host's bridge and VXLAN device. */
    readonly hosts: Record<string, OverlayHostParts> = {};
    /** The attachments made so far. */
    readonly attachments: OverlayAttachment[] = [];
    /** The gateway address on the egress hosts' bridges, when there is egress. */
    readonly gateway?: string;
    /** The gateway's Address on each egress host's bridge, by host. */
    readonly gatewayAddresses: Record<string, Address> = {};

    private readonly args: OverlayNetworkArgs;
    private readonly egress: Map<string, string>;
    private readonly parsed: Subnet;
    private readonly leaseHost: string;

    constructor(name: string, args: OverlayNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("overlay:index:OverlayNetwork", name, {}, opts);
        const parsed = parseSubnet(args.subnet);
        if (typeof parsed === "string") throw new Error(`OverlayNetwork ${name}: subnet ${parsed}`);
        if (parsed.family !== 4)
            throw new Error(`OverlayNetwork ${name}: subnet ${args.subnet}: an IPv4 subnet (the VXLAN underlay and overlay are IPv4 here)`);
        const names = Object.keys(args.hosts);
        if (names.length === 0) throw new Error(`OverlayNetwork ${name}: hosts is empty; give at least one`);
        if (names.filter((h) => args.hosts[h].connection === undefined).length > 1)
            throw new Error(`OverlayNetwork ${name}: more than one host has no connection (only this machine may go without one)`);
        const underlays = names.map((h) => args.hosts[h].underlay);
        const twice = underlays.find((u, i) => underlays.indexOf(u) !== i);
        if (twice) throw new Error(`OverlayNetwork ${name}: two hosts have the underlay address ${twice}`);
        this.name = name;
        this.args = args;
        this.parsed = parsed;
        this.subnet = args.subnet;
        this.mtu = (args.underlayMtu ?? 1500) - VXLAN_OVERHEAD_IPV4;
        this.bridgeName = args.bridgeName ?? `ovl${args.vni}`;
        this.leaseHost = names[0];
        const egress = args.egress === undefined ? [] : Array.isArray(args.egress) ? args.egress : [args.egress];
        for (const [i, e] of egress.entries()) {
            if (!args.hosts[e.host]) throw new Error(`OverlayNetwork ${name}: egress host "${e.host}" is not one of the hosts (${names.join(", ")})`);
            if (egress.findIndex((other) => other.host === e.host) !== i) throw new Error(`OverlayNetwork ${name}: egress host "${e.host}" is given twice`);
        }
        this.egress = new Map(egress.map((e) => [e.host, e.outInterface]));
        this.gateway = egress.length > 0 ? defaultGateway(parsed) : undefined;
        // Several gateways of one L2 network answer with one MAC: whichever answers, it is right.
        const gatewayMac = egress.length > 1 ? anycastMac(args.vni) : undefined;
        const backend = args.firewallBackend ?? "auto";

        for (const host of names) {
            const h = args.hosts[host];
            const child = { parent: this };
            const on = h.connection === undefined ? {} : { connection: h.connection };
            const anycast = gatewayMac && this.egress.has(host) ? { mac: gatewayMac } : {};
            const bridge = new Bridge(`${name}-${host}-bridge`, { name: this.bridgeName, mtu: this.mtu, netns: h.netns, ...anycast, ...on }, child);
            const vxlan = new Vxlan(
                `${name}-${host}-vxlan`,
                {
                    name: `vx${args.vni}`,
                    vni: args.vni,
                    localAddress: h.underlay,
                    remotes: names.filter((other) => other !== host).map((other) => args.hosts[other].underlay),
                    ...(h.device ? { device: h.device } : {}),
                    ...(args.dstPort ? { dstPort: args.dstPort } : {}),
                    master: bridge.name,
                    mtu: this.mtu,
                    netns: h.netns,
                    ...on,
                },
                child,
            );
            // Isolation as in a BridgeNetwork: into the bridge only replies, the network's own
            // traffic (bridged, across the VXLAN too: br_netfilter shows it to FORWARD) and nothing
            // else; out of it, accepted even where FORWARD's policy is DROP.
            const rules = bridge.name.apply((bridgeName): FirewallRuleArgs[] => [
                { state: ["established", "related"], action: "accept" },
                { inInterface: bridgeName, action: "accept" },
                { action: "drop" },
            ]);
            new FirewallChain(
                `${name}-${host}-in`,
                { netns: h.netns, backend, jump: { from: "FORWARD", position: "first", outInterface: bridge.name }, rules, ...on },
                child,
            );
            new FirewallChain(
                `${name}-${host}-out`,
                { netns: h.netns, backend, jump: { from: "FORWARD", position: "last", inInterface: bridge.name }, rules: [{ action: "accept" }], ...on },
                child,
            );
            const outInterface = this.egress.get(host);
            if (outInterface !== undefined) {
                this.gatewayAddresses[host] = new Address(
                    `${name}-${host}-gateway`,
                    { device: bridge.name, address: `${this.gateway}/${parsed.prefixLength}`, netns: h.netns, ...on },
                    child,
                );
                new Sysctl(`${name}-${host}-forwarding`, { key: "net.ipv4.ip_forward", value: 1, netns: h.netns, ...on }, child);
                new NatRule(`${name}-${host}-masquerade`, { type: "masquerade", source: args.subnet, outInterface, netns: h.netns, backend, ...on }, child);
            }
            this.hosts[host] = { bridge, vxlan };
        }
        this.registerOutputs({ subnet: this.subnet, mtu: this.mtu });
    }

    /**
     * Attaches a new namespace on one host: its address leased from the network's one pool (unique
     * across the hosts, stable across runs), then a veth from that host's bridge into it.
     */
    attach(host: string, name: string, args: OverlayAttachArgs = {}): Endpoint {
        const h = this.args.hosts[host];
        if (!h)
            throw new Error(`OverlayNetwork ${this.name}: attach("${host}", "${name}"): no host "${host}" (hosts: ${Object.keys(this.args.hosts).join(", ")})`);
        if (this.attachments.some((a) => a.name === name)) throw new Error(`OverlayNetwork ${this.name}: attach: an attachment named "${name}" exists already`);
        const base = `${this.name}-${name}`;
        // The gateway this attachment routes through: its own host's, or the only one there is.
        const gateways = Object.values(this.gatewayAddresses);
        const route = this.gatewayAddresses[host] ?? (gateways.length === 1 ? gateways[0] : undefined);
        const leaseOn = this.args.hosts[this.leaseHost].connection;
        // The pool lives on the first host: one place decides every address of the network.
        const lease = new IpLease(
            `${base}-ip`,
            {
                subnet: this.subnet,
                pool: `overlay-${this.args.vni}`,
                gateway: defaultGateway(this.parsed),
                ...(args.address ? { address: args.address } : {}),
                ...(leaseOn ? { connection: leaseOn } : {}),
            },
            { parent: this },
        );
        const endpoint = new Endpoint(
            base,
            {
                namespace: args.namespace ?? `${this.args.namespacePrefix ?? ""}${name}`,
                bridge: this.hosts[host].bridge.name,
                subnet: this.subnet,
                address: lease.ip,
                ...(route ? { gateway: this.gateway, defaultRoute: true } : { defaultRoute: false }),
                mtu: this.mtu,
                ...(h.netns ? { netns: h.netns } : {}),
                ...(h.connection ? { connection: h.connection } : {}),
            },
            { parent: this, dependsOn: [this.hosts[host].vxlan, ...(route ? [route] : [])] },
        );
        this.attachments.push({ host, name, endpoint });
        return endpoint;
    }

    /** The network as a Mermaid picture: one box per host, its bridge and VXLAN device, its attachments. */
    diagram(): pulumi.Output<string> {
        const rows = this.attachments.map((a) => pulumi.all([a.endpoint.namespace, a.endpoint.ip]).apply(([namespace, ip]) => ({ ...a, namespace, ip })));
        return pulumi.all(rows).apply((attached) => {
            const lines = ["flowchart LR"];
            for (const [host, h] of Object.entries(this.args.hosts)) {
                lines.push(`    subgraph host_${safe(host)}["host ${host} (${h.underlay})"]`);
                lines.push(`        br_${safe(host)}["bridge ${this.bridgeName}<br/>vx${this.args.vni} VNI ${this.args.vni}, MTU ${this.mtu}"]`);
                for (const a of attached.filter((x) => x.host === host)) {
                    lines.push(`        ns_${safe(a.namespace)}["${a.namespace}<br/>eth0 ${a.ip}"]`, `        br_${safe(host)} --- ns_${safe(a.namespace)}`);
                }
                lines.push("    end");
            }
            const names = Object.keys(this.args.hosts);
            for (let i = 0; i < names.length; i++)
                for (let j = i + 1; j < names.length; j++)
                    lines.push(`    br_${safe(names[i])} <-. "VXLAN ${this.args.vni} (UDP ${this.args.dstPort ?? 4789})" .-> br_${safe(names[j])}`);
            return `${lines.join("\n")}\n`;
        });
    }
}

/** The MAC address of an overlay's gateways, from its VNI: locally administered, unicast (`02:6f:76:` and the VNI's three bytes). */
export function anycastMac(vni: number): string {
    return ["02", "6f", "76", ...[16, 8, 0].map((shift) => ((vni >> shift) & 0xff).toString(16).padStart(2, "0"))].join(":");
}

function safe(text: string): string {
    return text.replace(/[^A-Za-z0-9_]/g, "_");
}
