import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/** The far end of a {@link VethPair}. */
export interface VethPeerArgs {
    /** Interface name of the far end, 1-15 bytes. Omitted: derived from the Pulumi name. Changing it replaces the pair. */
    name?: pulumi.Input<string>;
    /** The namespace of the far end (e.g. a container's {@link NetworkNamespace}); omitted: the root namespace. */
    netns?: pulumi.Input<string>;
}

/** The far end of a {@link VethPair}, as created. */
export interface VethPeer {
    /** Interface name of the far end. */
    name: string;
    /** Namespace of the far end; undefined for the root namespace. */
    netns?: string;
}

/** Arguments of a {@link VethPair}. */
export interface VethPairArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** Interface name of the first end, 1-15 bytes. Omitted: the Pulumi name plus a random suffix. Changing it replaces the pair. */
    name?: pulumi.Input<string>;
    /** The namespace of the first end; omitted: the root namespace. Changing it replaces the pair. */
    netns?: pulumi.Input<string>;
    /** The far end. */
    peer: pulumi.Input<VethPeerArgs>;
    /** A bridge in the first end's namespace for the first end to join (`ip link set NAME master BRIDGE`). Updated in place. */
    master?: pulumi.Input<string>;
    /** MTU of both ends. Omitted: the kernel's default, left as it is. Updated in place. */
    mtu?: pulumi.Input<number>;
    /** Bring both ends up (default true). Updated in place. */
    up?: pulumi.Input<boolean>;
}

/**
 * A veth pair: two linked interfaces, a cable between two namespaces. The usual shape puts the
 * first end on a bridge on the host side and the far end into a container namespace.
 *
 * Equivalent to: `ip -n NETNS link add NAME type veth peer name PEER netns PEERNETNS;
 * ip -n NETNS link set NAME master BRIDGE up; ip -n PEERNETNS link set PEER up`.
 * Both ends carry an ownership mark as their alias. Deleting one end deletes both.
 *
 * @example
 * ```ts
 * const veth = new VethPair("c1-veth", { name: "veth-c1", master: br0.name, peer: { name: "eth0", netns: c1.name } });
 * ```
 */
export class VethPair extends OverlayResource {
    /** Name of the first end. */
    declare readonly name: pulumi.Output<string>;
    /** Namespace of the first end; undefined for the root namespace. */
    declare readonly netns: pulumi.Output<string | undefined>;
    /** The far end as declared, with its final name. */
    declare readonly peer: pulumi.Output<VethPeer>;
    /** Name of the far end. */
    declare readonly peerName: pulumi.Output<string>;
    /** Namespace of the far end; undefined for the root namespace. */
    declare readonly peerNetns: pulumi.Output<string | undefined>;
    /** The bridge the first end is a port of, if any. */
    declare readonly master: pulumi.Output<string | undefined>;
    /** The MTU the kernel reports for the first end. */
    declare readonly mtu: pulumi.Output<number>;
    /** Whether both ends are up. */
    declare readonly up: pulumi.Output<boolean>;
    /** MAC address of the first end. */
    declare readonly mac: pulumi.Output<string>;
    /** Interface index of the first end. */
    declare readonly ifindex: pulumi.Output<number>;
    /** MAC address of the far end. */
    declare readonly peerMac: pulumi.Output<string>;
    /** Interface index of the far end (in its namespace). */
    declare readonly peerIfindex: pulumi.Output<number>;
    /** The ownership mark, set as both ends' alias. */
    declare readonly alias: pulumi.Output<string>;

    constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            "VethPair",
            name,
            args,
            { peerName: undefined, peerNetns: undefined, mac: undefined, ifindex: undefined, peerMac: undefined, peerIfindex: undefined, alias: undefined },
            opts,
        );
    }
}
