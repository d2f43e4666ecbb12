import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/** Arguments of an {@link AcceptIn}. */
export interface AcceptInArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /**
     * The chain of the host's firewall, as `FAMILY TABLE CHAIN`: `"inet hostfw forward"`,
     * `"inet firewalld filter_FORWARD"`. It must exist; it stays its owner's. Changing it replaces the rules.
     */
    chain: pulumi.Input<string>;
    /** The network's bridge: traffic in from it and out to it is accepted. Updated in place. */
    interface: pulumi.Input<string>;
    /** The network's subnets (CIDR): only traffic from them (in from the bridge) and to them (out to the bridge). Updated in place. */
    subnets: pulumi.Input<pulumi.Input<string>[]>;
    /** The namespace whose ruleset holds the chain; omitted: the root namespace. */
    netns?: pulumi.Input<string>;
}

/**
 * Accept rules for one network at the top of a chain of another owner's nftables table, the remedy
 * for a host firewall whose chain drops forwarded traffic: in nftables an accept in one table does
 * not override a drop in another, so the accept must be in their chain. Two rules per subnet, each
 * carrying this resource's mark as its comment; destroy removes exactly them, and a reload of
 * the host's ruleset that drops them is drift that the next up repairs. BridgeNetwork declares
 * one per chain in `firewall.acceptIn`.
 *
 * Equivalent to: `nft insert rule inet hostfw forward iifname br0 ip saddr 10.0.0.0/24 accept comment MARK;
 * nft insert rule inet hostfw forward oifname br0 ip daddr 10.0.0.0/24 accept comment MARK`.
 *
 * @example
 * ```ts
 * new AcceptIn("lab-hostfw", { chain: "inet hostfw forward", interface: "br0", subnets: ["10.0.0.0/24"] });
 * ```
 */
export class AcceptIn extends OverlayResource {
    /** The chain, as given. */
    declare readonly chain: pulumi.Output<string>;
    /** The bridge. */
    declare readonly interface: pulumi.Output<string>;
    /** The subnets. */
    declare readonly subnets: pulumi.Output<string[]>;
    /** The comment on each of the rules. */
    declare readonly comment: pulumi.Output<string>;

    constructor(name: string, args: AcceptInArgs, opts?: pulumi.CustomResourceOptions) {
        super("AcceptIn", name, args, { comment: undefined }, opts);
    }
}
