import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { onHostKey, programChecks } from "./programChecks";
import { OverlayResource } from "./provider";

/** Arguments of a {@link Sysctl}. */
export interface SysctlArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The key, e.g. `net.ipv4.ip_forward` (slash form for interface names with dots). Changing it replaces the resource. */
    key: pulumi.Input<string>;
    /** The value to set, e.g. `1`. Updated in place. */
    value: pulumi.Input<string | number>;
    /** The namespace to set it in (`net.*` keys are per namespace); omitted: the root namespace. */
    netns?: pulumi.Input<string>;
}

/**
 * A kernel parameter. It remembers the value it found and restores it on delete, unless the value
 * was changed by someone else since.
 *
 * Equivalent to: `ip netns exec NETNS sysctl -w KEY=VALUE`.
 *
 * @example
 * ```ts
 * new Sysctl("forwarding", { key: "net.ipv4.ip_forward", value: 1 });
 * ```
 */
export class Sysctl extends OverlayResource {
    /** The key. */
    declare readonly key: pulumi.Output<string>;
    /** The value as the kernel prints it. */
    declare readonly value: pulumi.Output<string>;
    /** The namespace; undefined for the root namespace. */
    declare readonly netns: pulumi.Output<string | undefined>;
    /** The value found before the first write; put back on delete. */
    declare readonly previousValue: pulumi.Output<string>;

    constructor(name: string, args: SysctlArgs, opts?: pulumi.CustomResourceOptions) {
        programChecks().sysctl(`Sysctl "${name}"`, onHostKey(args.connection, args.netns), args.key, args.value);
        super("Sysctl", name, args, { previousValue: undefined }, opts);
    }
}
