import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/** Arguments of a {@link Route}. Every change replaces the route. */
export interface RouteArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The destination: a network in CIDR form (`10.1.0.0/24`, `fd00:1::/64`), a host address, or `"default"`. */
    destination: pulumi.Input<string>;
    /** The next hop, of the destination's address family. A route needs a gateway or a device. */
    gateway?: pulumi.Input<string>;
    /** The outgoing device. */
    device?: pulumi.Input<string>;
    /** The namespace whose routing table gets the route; omitted: the root namespace. */
    netns?: pulumi.Input<string>;
    /** The route's metric (priority; lower wins). Omitted: the kernel's default (0 for IPv4, 1024 for IPv6). */
    metric?: pulumi.Input<number>;
    /** A routing table id, or `"main"` (the default). */
    table?: pulumi.Input<number | "main">;
}

/**
 * A route. A bare `"default"` destination is IPv4 unless the gateway is IPv6.
 *
 * Equivalent to: `ip -n NETNS route add DESTINATION [via GATEWAY] [dev DEVICE] [metric M] [table T]`.
 * A route with the same key already there is refused; delete removes only a route that matches
 * this one in every field.
 *
 * @example
 * ```ts
 * new Route("c1-default", { netns: c1.name, destination: "default", gateway: "10.0.0.1" }, { dependsOn: [c1Addr] });
 * ```
 */
export class Route extends OverlayResource {
    /** The destination as declared. */
    declare readonly destination: pulumi.Output<string>;
    /** The gateway, if declared. */
    declare readonly gateway: pulumi.Output<string | undefined>;
    /** The device, if declared. */
    declare readonly device: pulumi.Output<string | undefined>;
    /** The namespace; undefined for the root namespace. */
    declare readonly netns: pulumi.Output<string | undefined>;
    /** The metric, if declared. */
    declare readonly metric: pulumi.Output<number | undefined>;
    /** The table, if declared. */
    declare readonly table: pulumi.Output<number | "main" | undefined>;
    /** 4 or 6. */
    declare readonly family: pulumi.Output<number>;

    constructor(name: string, args: RouteArgs, opts?: pulumi.CustomResourceOptions) {
        super("Route", name, args, { family: undefined }, opts);
    }
}
