/**
 * The provider objects the SDK hands to Pulumi, and resource identities. Pulumi serializes each
 * dynamic provider into the stack's state and loads it again for every operation; the SDK's are
 * the exports of `providers/shims/<module>`, which Pulumi stores as a `require` of that module, and
 * which load the implementation from the installed package at call time. The state stays small,
 * and the installed version of pulumi-overlay serves existing stacks.
 *
 * Compatibility contract: `pulumi-overlay/dist/providers/shims/<module>.js` exports a provider, and
 * `pulumi-overlay/dist/providers/<module>` exports `provider`, for each module of `PROVIDER_KINDS`
 * (providers/kinds.ts). These paths must stay stable across releases.
 * @module
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { PROVIDER_KINDS, type ProviderKind, type ProviderModule } from "../providers/kinds";
import { type ConnectionArgs, connectionOptions, inputsOf } from "./connection";
import namespace from "../providers/shims/namespace";
import bridge from "../providers/shims/bridge";
import veth from "../providers/shims/veth";
import address from "../providers/shims/address";
import route from "../providers/shims/route";
import natRule from "../providers/shims/natRule";
import sysctl from "../providers/shims/sysctl";
import ipLease from "../providers/shims/ipLease";
import firewallChain from "../providers/shims/firewallChain";
import endpoint from "../providers/shims/endpoint";
import trafficControl from "../providers/shims/trafficControl";
import hostsFile from "../providers/shims/hostsFile";
import networkProbe from "../providers/shims/networkProbe";
import acceptIn from "../providers/shims/acceptIn";
import vxlan from "../providers/shims/vxlan";

export type { ProviderModule } from "../providers/kinds";

/**
 * The provider of each module's resources: what `providers/shims/<module>` exports. Pulumi
 * serializes it into the state as that module's `require` (see providers/shims/lazy.ts), once per
 * object: every resource of a kind shares it.
 */
const SHIMS: Record<ProviderModule, pulumi.dynamic.ResourceProvider> = {
    namespace,
    bridge,
    veth,
    address,
    route,
    natRule,
    sysctl,
    ipLease,
    firewallChain,
    endpoint,
    trafficControl,
    hostsFile,
    networkProbe,
    acceptIn,
    vxlan,
};

/** The provider of a module's resources (see {@link SHIMS}). */
export function providerShim(module: ProviderModule): pulumi.dynamic.ResourceProvider {
    return SHIMS[module];
}

/** Type tokens read `pulumi-nodejs:dynamic/overlay:<Kind>`. */
export const TYPE_MODULE = "overlay";

/**
 * A resource's identity, from what names it in Pulumi (project, stack, kind, its parent's name and
 * its own) and the program's folder, given to its provider as the hidden input `identity`. The provider derives from it the
 * automatic names and the ownership mark, instead of random ones: when the Pulumi CLI creates a
 * resource again after a crash cut its create off (it keeps the create pending and runs it again
 * after a fresh check, with no old inputs), the new create chooses the same names and mark as its
 * interrupted twin, finds what that one left, and takes it over. Check keeps a mark once chosen,
 * so stacks made with the random marks of earlier releases keep theirs.
 */
export function resourceIdentity(kind: ProviderKind, name: string, opts?: pulumi.ResourceOptions): string {
    const parent = (opts?.parent as { __name?: string } | undefined)?.__name ?? "";
    // The program's folder too: two copies of one project (same project and stack names) on one
    // host, each in its own folder, are two stacks, and must not share marks.
    const parts = [pulumi.getProject(), pulumi.getStack(), process.cwd(), kind, parent, name];
    return createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 32);
}

/**
 * The base of the SDK's resource classes: a dynamic resource of one kind, whose inputs are its
 * arguments plus the hidden `logicalName` and `identity` (the connection made secret), and whose
 * outputs are the inputs plus the kind's output-only properties. Its registration takes no stack
 * traces: @pulumi/pulumi takes `new Error().stack` for every promise it makes for a resource's
 * properties (only to report leaked promises), and the `source-map-support` that its runtime
 * installs maps every frame of each: for 1000 attachments, 3 s of a 7.3 s preview. While an SDK
 * resource registers, `Error.stackTraceLimit` is 0; it is put back before the constructor returns,
 * so the program's own errors, and everything after, keep their stack traces (Pulumi lifts the
 * limit itself for the trace that gives a resource its source position).
 */
export abstract class OverlayResource extends pulumi.dynamic.Resource {
    constructor(
        kind: ProviderKind,
        name: string,
        args: { connection?: pulumi.Input<ConnectionArgs> },
        outputs: pulumi.Inputs,
        opts: pulumi.CustomResourceOptions | undefined,
    ) {
        const props = { logicalName: name, identity: resourceIdentity(kind, name, opts), ...inputsOf(args), ...outputs };
        const module = PROVIDER_KINDS.find((k) => k.kind === kind)!.module;
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            super(providerShim(module), name, props, connectionOptions(args, opts), TYPE_MODULE, kind);
        } finally {
            Error.stackTraceLimit = limit;
        }
    }
}
