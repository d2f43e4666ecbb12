/**
 * What the SDK registers for Pulumi: the text of each kind's dynamic provider, and resource
 * identities. Pulumi stores a dynamic resource's provider as text (`__provider`) in the inputs and
 * the outputs of every resource, sends it with every call to the dynamic-provider server, and
 * rewrites it with every checkpoint; the server loads it as a module and calls its `handler` for
 * the provider object. The SDK's text is one line: a `require` of the kind's shim module
 * (`providers/shims/<module>`), which loads the implementation from the installed package at call
 * time, so the state stays small and the installed version of pulumi-overlay serves existing stacks.
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

export type { ProviderModule } from "../providers/kinds";

/**
 * The `__provider` text of a module's resources: a module whose `handler` returns what
 * `pulumi-overlay/dist/providers/shims/<module>.js` exports, as the dynamic-provider server loads
 * it (require-from-string, then `handler()`): about 85 bytes, where @pulumi/pulumi's closure
 * serializer (`pulumi.dynamic.Resource`) wraps the same `require` in about 330. Every byte is
 * paid per resource in each checkpoint, which the CLI rewrites whole after every step (see
 * docs/performance.md), and in each call to the provider.
 */
export function providerText(module: ProviderModule): string {
    return `exports.handler = () => require("pulumi-overlay/dist/providers/shims/${module}.js");\n`;
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
 * The base of the SDK's resource classes: a dynamic resource of one kind (type
 * `pulumi-nodejs:dynamic/overlay:<Kind>`, served by Pulumi's dynamic-provider server as a
 * `pulumi.dynamic.Resource` is), whose inputs are its provider's text ({@link providerText}), its
 * arguments, and the hidden `logicalName` and `identity` (the connection made secret), and whose
 * outputs are the inputs plus the kind's output-only properties. Its registration takes no stack
 * traces: @pulumi/pulumi takes `new Error().stack` for every promise it makes for a resource's
 * properties (only to report leaked promises), and the `source-map-support` that its runtime
 * installs maps every frame of each: for 1000 attachments, 3 s of a 7.3 s preview. While an SDK
 * resource registers, `Error.stackTraceLimit` is 0; it is put back before the constructor returns,
 * so the program's own errors, and everything after, keep their stack traces (Pulumi lifts the
 * limit itself for the trace that gives a resource its source position).
 */
export abstract class OverlayResource extends pulumi.CustomResource {
    constructor(
        kind: ProviderKind,
        name: string,
        args: { connection?: pulumi.Input<ConnectionArgs> },
        outputs: pulumi.Inputs,
        opts: pulumi.CustomResourceOptions | undefined,
    ) {
        const module = PROVIDER_KINDS.find((k) => k.kind === kind)!.module;
        const props = { __provider: providerText(module), logicalName: name, identity: resourceIdentity(kind, name, opts), ...inputsOf(args), ...outputs };
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            super(`pulumi-nodejs:dynamic/${TYPE_MODULE}:${kind}`, name, props, connectionOptions(args, opts));
        } finally {
            Error.stackTraceLimit = limit;
        }
    }
}
