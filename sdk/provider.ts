/**
 * The thin provider objects the SDK hands to Pulumi. Pulumi serializes each dynamic provider into
 * the stack's state by reading its functions, and loads it again for every operation; these shims
 * hold nothing but a module name and load the implementation from the installed package at call
 * time. The state stays small, and the installed version of pulumi-overlay serves existing stacks.
 *
 * Compatibility contract: a shim loads `require("pulumi-overlay/dist/providers/<module>").provider`,
 * where `<module>` is one of the modules of `PROVIDER_KINDS` (providers/kinds.ts). These paths
 * and the export name `provider` must stay stable across releases.
 * @module
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { ProviderKind, ProviderModule } from "../providers/kinds";

export type { ProviderModule } from "../providers/kinds";

const shims = new Map<ProviderModule, pulumi.dynamic.ResourceProvider>();

/**
 * The shim of a module, one object per module: Pulumi caches a provider's serialized text by
 * object, and serializing a closure is costly (tens of milliseconds), so every resource of a
 * kind shares one shim.
 */
export function providerShim(module: ProviderModule): pulumi.dynamic.ResourceProvider {
    let shim = shims.get(module);
    if (!shim) {
        shim = makeShim(module);
        shims.set(module, shim);
    }
    return shim;
}

/** A dynamic provider that forwards every call to `pulumi-overlay/dist/providers/<module>`. */
function makeShim(module: ProviderModule): pulumi.dynamic.ResourceProvider {
    const load = (): pulumi.dynamic.ResourceProvider => require(`pulumi-overlay/dist/providers/${module}`).provider;
    return {
        check: (olds, news) => load().check!(olds, news),
        diff: (id, olds, news) => load().diff!(id, olds, news),
        create: (inputs) => load().create(inputs),
        read: (id, props) => load().read!(id, props),
        // Providers without in-place updates never report update-only diffs; echo the inputs if asked.
        update: async (id, olds, news) => {
            const impl = load();
            return impl.update ? impl.update(id, olds, news) : { outs: { ...olds, ...news } };
        },
        delete: (id, props) => load().delete!(id, props),
    };
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
