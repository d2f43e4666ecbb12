import * as pulumi from "@pulumi/pulumi";
import { parseChainRef } from "../providers/nftables/rules";
import { type Subnet, defaultGateway, explicitAddressProblem, parseSubnet } from "../providers/ipam";
import { AcceptIn } from "./acceptIn";
import type { ConnectionArgs } from "./connection";
import { Address } from "./address";
import { Bridge } from "./bridge";
import { type Diagram, type DiagramModel, renderDiagram } from "./diagram";
import { FirewallChain, type FirewallRuleArgs } from "./firewallChain";
import { HostsFile } from "./hostsFile";
import { NetworkProbe } from "./networkProbe";
import { Endpoint, type EndpointArgs } from "./endpoint";
import { NatRule } from "./natRule";
import { attachmentRoom, onHostKey, programChecks } from "./programChecks";
import { Sysctl } from "./sysctl";
import type { LinkShapeArgs } from "./trafficControl";

/** The bridge of a {@link BridgeNetwork}. */
export interface BridgeNetworkBridge {
    /** The bridge's name (1-15 bytes). Default: derived from the network's name. */
    name?: pulumi.Input<string>;
    /** The bridge's MTU, also given to the attachments' veth pairs. */
    mtu?: pulumi.Input<number>;
}

/** The way out of a {@link BridgeNetwork}. */
export interface BridgeNetworkEgress {
    /** The interface that leads out (the uplink); the subnet is masqueraded behind its address. */
    outInterface: pulumi.Input<string>;
}

/** The packet filter of a {@link BridgeNetwork}: which backend writes its rules, and the host firewall chains it is accepted in. */
export interface BridgeNetworkFirewall {
    /**
     * The backend of the network's rules (isolation, allowFrom, egress NAT, published ports):
     * `iptables`, `nftables` (pulumi-overlay's own `table inet pulumi_overlay`), or `auto` (the
     * default): nftables where the iptables commands are missing or the host's rules are native
     * nftables, iptables where they are iptables ones (Docker's chains). See docs/host-firewalls.md.
     */
    backend?: "auto" | "iptables" | "nftables";
    /**
     * Chains of the host's own nftables firewall that drop the network's traffic, as
     * `FAMILY TABLE CHAIN` (`"inet hostfw forward"`, `"inet firewalld filter_FORWARD"`):
     * pulumi-overlay inserts accept rules for exactly this network's bridge and subnet at their top
     * (an {@link AcceptIn} each), marked as its own, removed on destroy, put back by the next up after
     * a reload of the host's ruleset. The chains must exist and stay their owner's.
     */
    acceptIn?: string[];
}

