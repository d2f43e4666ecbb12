import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/** An attachment a {@link NetworkProbe} pings from. */
export interface ProbeMemberArgs {
    /** The attachment's name, for the error. */
    name: pulumi.Input<string>;
    /** Its network namespace. */
    namespace: pulumi.Input<string>;
    /** Its address, pinged by the previous member. */
    address: pulumi.Input<string>;
}

/** Arguments of a {@link NetworkProbe}. */
export interface NetworkProbeArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The host side's namespace, whose nftables ruleset is read for the diagnosis; omitted: the root namespace. */
    netns?: pulumi.Input<string>;
    /** The network's bridge, named in the remedies. */
    bridge: pulumi.Input<string>;
    /** The gateway every member pings. */
    gateway: pulumi.Input<string>;
    /** The attachments; each pings the gateway and the next one. */
    members: pulumi.Input<ProbeMemberArgs>[];
    /** The network's subnet: a host rule that names it may accept the traffic (see `acceptIn`). */
    subnet?: pulumi.Input<string>;
    /** The backend of the network's own rules (`auto`, `iptables`, `nftables`): with iptables, iptables' FORWARD holds its accepts. */
    backend?: pulumi.Input<"auto" | "iptables" | "nftables">;
    /**
     * Chains of the host's firewall (`"inet hostfw forward"`) that the network is accepted in. The
     * check reads the host's ruleset (`nft -j list ruleset`), at preview too, and fails when a chain of
     * another owner certainly drops the traffic (policy drop or a final drop, and no rule naming the
     * bridge or subnet or jumping elsewhere) and is not listed here.
     */
    acceptIn?: pulumi.Input<string[]>;
}

/**
 * A proof that a bridge network passes traffic: each member pings the gateway and the next member
 * (lab addresses only), at create and whenever the members change. When one cannot, the up fails
 * with the pairs that failed and the host's nftables chains that drop forwarded traffic, with
 * remedies. Its check reads the host's ruleset at preview already and fails on a chain that
 * certainly drops the traffic (see {@link NetworkProbeArgs.acceptIn}). It leaves nothing on the
 * host. BridgeNetwork declares one (`probe`, default on).
 *
 * Equivalent to: `ip netns exec c1 ping -c 2 10.0.0.1; ip netns exec c1 ping -c 2 10.0.0.3` and so on,
 * then `nft -j list ruleset` when one fails.
 *
 * @example
 * ```ts
 * new NetworkProbe("lab-probe", { bridge: "br0", gateway: "10.0.0.1", members: [{ name: "c1", namespace: "c1", address: "10.0.0.2" }] });
 * ```
 */
export class NetworkProbe extends OverlayResource {
    /** The pings that were answered, `c1 (10.0.0.2) -> gateway 10.0.0.1`. */
    declare readonly proved: pulumi.Output<string[]>;

    constructor(name: string, args: NetworkProbeArgs, opts?: pulumi.CustomResourceOptions) {
        super("NetworkProbe", name, args, { proved: undefined }, opts);
    }
}
