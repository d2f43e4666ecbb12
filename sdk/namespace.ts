import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { onHostKey, programChecks } from "./programChecks";
import { OverlayResource } from "./provider";

/** Arguments of a {@link NetworkNamespace}. */
export interface NetworkNamespaceArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /**
     * The namespace name, as in `ip netns add NAME` (1-255 bytes, no `/` or whitespace). Omitted:
     * the Pulumi name plus a random suffix. Changing it replaces the namespace.
     */
    name?: pulumi.Input<string>;
}

/**
 * A named network namespace: an isolated network stack with its own links, addresses, routes,
 * iptables rules and `net.*` sysctls, as a container has. Its loopback is brought up.
 *
 * Equivalent to: `ip netns add NAME; ip -n NAME link set lo up`. Delete: `ip netns delete NAME`
 * (everything inside goes with it), only if the namespace is the one this resource made.
 *
 * @example
 * ```ts
 * const c1 = new NetworkNamespace("c1", { name: "c1" });
 * ```
 */
export class NetworkNamespace extends OverlayResource {
    /** The namespace name; pass it as another resource's `netns` to place that resource inside. */
    declare readonly name: pulumi.Output<string>;
    /** The ownership mark, set as the alias of the namespace's loopback. */
    declare readonly alias: pulumi.Output<string>;

    constructor(name: string, args: NetworkNamespaceArgs = {}, opts?: pulumi.CustomResourceOptions) {
        programChecks().namespace(`NetworkNamespace "${name}"`, args.name === undefined ? undefined : onHostKey(args.connection, args.name));
        // name stays a property when undefined: it is an output too (the automatic name).
        const inputs = { name: args.name, connection: args.connection };
        super("NetworkNamespace", name, inputs, { alias: undefined }, opts);
    }
}