/** Arguments of a {@link BridgeNetwork}. */
export interface BridgeNetworkArgs {
    /** The network's subnet, IPv4 or IPv6: `10.0.0.0/24`, `fd00:1::/64`. Attachments get addresses from it. */
    subnet: string;
    /** The gateway address, on the bridge. Default: the subnet's first host address (`10.0.0.1`). */
    gateway?: string;
    /** The bridge: its name (default: derived from the network's name) and MTU (also the attachments' veth MTU). */
    bridge?: BridgeNetworkBridge;
    /** The namespace of the host side (bridge, forwarding, NAT, firewall); omitted: the root namespace. */
    netns?: pulumi.Input<string>;
    /** Reach the outside: forwarding on, MASQUERADE for the subnet out of `outInterface`. Omitted: no way out. */
    egress?: BridgeNetworkEgress;
    /** Other networks (or subnets) whose attachments may open connections into this network. Others are refused. */
    allowFrom?: (BridgeNetwork | string)[];
    /** Prefix of the namespace names attachments get by default (`<prefix><attachment name>`). */
    namespacePrefix?: string;
    /**
     * Names: attachments resolve each other by attachment name and by namespace name (`ping c2`
     * from c1), through /etc/netns/NAMESPACE/hosts (a {@link HostsFile}). Default on; `false`
     * turns it off; `{ nameservers }` also writes the attachments' resolv.conf.
     */
    names?: boolean | BridgeNetworkNames;
    /**
     * Prove the network once its attachments exist: each pings its gateway and the next attachment
     * (a {@link NetworkProbe}); the up fails, naming the host firewall chains that drop the traffic,
     * when one cannot. Its check reads the host's ruleset already at preview and fails there when
     * a chain of another owner certainly drops the traffic and is not in `firewall.acceptIn`.
     * Default on; `false` skips both (very large labs: it costs a ping per attachment).
     */
    probe?: boolean;
    /** The backend of the network's rules, and the host firewall chains it is accepted in (see {@link BridgeNetworkFirewall}). */
    firewall?: BridgeNetworkFirewall;
    /** The host the whole network lives on, over SSH (see {@link ConnectionArgs}), given to every resource it declares; omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
}

/** Names of a {@link BridgeNetwork}'s attachments, beyond the default (see {@link BridgeNetworkArgs.names}). */
export interface BridgeNetworkNames {
    /** Nameservers written to each attachment's resolv.conf (`/etc/netns/NAMESPACE/resolv.conf`, `nameserver 192.0.2.53`). */
    nameservers?: string[];
}

/** Arguments of {@link BridgeNetwork.attach}. */
export interface AttachArgs {
    /** The address, inside the subnet (not its network, broadcast or gateway address). Omitted: the lowest free one. */
    address?: string;
    /** The namespace's name. Default: the network's `namespacePrefix` plus the attachment's name. */
    namespace?: pulumi.Input<string>;
    /** The interface name inside the namespace (default `eth0`). */
    interfaceName?: pulumi.Input<string>;
    /**
     * Shaping and impairment of the attachment's link, in both directions, e.g.
     * `{ rate: "10mbit", delay: "20ms", loss: "1%" }`; changing it updates the link in place.
     */
    link?: pulumi.Input<LinkShapeArgs>;
}

/** Arguments of {@link Attachment.publish}. */
export interface PublishArgs {
    /** The port on the host side's own addresses. */
    hostPort: number;
    /** The port inside the attachment. */
    port: number;
    /** `tcp` (default) or `udp`. */
    protocol?: "tcp" | "udp";
}

/**
 * A whole overlay in a few lines, the way Docker's bridge driver builds one, declared as code: a
 * bridge with the gateway address, and for each {@link BridgeNetwork.attach | attachment} a
 * namespace cabled into the bridge with a leased address and a default route. With `egress`,
 * forwarding and MASQUERADE lead out; firewall chains keep other networks out (unless listed in
 * `allowFrom`) and accept forwarded traffic even where the FORWARD policy is DROP (as on hosts
 * with Docker); published ports come in through DNAT.
 *
 * @example
 * ```ts
 * const net = new BridgeNetwork("lab", { subnet: "10.0.0.0/24", bridge: { name: "br0" }, egress: { outInterface: "eth0" } });
 * const c1 = net.attach("c1");
 * const c2 = net.attach("c2", { address: "10.0.0.3" });
 * c1.publish({ hostPort: 8080, port: 80 });
 * export const c1Address = c1.address;
 * export const picture = net.diagram();
 * ```
 */
export class BridgeNetwork extends pulumi.ComponentResource {
    /** The network's Pulumi name. */
    readonly name: string;
    /** The subnet. */
    readonly subnet: string;
    /** The gateway address. */
    readonly gateway: string;
    /** 4 or 6. */
    readonly family: 4 | 6;
    /** The bridge. */
    readonly bridge: Bridge;
    /** The bridge's name. */
    readonly bridgeName: pulumi.Output<string>;
    /** The gateway address on the bridge. */
    readonly gatewayAddress: Address;
    /** The namespace of the host side; undefined for the root namespace. */
    readonly netns?: pulumi.Input<string>;
    /** The attachments made so far. */
    readonly attachments: Attachment[] = [];

    private readonly parsed: Subnet;
    private readonly args: BridgeNetworkArgs;
    private readonly explicitAddresses = new Map<string, string>();
    /**
     * The addresses given by hand, for the leases that search for a free one. Resolved once the
     * program's synchronous code has run (its attach calls are made by then), so that a free-address
     * search never takes an address a later attach asks for, whatever order the leases run in.
     */
    readonly reserved: pulumi.Output<string[]> = pulumi.output(
        new Promise<string[]>((resolve) => setImmediate(() => resolve([...this.explicitAddresses.keys()]))),
    );
    private forwarding?: Sysctl;
    /** The attachments' hosts files, once declared. */
    names?: HostsFile;
    /** The proof that the network passes traffic, once declared. */
    probe?: NetworkProbe;
    private readonly chains: FirewallChain[] = [];
    /** The accept rules in the host firewall's chains (`firewall.acceptIn`). */
    readonly accepts: AcceptIn[] = [];
    /** The backend the network's rules are asked to use. */
    readonly firewallBackend: "auto" | "iptables" | "nftables";
    /** The connection given to every resource of the network (empty: this machine). */
    readonly on: {
        /** The network's `connection`. */
        connection?: pulumi.Input<ConnectionArgs>;
    };

