import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/** Arguments of a {@link Vxlan}. */
export interface VxlanArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** Interface name, 1-15 bytes. Omitted: the Pulumi name plus a random suffix. Changing it replaces the device. */
    name?: pulumi.Input<string>;
    /** The VXLAN network identifier, 1-16777215; both ends use the same. Changing it replaces the device. */
    vni: pulumi.Input<number>;
    /**
     * The peers' underlay addresses: one all-zero FDB entry each, so that broadcast and unknown
     * frames reach every peer (head-end replication; learning is off). Updated in place.
     */
    remotes: pulumi.Input<pulumi.Input<string>[]>;
    /** The source address of the encapsulated packets (this host's underlay address). Changing it replaces the device. */
    localAddress?: pulumi.Input<string>;
    /** The underlay interface to send through. Changing it replaces the device. */
    device?: pulumi.Input<string>;
    /** The UDP destination port, default 4789 (IANA's). Changing it replaces the device. */
    dstPort?: pulumi.Input<number>;
    /** The bridge to put the device on (`ip link set NAME master BR`). Updated in place. */
    master?: pulumi.Input<string>;
    /** MTU (68-65535): the underlay's minus 50 bytes over IPv4 (70 over IPv6). Updated in place. */
    mtu?: pulumi.Input<number>;
    /** The network namespace to create the device in; omitted: the root namespace. Changing it replaces the device. */
    netns?: pulumi.Input<string>;
}

/**
 * A VXLAN device: Ethernet frames carried in UDP to the remotes, the link that joins a bridge on
 * one host to a bridge on another. Learning is off and each remote gets one all-zero FDB entry
 * (head-end replication), so it needs no multicast in the underlay. VXLAN is neither
 * authenticated nor encrypted: use it on an underlay you trust.
 *
 * Equivalent to: `ip link add NAME type vxlan id VNI dstport 4789 local 192.0.2.11 nolearning;
 * ip link set NAME alias MARK; ip link set NAME mtu 1450 master br0 up;
 * bridge fdb append 00:00:00:00:00:00 dev NAME dst 192.0.2.12`.
 * A read reports remotes, MTU, master or state changed by hand as `drift`; the next up repairs it.
 *
 * @example
 * ```ts
 * new Vxlan("to-b", { name: "vx42", vni: 42, localAddress: "192.0.2.11", remotes: ["192.0.2.12"], master: "br0", mtu: 1450 });
 * ```
 */
export class Vxlan extends OverlayResource {
    /** The interface name. */
    declare readonly name: pulumi.Output<string>;
    /** The VXLAN network identifier. */
    declare readonly vni: pulumi.Output<number>;
    /** The remotes the device sends to. */
    declare readonly remotes: pulumi.Output<string[]>;
    /** The UDP destination port. */
    declare readonly dstPort: pulumi.Output<number>;
    /** The MTU the kernel reports. */
    declare readonly mtu: pulumi.Output<number>;
    /** The MAC address the kernel gave it. */
    declare readonly mac: pulumi.Output<string>;
    /** The kernel's interface index. */
    declare readonly ifindex: pulumi.Output<number>;
    /** Whether it is up. */
    declare readonly up: pulumi.Output<boolean>;
    /** The ownership mark, set as the link's alias. */
    declare readonly alias: pulumi.Output<string>;
    /** What a refresh found changed by hand (`remotes`, `mtu`, `master`, `up`); empty or absent when nothing. */
    declare readonly drift: pulumi.Output<string[] | undefined>;

    constructor(name: string, args: VxlanArgs, opts?: pulumi.CustomResourceOptions) {
        super("Vxlan", name, args, { mac: undefined, ifindex: undefined, up: undefined, alias: undefined, drift: undefined }, opts);
    }
}
