/**
 * The provider objects the state refers to. Each resource's `__provider` text (written by the SDK,
 * sdk/provider.ts: `providerText`) is a `require` of one module here, whose export is its kind's
 * provider: a forwarder that loads the implementation (the module beside it) at call time, so
 * that the program does not load it and existing stacks are served by whatever version is
 * installed. States from earlier releases hold @pulumi/pulumi's serialized text of these same
 * exports (a longer wrapper around the same `require`), which loads them the same way.
 *
 * Compatibility contract (docs/compatibility.md): `pulumi-overlay/dist/providers/shims/<module>.js`
 * exports a provider, and `pulumi-overlay/dist/providers/<module>` exports `provider`.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ProviderModule } from "../kinds";

/** A dynamic provider that forwards every call to `pulumi-overlay/dist/providers/<module>`. */
export function lazyProvider(module: ProviderModule): pulumi.dynamic.ResourceProvider {
    // Beside this file, not by the package's name: a package linked into the project
    // (`npm link`, a `file:` dependency) lives outside any node_modules, where its own name
    // does not resolve.
    const load = (): pulumi.dynamic.ResourceProvider => require(`../${module}`).provider;
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