    constructor(name: string, args: BridgeNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("overlay:index:BridgeNetwork", name, {}, opts);
        const parsed = parseSubnet(args.subnet);
        if (typeof parsed === "string") throw new Error(`BridgeNetwork ${name}: subnet ${parsed}`);
        const gateway = args.gateway ?? defaultGateway(parsed);
        const gatewayProblem = explicitAddressProblem(parsed, "", gateway);
        if (gatewayProblem) throw new Error(`BridgeNetwork ${name}: gateway ${gatewayProblem}`);
        const allowed = (args.allowFrom ?? []).map((a) => (typeof a === "string" ? a : a.subnet));
        for (const source of allowed) {
            const problem = parseSubnet(source);
            if (typeof problem === "string") throw new Error(`BridgeNetwork ${name}: allowFrom ${problem}`);
            if (problem.family !== parsed.family)
                throw new Error(`BridgeNetwork ${name}: allowFrom ${source} is IPv${problem.family} but the network is IPv${parsed.family}`);
        }
        for (const chain of args.firewall?.acceptIn ?? []) {
            if (!parseChainRef(chain))
                throw new Error(`BridgeNetwork ${name}: firewall.acceptIn "${chain}" is not "FAMILY TABLE CHAIN", e.g. "inet hostfw forward"`);
        }
        const backend = args.firewall?.backend ?? "auto";
        if (!["auto", "iptables", "nftables"].includes(backend))
            throw new Error(`BridgeNetwork ${name}: firewall.backend "${backend}" is not one of 'auto', 'iptables', 'nftables'`);
        this.firewallBackend = backend;
        this.on = args.connection === undefined ? {} : { connection: args.connection };
        programChecks().subnet(`BridgeNetwork ${name}`, onHostKey(args.connection, args.netns), parsed);
        this.name = name;
        this.parsed = parsed;
        this.args = args;
        this.subnet = args.subnet;
        this.gateway = gateway;
        this.family = parsed.family;
        this.netns = args.netns;
        const child = { parent: this };

        this.bridge = new Bridge(`${name}-bridge`, { name: args.bridge?.name, mtu: args.bridge?.mtu, netns: args.netns, ...this.on }, child);
        this.bridgeName = this.bridge.name;
        this.gatewayAddress = new Address(
            `${name}-gateway`,
            { device: this.bridge.name, address: `${gateway}/${parsed.prefixLength}`, netns: args.netns, ...this.on },
            child,
        );

        // Into the network: replies, traffic within the bridge, published ports (flows a DNAT rule
        // rewrote) and the networks listed in allowFrom; everything else entering from elsewhere is
        // dropped. This chain is jumped to at the top of FORWARD, before any network's accepts.
        const inRules = this.bridge.name.apply((bridgeName): FirewallRuleArgs[] => [
            { state: ["established", "related"], action: "accept" },
            { inInterface: bridgeName, action: "accept" },
            { state: ["dnat"], action: "accept" },
            ...allowed.map((source): FirewallRuleArgs => ({ source, action: "accept" })),
            { action: "drop" },
        ]);
        this.chains.push(
            new FirewallChain(
                `${name}-in`,
                {
                    family: this.family,
                    netns: args.netns,
                    backend,
                    ...this.on,
                    jump: { from: "FORWARD", position: "first", outInterface: this.bridge.name },
                    rules: inRules,
                },
                child,
            ),
        );
        // Out of the network: appended to FORWARD, so it comes after every network's isolation.
        this.chains.push(
            new FirewallChain(
                `${name}-out`,
                {
                    family: this.family,
                    netns: args.netns,
                    backend,
                    ...this.on,
                    jump: { from: "FORWARD", position: "last", inInterface: this.bridge.name },
                    rules: [{ action: "accept" }],
                },
                child,
            ),
        );

        if (args.egress) {
            this.enableForwarding();
            new NatRule(
                `${name}-masquerade`,
                { type: "masquerade", source: args.subnet, outInterface: args.egress.outInterface, netns: args.netns, backend, ...this.on },
                child,
            );
        }
        for (const chain of args.firewall?.acceptIn ?? []) {
            const label = chain.replace(/[^A-Za-z0-9_.-]+/g, "-");
            this.accepts.push(
                new AcceptIn(`${name}-accept-${label}`, { chain, interface: this.bridge.name, subnets: [args.subnet], netns: args.netns, ...this.on }, child),
            );
        }
        if (allowed.length > 0) this.enableForwarding();
        this.registerOutputs({ subnet: this.subnet, gateway: this.gateway, bridgeName: this.bridgeName });
        // Once the program's synchronous code has made its attach calls: one hosts file and one probe for them all.
        setImmediate(() => {
            if (args.names !== false) this.declareNames(typeof args.names === "object" ? args.names.nameservers : undefined);
            if (args.probe !== false) this.declareProbe();
        });
    }

