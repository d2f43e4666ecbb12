/**
 * The provider objects Pulumi stores in the state. Pulumi serializes a dynamic provider into the
 * inputs and the outputs of every resource; when the object it is given is exactly what a module
 * in `node_modules` exports, the serialized text is only that module's `require` (about 300
 * bytes), instead of the text of every function (about 2 KB, twice per resource, rewritten with
 * every checkpoint). So each kind has a module here whose export is its provider: a forwarder that
 * loads the implementation from the installed package at call time, so that the program does not
 * load it and existing stacks are served by whatever version is installed.
 *
 * Compatibility contract (docs/compatibility.md): `pulumi-overlay/dist/providers/shims/<module>.js`
 * exports a provider, and `pulumi-overlay/dist/providers/<module>` exports `provider`.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ProviderModule } from "../kinds";

/** A dynamic provider that forwards every call to `pulumi-overlay/dist/providers/<module>`. */
export function lazyProvider(module: ProviderModule): pulumi.dynamic.ResourceProvider {
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
