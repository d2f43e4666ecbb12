import * as pulumi from "@pulumi/pulumi";
import { Address } from "./address";
import type { ConnectionArgs } from "./connection";
import { NetworkNamespace } from "./namespace";
import { Route } from "./route";
import { VethPair } from "./veth";

/** Arguments of a {@link SandboxHost}. */
export interface SandboxHostArgs {
    /** Prefix of the two namespace names (`<prefix>lab`, `<prefix>internet`). */
    prefix?: string;
    /** The host to build the sandbox on, over SSH (see {@link ConnectionArgs}); omitted: this machine. */
    connection?: pulumi.Input<ConnectionArgs>;
}

/**
 * A stand-in host for trying things safely: a namespace that plays the host ("lab"), with an
 * uplink to a namespace that plays the internet on TEST-NET addresses (203.0.113.0/24, plus
 * 198.51.100.1 further out). Give a lab's host-side resources `netns: sandbox.netns` and
 * `uplink: sandbox.uplink`, and nothing of the machine's own network is touched.
 *
 * ```
 * [<prefix>lab] uplink 203.0.113.2/24 ── wan 203.0.113.1/24 [<prefix>internet] (198.51.100.1 on lo)
 *               default via 203.0.113.1
 * ```
 */
export class SandboxHost extends pulumi.ComponentResource {
    /** The namespace that plays the host. */
    readonly netns: pulumi.Output<string>;
    /** The host's uplink interface (in `netns`). */
    readonly uplink: pulumi.Output<string>;
    /** The host's address on the uplink (203.0.113.2). */
    readonly uplinkAddress = "203.0.113.2";
    /** The namespace that plays the internet. */
    readonly internetNetns: pulumi.Output<string>;
    /** The internet's near address (203.0.113.1), the host's default gateway. */
    readonly internetAddress = "203.0.113.1";
    /** An address further out in the internet (198.51.100.1). */
    readonly farAddress = "198.51.100.1";

    constructor(name: string, args: SandboxHostArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("overlay:index:SandboxHost", name, {}, opts);
        const child = { parent: this };
        const prefix = args.prefix ?? "";
        const on = args.connection === undefined ? {} : { connection: args.connection };
        const lab = new NetworkNamespace(`${name}-lab`, { name: `${prefix}lab`, ...on }, child);
        const internet = new NetworkNamespace(`${name}-internet`, { name: `${prefix}internet`, ...on }, child);
        const wire = new VethPair(`${name}-uplink`, { name: "uplink", netns: lab.name, peer: { name: "wan", netns: internet.name }, ...on }, child);
        const labAddress = new Address(`${name}-uplink-address`, { device: wire.name, address: `${this.uplinkAddress}/24`, netns: lab.name, ...on }, child);
        new Address(`${name}-wan-address`, { device: wire.peerName, address: `${this.internetAddress}/24`, netns: internet.name, ...on }, child);
        new Address(`${name}-far-address`, { device: "lo", address: `${this.farAddress}/32`, netns: internet.name, ...on }, child);
        new Route(
            `${name}-default`,
            { destination: "default", gateway: this.internetAddress, device: wire.name, netns: lab.name, ...on },
            { parent: this, dependsOn: [labAddress] },
        );
        this.netns = lab.name;
        this.uplink = wire.name;
        this.internetNetns = internet.name;
        this.registerOutputs({ netns: this.netns, uplink: this.uplink, internetNetns: this.internetNetns });
    }
}