    /** The attachments' names, resolvable in each of their namespaces (see {@link BridgeNetworkArgs.names}). */
    private declareNames(nameservers: string[] | undefined): void {
        if (this.attachments.length === 0) return;
        const entries = this.attachments.map((a) =>
            pulumi.all([a.ip, a.namespace]).apply(([address, namespace]) => ({ address, names: [...new Set([a.name, namespace])] })),
        );
        this.names = new HostsFile(
            `${this.name}-names`,
            { namespaces: this.attachments.map((a) => a.namespace), entries, ...(nameservers ? { nameservers } : {}), ...this.on },
            { parent: this, dependsOn: this.attachments },
        );
    }

    /** The proof that the network passes traffic (see {@link BridgeNetworkArgs.probe}). */
    private declareProbe(): void {
        if (this.attachments.length === 0) return;
        this.probe = new NetworkProbe(
            `${this.name}-probe`,
            {
                netns: this.netns,
                bridge: this.bridgeName,
                gateway: this.gateway,
                members: this.attachments.map((a) => ({ name: a.name, namespace: a.namespace, address: a.ip })),
                subnet: this.subnet,
                backend: this.firewallBackend,
                acceptIn: this.args.firewall?.acceptIn ?? [],
                ...this.on,
            },
            { parent: this, dependsOn: [...this.attachments, this.gatewayAddress, ...this.chains, ...this.accepts] },
        );
    }

    /** Turns forwarding on in the host side's namespace (once; shared with other networks there). */
    enableForwarding(): Sysctl {
        this.forwarding ??= new Sysctl(
            `${this.name}-forwarding`,
            { key: this.family === 4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding", value: 1, netns: this.netns, ...this.on },
            { parent: this },
        );
        return this.forwarding;
    }

    /**
     * Attaches a new namespace: a veth from the bridge into it, a leased (or given) address, and a
     * default route via the gateway. Addresses given by hand are checked at once: inside the
     * subnet, not the network, broadcast or gateway address, not given twice.
     */
    attach(name: string, args: AttachArgs = {}): Attachment {
        const room = attachmentRoom(this.parsed);
        if (BigInt(this.attachments.length) >= room) {
            throw new Error(
                `BridgeNetwork ${this.name}: attach("${name}"): subnet ${this.subnet} has room for ${room} attachment(s), the gateway aside; use a larger subnet`,
            );
        }
        if (this.attachments.some((a) => a.name === name))
            throw new Error(`BridgeNetwork ${this.name}: attach("${name}"): an attachment of that name exists already`);
        if (args.address !== undefined) {
            const problem = explicitAddressProblem(this.parsed, this.gateway, args.address);
            if (problem) throw new Error(`BridgeNetwork ${this.name}: attach("${name}"): address ${problem}`);
            const taken = this.explicitAddresses.get(args.address);
            if (taken) throw new Error(`BridgeNetwork ${this.name}: attach("${name}"): address ${args.address} is already given to "${taken}"`);
            this.explicitAddresses.set(args.address, name);
        }
        const attachment = new Attachment(this, name, args, this.args.namespacePrefix ?? "", this.args.bridge?.mtu);
        this.attachments.push(attachment);
        return attachment;
    }

    /** The network as a picture: Mermaid and Graphviz DOT text (e.g. for a stack output). */
    diagram(): pulumi.Output<Diagram> {
        const attachments = this.attachments.map((a) =>
            pulumi.all([a.namespace, a.address, a.ports]).apply(([namespace, address, ports]) => ({ name: a.name, namespace, address, ports })),
        );
        return pulumi
            .all([this.bridge.name, pulumi.output(this.netns), pulumi.output(this.args.egress?.outInterface), pulumi.all(attachments)])
            .apply(([bridge, netns, egress, attached]) => {
                const model: DiagramModel = { name: this.name, subnet: this.subnet, gateway: this.gateway, bridge, netns, egress, attachments: attached };
                return renderDiagram(model);
            });
    }
}

/**
 * A namespace attached to a {@link BridgeNetwork}; made by {@link BridgeNetwork.attach}. It is an
 * {@link Endpoint} (the namespace, the veth pair from the bridge into it, the leased address and
 * the default route via the gateway, as one resource) that can also publish ports.
 */
export class Attachment extends Endpoint {
    /** The attachment's name (as given to attach). */
    readonly name: string;
    /** The address, e.g. `10.0.0.2` (the same as `ip`). */
    readonly address: pulumi.Output<string>;
    /** The published ports, as `hostPort->port/protocol`. */
    get ports(): pulumi.Output<string[]> {
        return pulumi.output(this.published.map((p) => `${p.hostPort}->${p.port}/${p.protocol ?? "tcp"}`));
    }

