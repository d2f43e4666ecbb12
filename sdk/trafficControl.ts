import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/**
 * A link's shaping and impairment, values with units: a token bucket (`rate`, `burst`,
 * `latency`) and netem (`delay`, `jitter`, `loss`, `duplicate`, `corrupt`, `reorder`).
 */
export interface LinkShapeArgs {
    /** Token bucket rate: `10mbit`, `1gbit`, `500kbit` (bits per second), or `2mbps` (bytes). Equivalent to: `tc ... tbf rate 10mbit`. */
    rate?: pulumi.Input<string>;
    /** Token bucket size: `32kb`, `1mb`; default a hundredth of a second at the rate, at least 3000 bytes. Equivalent to: `tbf burst 32kb`. */
    burst?: pulumi.Input<string>;
    /** How long a packet may wait for tokens: default `50ms`. Equivalent to: `tbf latency 50ms`. */
    latency?: pulumi.Input<string>;
    /** Added delay, `20ms` (netem). Equivalent to: `tc ... netem delay 20ms`. */
    delay?: pulumi.Input<string>;
    /** Delay variation, `5ms` (netem; needs `delay`). Equivalent to: `netem delay 20ms 5ms`. */
    jitter?: pulumi.Input<string>;
    /** Packets dropped, `1%` (netem). Equivalent to: `netem loss 1%`. */
    loss?: pulumi.Input<string>;
    /** Packets sent twice, `0.5%` (netem). Equivalent to: `netem duplicate 0.5%`. */
    duplicate?: pulumi.Input<string>;
    /** Packets with a flipped bit, `0.1%` (netem). Equivalent to: `netem corrupt 0.1%`. */
    corrupt?: pulumi.Input<string>;
    /** Packets sent ahead of delayed ones, `25%` (netem; needs `delay`). Equivalent to: `netem reorder 25%`. */
    reorder?: pulumi.Input<string>;
}

/** Arguments of a {@link TrafficControl}. */
export interface TrafficControlArgs extends LinkShapeArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The link whose outgoing traffic is shaped. Changing it replaces the resource. */
    device: pulumi.Input<string>;
    /** The link's namespace; omitted: the root namespace. Changing it replaces the resource. */
    netns?: pulumi.Input<string>;
}

/**
 * A link's shaping and impairment (the traffic it sends). Updated in place; removed on delete,
 * when the kernel's default qdisc comes back. netem needs the kernel's sch_netem module.
 *
 * Equivalent to: `tc -n NETNS qdisc replace dev DEVICE root handle 5afe: tbf rate RATE burst B latency L`
 * (or `... root handle 5afe: netem delay D loss L`, with the token bucket as its child when both are given).
 *
 * @example
 * ```ts
 * new TrafficControl("slow", { device: "veth-c1", rate: "10mbit" });
 * ```
 */
export class TrafficControl extends OverlayResource {
    /** The shaped link. */
    declare readonly device: pulumi.Output<string>;
    /** The rate, as given. */
    declare readonly rate: pulumi.Output<string | undefined>;
    /** What refresh found changed out of band, in words. */
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: TrafficControlArgs, opts?: pulumi.CustomResourceOptions) {
        super("TrafficControl", name, args, { drift: undefined }, opts);
    }
}
