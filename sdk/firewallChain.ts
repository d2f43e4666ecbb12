import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import type { FirewallRuleSpec } from "../providers/firewallChain";
import { OverlayResource } from "./provider";

/** One rule of a {@link FirewallChain}: what it matches and what it does. */
export type FirewallRuleArgs = FirewallRuleSpec;

/** The rule in a built-in chain that sends packets to a {@link FirewallChain}. */
export interface FirewallJumpArgs {
    /** The built-in chain of the filter table. */
    from: "FORWARD" | "INPUT" | "OUTPUT";
    /** `first`: inserted at the top of the built-in chain (before rules already there); `last`: appended. */
    position: "first" | "last";
    /** Send only packets arriving on this interface. */
    inInterface?: pulumi.Input<string>;
    /** Send only packets leaving through this interface. */
    outInterface?: pulumi.Input<string>;
    /** Send only packets from this network. */
    source?: pulumi.Input<string>;
    /** Send only packets to this network. */
    destination?: pulumi.Input<string>;
}

/** Arguments of a {@link FirewallChain}. */
export interface FirewallChainArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The chain's name (1-28 letters, digits, `_`, `-`). Omitted: `OVL-` and 8 random hex digits. */
    name?: pulumi.Input<string>;
    /** 4 (iptables, the default) or 6 (ip6tables). */
    family?: pulumi.Input<4 | 6>;
    /** The namespace whose filter table gets the chain; omitted: the root namespace. */
    netns?: pulumi.Input<string>;
    /** Where packets come from. Changing it replaces the chain. */
    jump: pulumi.Input<FirewallJumpArgs>;
    /** The rules, in order. Updated in place (the chain is rewritten atomically). */
    rules: pulumi.Input<pulumi.Input<FirewallRuleArgs>[]>;
    /**
     * The packet-filter backend: `iptables` (a chain of the filter table), `nftables` (a chain of
     * pulumi-overlay's own `table inet pulumi_overlay`, jumped to from its base chain
     * `filter.forward`, `filter.input` or `filter.output`), or `auto` (the default): nftables where
     * the iptables commands are missing or the namespace's rules are native nftables, iptables
     * otherwise. With nftables an accept here does not override another table's drop (see
     * docs/host-firewalls.md); a drop here is final.
     */
    backend?: pulumi.Input<"auto" | "iptables" | "nftables">;
}

/**
 * A user chain with its rules in order, and the rule that jumps to it from a built-in chain. Each
 * change is one atomic `iptables-restore --noflush` (or one `nft -j` transaction with the nftables
 * backend); every rule carries the chain's mark as its comment, and only a chain whose rules all
 * carry it is removed.
 *
 * Equivalent to: `iptables -N CHAIN; iptables -A CHAIN ... ; iptables -I FORWARD 1 -o br0 -j CHAIN`,
 * or `nft add chain inet pulumi_overlay CHAIN; nft add rule ...; nft insert rule inet pulumi_overlay filter.forward oifname br0 jump CHAIN`.
 *
 * @example
 * ```ts
 * new FirewallChain("lab-in", {
 *     jump: { from: "FORWARD", position: "first", outInterface: "br0" },
 *     rules: [{ state: ["established", "related"], action: "accept" }, { action: "drop" }],
 * });
 * ```
 */
export class FirewallChain extends OverlayResource {
    /** The chain's name. */
    declare readonly name: pulumi.Output<string>;
    /** 4 or 6. */
    declare readonly family: pulumi.Output<number>;
    /** The namespace; undefined for the root namespace. */
    declare readonly netns: pulumi.Output<string | undefined>;
    /** The jump, as declared. */
    declare readonly jump: pulumi.Output<FirewallJumpArgs>;
    /** The rules, as declared. */
    declare readonly rules: pulumi.Output<FirewallRuleArgs[]>;
    /** The comment on every rule of the chain, and on the jump. */
    declare readonly comment: pulumi.Output<string>;
    /** False after a refresh found the rules or the jump changed by hand; the next update rewrites them. */
    declare readonly inSync: pulumi.Output<boolean>;
    /** The backend the chain is in: `iptables` or `nftables` (what `auto` chose). */
    declare readonly activeBackend: pulumi.Output<"iptables" | "nftables">;

    constructor(name: string, args: FirewallChainArgs, opts?: pulumi.CustomResourceOptions) {
        super("FirewallChain", name, args, { comment: undefined, inSync: undefined, activeBackend: undefined }, opts);
    }
}