    private readonly network: BridgeNetwork;
    private readonly published: PublishArgs[] = [];

    /** @internal Use {@link BridgeNetwork.attach}. */
    constructor(network: BridgeNetwork, name: string, args: AttachArgs, namespacePrefix: string, mtu: pulumi.Input<number> | undefined) {
        // Only the arguments that are set: each property, even an undefined one, costs the program
        // an output with its promises.
        const endpoint: EndpointArgs = {
            namespace: args.namespace ?? `${namespacePrefix}${name}`,
            bridge: network.bridgeName,
            subnet: network.subnet,
            gateway: network.gateway,
        };
        if (network.netns !== undefined) endpoint.netns = network.netns;
        if (network.on.connection !== undefined) endpoint.connection = network.on.connection;
        if (args.interfaceName !== undefined) endpoint.interfaceName = args.interfaceName;
        if (args.link !== undefined) endpoint.link = args.link;
        if (args.address !== undefined) endpoint.address = args.address;
        else endpoint.reserved = network.reserved;
        if (mtu !== undefined) endpoint.mtu = mtu;
        super(
            `${network.name}-${name}`,
            endpoint,
            // The gateway address is not needed to make the endpoint, but traffic needs it once up is done.
            { parent: network, dependsOn: [network.gatewayAddress] },
        );
        this.network = network;
        this.name = name;
        this.address = this.ip;
    }

    /**
     * Publishes a port: connections to `hostPort` on the host side's own addresses reach `port`
     * here, from outside (DNAT in PREROUTING) and from the host side itself (DNAT in OUTPUT).
     */
    publish(args: PublishArgs): this {
        if (!Number.isInteger(args.hostPort) || args.hostPort < 1 || args.hostPort > 65535)
            throw new Error(`publish: hostPort ${args.hostPort} is not a port (1-65535)`);
        if (!Number.isInteger(args.port) || args.port < 1 || args.port > 65535) throw new Error(`publish: port ${args.port} is not a port (1-65535)`);
        const protocol = args.protocol ?? "tcp";
        programChecks().hostPort(
            `attachment "${this.name}" of BridgeNetwork ${this.network.name}`,
            onHostKey(this.network.on.connection, this.network.netns),
            protocol,
            args.hostPort,
        );
        const base = `${this.network.name}-${this.name}-${protocol}${args.hostPort}`;
        this.network.enableForwarding();
        const rule = {
            type: "dnat" as const,
            protocol,
            port: args.hostPort,
            toAddress: this.address,
            toPort: args.port,
            destinationLocal: true,
            netns: this.network.netns,
            backend: this.network.firewallBackend,
            ...this.network.on,
        };
        new NatRule(`${base}-in`, rule, { parent: this });
        new NatRule(`${base}-local`, { ...rule, chain: "OUTPUT" }, { parent: this });
        this.published.push(args);
        return this;
    }
}
