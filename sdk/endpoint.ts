import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { onHostKey, programChecks } from "./programChecks";
import { OverlayResource } from "./provider";
import type { LinkShapeArgs } from "./trafficControl";

/** Arguments of an {@link Endpoint}. */
export interface EndpointArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The network namespace the endpoint makes (1-255 bytes). Omitted: the Pulumi name plus a random suffix. Changing it replaces the endpoint. */
    namespace?: pulumi.Input<string>;
    /** The bridge the host end joins (it must exist, e.g. a {@link Bridge}'s `name`). Updated in place. */
    bridge: pulumi.Input<string>;
    /** The namespace of the bridge (the host side); omitted: the root namespace. Changing it replaces the endpoint. */
    netns?: pulumi.Input<string>;
    /** The host end's interface name, 1-15 bytes. Omitted: `<Pulumi name>-h-<4 hex digits>` when that fits, else `veth<11 hex digits>`. Changing it replaces the endpoint. */
    hostInterface?: pulumi.Input<string>;
    /** The interface name inside the namespace (default `eth0`). Changing it replaces the endpoint. */
    interfaceName?: pulumi.Input<string>;
    /** The subnet the address is leased from, IPv4 or IPv6: `10.0.0.0/24`, `fd00:1::/64`. Changing it replaces the endpoint. */
    subnet: pulumi.Input<string>;
    /** The default route's gateway (the bridge's address), never leased. Default: the subnet's first host address. Updated in place. */
    gateway?: pulumi.Input<string>;
    /** The address, inside the subnet (not its network, broadcast or gateway address). Omitted: the lowest free one. Changing it replaces the endpoint. */
    address?: pulumi.Input<string>;
    /** The lease pool: endpoints (and {@link IpLease}s) of one pool never get the same address. Default: the bridge's name when the endpoint is made (kept if the bridge changes). */
    pool?: pulumi.Input<string>;
    /** Addresses the search for a free one leaves alone (those other endpoints ask for by hand). Read at create only. */
    reserved?: pulumi.Input<pulumi.Input<string>[]>;
    /** Add a default route via the gateway (default true). Updated in place. */
    defaultRoute?: pulumi.Input<boolean>;
    /** MTU of both veth ends. Omitted: the kernel's default, left as it is. Updated in place. */
    mtu?: pulumi.Input<number>;
    /**
     * Shaping and impairment of the link, in both directions (each veth end's outgoing traffic),
     * e.g. `{ rate: "10mbit", delay: "20ms", loss: "1%" }`. Updated in place, never a replacement.
     * Equivalent to: `tc qdisc replace dev HOSTEND root ... ; tc -n NS qdisc replace dev eth0 root ...`.
     */
    link?: pulumi.Input<LinkShapeArgs>;
}

/**
 * A network namespace plugged into a bridge, as one resource: the namespace, a veth pair with
 * one end on the bridge and the other inside as `eth0`, the inside end's address (leased from a
 * pool, as {@link IpLease} does, or given by hand) and a default route via the gateway. What
 * CNI's bridge plugin does for a container, plus the namespace; {@link BridgeNetwork.attach}
 * makes one per attachment.
 *
 * It does the work of a {@link NetworkNamespace}, a {@link VethPair}, an {@link Address} and a
 * {@link Route} in one host process (the namespaces' steps as nested `ip -batch` runs), and
 * costs Pulumi one resource instead of four: the shape for stacks of many containers.
 * Everything it makes carries its ownership mark; refresh reports what changed out of band in
 * `drift`, and the next up puts it back.
 *
 * Equivalent to: `ip netns add NS; ip -n NS link set lo up; ip -n NS link add eth0 type veth
 * peer name HOST netns NETNS; ip -n NS link set eth0 addrgenmode none up` (`addrgenmode none`
 * for an IPv4 subnet: no IPv6 link-local address); `ip -n NS addr add CIDR dev eth0;
 * ip -n NS route add default via GATEWAY; ip -n NETNS link set HOST addrgenmode none master
 * BRIDGE up` (the host end never has an IPv6 address); on
 * delete, `ip netns delete NS` (the kernel then removes the veth pair; the host end is watched
 * until it is gone, see docs/resources/endpoint.md).
 *
 * @example
 * ```ts
 * const br0 = new Bridge("br0", { name: "br0" });
 * new Address("gateway", { device: br0.name, address: "10.0.0.1/24" });
 * const c1 = new Endpoint("c1", { namespace: "c1", bridge: br0.name, subnet: "10.0.0.0/24" });
 * export const c1Address = c1.ip; // 10.0.0.2
 * ```
 */
export class Endpoint extends OverlayResource {
    /** The namespace's name: `ip netns exec <namespace> ...`. */
    declare readonly namespace: pulumi.Output<string>;
    /** The bridge the host end is a port of. */
    declare readonly bridge: pulumi.Output<string>;
    /** The host side's namespace (the bridge's); undefined for the root namespace. */
    declare readonly netns: pulumi.Output<string | undefined>;
    /** The host end's interface name. */
    declare readonly hostInterface: pulumi.Output<string>;
    /** The interface name inside the namespace. */
    declare readonly interfaceName: pulumi.Output<string>;
    /** The subnet. */
    declare readonly subnet: pulumi.Output<string>;
    /** The default route's gateway. */
    declare readonly gateway: pulumi.Output<string>;
    /** The address, e.g. `10.0.0.2`. */
    declare readonly ip: pulumi.Output<string>;
    /**
     * The address with the subnet's prefix length, e.g. `10.0.0.2/24` (`ip -n <namespace> addr
     * show`). Derived in the program from `ip` and `subnet` rather than registered: each registered
     * property costs the program an output and its promises (docs/performance.md).
     */
    get cidr(): pulumi.Output<string> {
        return pulumi.all([this.ip, this.subnet]).apply(([ip, subnet]) => `${ip}/${subnet.split("/")[1]}`);
    }
    /** 4 or 6: the subnet's address family (derived in the program, as `cidr`). */
    get family(): pulumi.Output<number> {
        return this.subnet.apply((subnet) => (subnet.includes(":") ? 6 : 4));
    }
    /** The inside end's MAC address. */
    declare readonly mac: pulumi.Output<string>;
    /** What refresh found changed out of band, in words; empty when the endpoint is as made. */
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: EndpointArgs, opts?: pulumi.CustomResourceOptions) {
        programChecks().namespace(`Endpoint "${name}"`, args.namespace === undefined ? undefined : onHostKey(args.connection, args.namespace));
        super("Endpoint", name, args, { ip: undefined, mac: undefined, drift: undefined }, opts);
    }
}
