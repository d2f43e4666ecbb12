import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { OverlayResource } from "./provider";

/** Arguments of an {@link Address}. */
export interface AddressArgs {
    /** The host the resource lives on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The device to put the address on, e.g. a bridge's or a veth end's `name`. Changing it replaces the address. */
    device: pulumi.Input<string>;
    /** The address with its prefix length, IPv4 or IPv6: `10.0.0.2/24`, `fd00::2/64`. Changing it replaces the address. */
    address: pulumi.Input<string>;
    /** The namespace the device is in; omitted: the root namespace. */
    netns?: pulumi.Input<string>;
}

/**
 * An IP address on a device. The prefix length also gives the kernel its connected route.
 *
 * Equivalent to: `ip -n NETNS addr add ADDRESS dev DEVICE` (IPv6 with `nodad`, usable at once).
 * An address already on the device is refused; delete removes exactly this address.
 *
 * @example
 * ```ts
 * new Address("gw", { device: br0.name, address: "10.0.0.1/24" });
 * ```
 */
export class Address extends OverlayResource {
    /** The device. */
    declare readonly device: pulumi.Output<string>;
    /** The address with its prefix length, as the kernel prints it. */
    declare readonly address: pulumi.Output<string>;
    /** The namespace; undefined for the root namespace. */
    declare readonly netns: pulumi.Output<string | undefined>;
    /** 4 or 6. */
    declare readonly family: pulumi.Output<number>;
    /** The address without its prefix length, e.g. `10.0.0.2`: handy as a gateway. */
    declare readonly ip: pulumi.Output<string>;
    /** The prefix length. */
    declare readonly prefixLength: pulumi.Output<number>;

    constructor(name: string, args: AddressArgs, opts?: pulumi.CustomResourceOptions) {
        super("Address", name, args, { family: undefined, ip: undefined, prefixLength: undefined }, opts);
    }
}
