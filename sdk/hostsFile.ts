import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/** One line of a {@link HostsFile}: an address and the names it answers to. */
export interface HostsEntryArgs {
    /** The address, e.g. `10.0.0.3`. */
    address: pulumi.Input<string>;
    /** Its names, e.g. `["c2", "lab-c2"]`. */
    names: pulumi.Input<string>[];
}

/** Arguments of a {@link HostsFile}. */
export interface HostsFileArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The namespaces in which the names resolve. */
    namespaces: pulumi.Input<string>[];
    /** The names and their addresses. */
    entries: pulumi.Input<HostsEntryArgs>[];
    /** Nameservers for the namespaces' resolv.conf; omitted: the host's. */
    nameservers?: pulumi.Input<string>[];
}

/**
 * Names that resolve inside network namespaces: /etc/netns/NAMESPACE/hosts (and resolv.conf with
 * nameservers), which `ip netns exec` puts over /etc/hosts for the commands it runs. The host's
 * own /etc/hosts is never touched. BridgeNetwork makes one for its attachments.
 *
 * Equivalent to: `mkdir -p /etc/netns/c1 && printf '10.0.0.3 c2\n' > /etc/netns/c1/hosts`.
 *
 * @example
 * ```ts
 * new HostsFile("names", { namespaces: ["c1", "c2"], entries: [{ address: "10.0.0.2", names: ["c1"] }, { address: "10.0.0.3", names: ["c2"] }] });
 * ```
 */
export class HostsFile extends OverlayResource {
    /** The namespaces. */
    declare readonly namespaces: pulumi.Output<string[]>;
    /** What refresh found changed out of band, in words. */
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: HostsFileArgs, opts?: pulumi.CustomResourceOptions) {
        super("HostsFile", name, args, { drift: undefined }, opts);
    }
}
