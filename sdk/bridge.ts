import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { onHostKey, programChecks } from "./programChecks";
import { OverlayResource } from "./provider";

/** Arguments of a {@link Bridge}. */
export interface BridgeArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** Interface name, 1-15 bytes. Omitted: the Pulumi name plus a random suffix. Changing it replaces the bridge. */
    name?: pulumi.Input<string>;
    /** The network namespace to create the bridge in; omitted: the host's root namespace. Changing it replaces the bridge. */
    netns?: pulumi.Input<string>;
    /** MTU (68-65535). Omitted: the kernel's default, left as it is. Updated in place. */
    mtu?: pulumi.Input<number>;
    /** Bring the bridge up (default true). Updated in place. */
    up?: pulumi.Input<boolean>;
    /** Run the spanning tree protocol (default false). Updated in place. */
    stp?: pulumi.Input<boolean>;
    /**
     * The bridge's MAC address (`02:...`, unicast, lower case). Omitted: a random locally
     * administered one, fixed at create. Updated in place (`ip link set NAME address MAC`).
     */
    mac?: pulumi.Input<string>;
}

/**
 * A Linux bridge: a virtual switch that veth ends join as ports. Give it an {@link Address} to
 * make it the gateway of the subnet behind it.
 *
 * Equivalent to: `ip -n NETNS link add NAME address RANDOM-LOCAL-MAC type bridge stp_state 0;
 * ip -n NETNS link set NAME alias MARK; ip -n NETNS link set NAME [mtu MTU] up` (the MAC pinned so
 * that the gateway's MAC does not follow the ports; the MTU set after the add so that it is kept).
 * It carries an ownership mark as its alias (`ip link set NAME alias ...`); a link of the same
 * name that is not ours is refused, never adopted, and never deleted.
 *
 * @example
 * ```ts
 * const br0 = new Bridge("br0", { name: "br0" });
 * ```
 */
export class Bridge extends OverlayResource {
    /** The interface name. */
    declare readonly name: pulumi.Output<string>;
    /** The namespace it lives in; undefined for the root namespace. */
    declare readonly netns: pulumi.Output<string | undefined>;
    /** The MTU the kernel reports. */
    declare readonly mtu: pulumi.Output<number>;
    /** Whether the bridge is up. */
    declare readonly up: pulumi.Output<boolean>;
    /** Whether STP runs. */
    declare readonly stp: pulumi.Output<boolean>;
    /** The MAC address the kernel gave it. */
    declare readonly mac: pulumi.Output<string>;
    /** The kernel's interface index. */
    declare readonly ifindex: pulumi.Output<number>;
    /** The ownership mark, set as the link's alias. */
    declare readonly alias: pulumi.Output<string>;

    constructor(name: string, args: BridgeArgs = {}, opts?: pulumi.CustomResourceOptions) {
        programChecks().bridge(`Bridge "${name}"`, onHostKey(args.connection, args.netns), args.name);
        // mac is an input too: the address asked for, else the one the kernel gives.
        super("Bridge", name, args, { mac: args.mac, ifindex: undefined, alias: undefined }, opts);
    }
}
