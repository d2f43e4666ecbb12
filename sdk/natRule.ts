import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/** Arguments of a {@link NatRule}. Every change replaces the rule. */
export interface NatRuleArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /**
     * `masquerade`: rewrite the source to the outgoing interface's address (the usual way out of a lab);
     * `snat`: rewrite the source to `toAddress`; `dnat`: rewrite the destination to `toAddress` (a published port).
     */
    type: pulumi.Input<"masquerade" | "snat" | "dnat">;
    /** Match packets from this network (CIDR), e.g. the lab's subnet. */
    source?: pulumi.Input<string>;
    /** Match packets to this network (CIDR). */
    destination?: pulumi.Input<string>;
    /** Match packets leaving through this interface (masquerade and snat), e.g. the uplink. */
    outInterface?: pulumi.Input<string>;
    /** Match packets arriving on this interface (dnat). */
    inInterface?: pulumi.Input<string>;
    /** Match this protocol; needed with `port` and `toPort`. */
    protocol?: pulumi.Input<"tcp" | "udp" | "sctp">;
    /** Match this destination port. */
    port?: pulumi.Input<number>;
    /** The address to rewrite to (snat, dnat). */
    toAddress?: pulumi.Input<string>;
    /** The port to rewrite to. */
    toPort?: pulumi.Input<number>;
    /** Match only packets addressed to one of the host's own addresses (`-m addrtype --dst-type LOCAL`), as published ports do. */
    destinationLocal?: pulumi.Input<boolean>;
    /** For dnat: `PREROUTING` (arriving packets, the default) or `OUTPUT` (packets the host itself sends, to reach a published port from the host). */
    chain?: pulumi.Input<"PREROUTING" | "OUTPUT" | "POSTROUTING">;
    /** The namespace whose nat table gets the rule; omitted: the root namespace. */
    netns?: pulumi.Input<string>;
    /**
     * The packet-filter backend: `iptables` (the `nat` table), `nftables` (pulumi-overlay's own
     * `table inet pulumi_overlay`, chains `nat.postrouting`, `nat.prerouting`, `nat.output`), or
     * `auto` (the default): nftables where the iptables commands are missing or the namespace's
     * rules are native nftables, iptables otherwise (see docs/host-firewalls.md).
     */
    backend?: pulumi.Input<"auto" | "iptables" | "nftables">;
}

/**
 * A NAT rule: masquerade and SNAT in POSTROUTING, DNAT in PREROUTING (or OUTPUT), through iptables'
 * `nat` table or nftables (see {@link NatRuleArgs.backend}).
 *
 * Equivalent to: `iptables -w -t nat -A POSTROUTING -s SOURCE -o OUT -m comment --comment MARK -j MASQUERADE`,
 * or `nft add rule inet pulumi_overlay nat.postrouting ip saddr SOURCE oifname OUT masquerade comment MARK`.
 * The comment marks the rule as this resource's; an identical rule without it is refused, and
 * delete removes only this rule (`iptables -t nat -D ...`). IPv6 rules go through ip6tables.
 *
 * @example
 * ```ts
 * new NatRule("egress", { type: "masquerade", source: "10.0.0.0/24", outInterface: "eth0" });
 * ```
 */
export class NatRule extends OverlayResource {
    /** The rule's type. */
    declare readonly type: pulumi.Output<"masquerade" | "snat" | "dnat">;
    /** The matched source network, if declared. */
    declare readonly source: pulumi.Output<string | undefined>;
    /** The matched destination network, if declared. */
    declare readonly destination: pulumi.Output<string | undefined>;
    /** The matched outgoing interface, if declared. */
    declare readonly outInterface: pulumi.Output<string | undefined>;
    /** The matched incoming interface, if declared. */
    declare readonly inInterface: pulumi.Output<string | undefined>;
    /** The matched protocol, if declared. */
    declare readonly protocol: pulumi.Output<string | undefined>;
    /** The matched port, if declared. */
    declare readonly port: pulumi.Output<number | undefined>;
    /** The address rewritten to, if declared. */
    declare readonly toAddress: pulumi.Output<string | undefined>;
    /** The port rewritten to, if declared. */
    declare readonly toPort: pulumi.Output<number | undefined>;
    /** The namespace; undefined for the root namespace. */
    declare readonly netns: pulumi.Output<string | undefined>;
    /** 4 or 6. */
    declare readonly family: pulumi.Output<number>;
    /** Always `nat`. */
    declare readonly table: pulumi.Output<string>;
    /** `POSTROUTING`, `PREROUTING` or `OUTPUT`. */
    declare readonly chain: pulumi.Output<string>;
    /** The comment that marks the rule as this resource's. */
    declare readonly comment: pulumi.Output<string>;
    /** The backend the rule is in: `iptables` or `nftables` (what `auto` chose). */
    declare readonly activeBackend: pulumi.Output<"iptables" | "nftables">;

    constructor(name: string, args: NatRuleArgs, opts?: pulumi.CustomResourceOptions) {
        super("NatRule", name, args, { family: undefined, table: undefined, comment: undefined, activeBackend: undefined }, opts);
    }
}
