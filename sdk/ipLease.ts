import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/** Arguments of an {@link IpLease}. */
export interface IpLeaseArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The subnet to take an address from, e.g. `10.0.0.0/24` or `fd00:1::/64`. Changing it replaces the lease. */
    subnet: pulumi.Input<string>;
    /** The subnet's gateway, which is never leased. Default: the first host address. */
    gateway?: pulumi.Input<string>;
    /** The pool's name (a network's bridge name, say): leases of one pool never collide. */
    pool: pulumi.Input<string>;
    /** An address asked for by hand; omitted: the lowest free one. */
    address?: pulumi.Input<string>;
    /** Addresses the search for a free one leaves alone (those other leases ask for by hand). */
    reserved?: pulumi.Input<pulumi.Input<string>[]>;
    /** The namespace the pool belongs to; omitted: the root namespace. */
    netns?: pulumi.Input<string>;
}

/**
 * An IP address leased from a pool, as CNI's host-local IPAM does: the lease is a record on the
 * host (under `$PULUMI_OVERLAY_STATE_DIR`, default `/run/pulumi-overlay`), claimed with an
 * exclusive create, so two leases never get the same address. The address is the lease's for as
 * long as the resource lives: adding or removing other leases never renumbers it.
 *
 * @example
 * ```ts
 * const lease = new IpLease("c1-ip", { subnet: "10.0.0.0/24", pool: "br0" });
 * new Address("c1-address", { device: "eth0", address: lease.cidr, netns: "c1" });
 * ```
 */
export class IpLease extends OverlayResource {
    /** The subnet. */
    declare readonly subnet: pulumi.Output<string>;
    /** The gateway that is never leased. */
    declare readonly gateway: pulumi.Output<string>;
    /** The pool. */
    declare readonly pool: pulumi.Output<string>;
    /** The leased address, e.g. `10.0.0.2`. */
    declare readonly ip: pulumi.Output<string>;
    /** The leased address with the subnet's prefix length, e.g. `10.0.0.2/24`. */
    declare readonly cidr: pulumi.Output<string>;
    /** 4 or 6. */
    declare readonly family: pulumi.Output<number>;

    constructor(name: string, args: IpLeaseArgs, opts?: pulumi.CustomResourceOptions) {
        super("IpLease", name, args, { ip: undefined, cidr: undefined, family: undefined, scope: undefined, mark: undefined }, opts);
    }
}
