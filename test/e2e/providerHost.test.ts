/**
 * @pulumi/pulumi's own dynamic-provider server, driven over gRPC as the engine drives it, with
 * the providers' texts from the packed package (as a program registers them) and run on the kernel in a sandbox.
 */
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ProviderHost, providerErrorText } from "../engine/providerHost";
import { UNKNOWN } from "../engine/rpc";
import { kernelLink } from "../support/lifecycle";
import { makeProject, removeProject } from "../support/project";
import { describeKernel, useSandbox } from "../support/kernel";

describeKernel("the dynamic-provider server over gRPC", () => {
    let project: string;
    let host: ProviderHost;
    const sb = useSandbox();
    const serialized: Record<string, string> = {};

    beforeAll(async () => {
        project = makeProject({ files: { "package.json": "{}" } });
        // The provider texts of the installed package, as a program registers them.
        const { providerText } = require(path.join(project, "node_modules/pulumi-overlay/dist/sdk/provider"));
        for (const m of ["bridge", "namespace"]) serialized[m] = providerText(m);
        host = await ProviderHost.start(project);
        await host.configure({});
    });
    afterAll(async () => {
        await host?.stop();
        removeProject(project);
    });

    it("check, diff, create, read, update, delete a bridge", async () => {
        const urn = "urn:pulumi:test::grpc::pulumi-nodejs:dynamic/overlay:Bridge::br0";
        const __provider = serialized.bridge;

        // Preview: the netns is not known yet.
        const preview = await host.check(urn, {}, { __provider, logicalName: "br0", name: "br0", netns: UNKNOWN });
        expect(preview.failures).toEqual([]);
        expect(preview.inputs.netns).toBe(UNKNOWN);
        const refused = await host.check(urn, {}, { __provider, logicalName: "br0", name: "averyveryverylongname" });
        expect(refused.failures).toEqual([
            {
                property: "name",
                reason: "name 'averyveryverylongname' is 21 bytes; interface names are 1 to 15 of ASCII letters, digits, '_', '.' and '-', not starting with '.' or '-'",
            },
        ]);

        const { inputs } = await host.check(urn, {}, { __provider, logicalName: "br0", name: "br0", netns: sb.hostNs, mtu: 1400 });
        expect(inputs.__provider).toBe(__provider);
        const created = await host.create(urn, inputs);
        expect(created.id).toBe(`${sb.hostNs}/br0`);
        expect(created.outputs).toMatchObject({ name: "br0", mtu: 1400, up: true, __provider });
        expect((await kernelLink(sb.hostNs, "br0"))?.mtu).toBe(1400);

        const read = await host.read(urn, created.id, created.outputs, inputs);
        expect(read.id).toBe(created.id);
        expect(read.outputs).toEqual(created.outputs);
        expect(read.inputs).toMatchObject({ name: "br0", netns: sb.hostNs, mtu: 1400 });

        const same = await host.diff(urn, created.id, created.outputs, inputs, inputs);
        expect(same).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
        const next = (await host.check(urn, inputs, { __provider, logicalName: "br0", name: "br0", netns: sb.hostNs, mtu: 1300 })).inputs;
        expect(await host.diff(urn, created.id, created.outputs, next, inputs)).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
        const renamed = (await host.check(urn, inputs, { __provider, logicalName: "br0", name: "br1", netns: sb.hostNs })).inputs;
        expect(await host.diff(urn, created.id, created.outputs, renamed, inputs)).toEqual({ changes: "some", replaces: ["name"], deleteBeforeReplace: true });

        const updated = await host.update(urn, created.id, created.outputs, next, inputs);
        expect(updated.mtu).toBe(1300);
        expect((await kernelLink(sb.hostNs, "br0"))?.mtu).toBe(1300);

        await host.delete(urn, created.id, updated);
        expect(await kernelLink(sb.hostNs, "br0")).toBeUndefined();
        await host.delete(urn, created.id, updated);
        const gone = await host.read(urn, created.id, updated, next);
        expect(gone.id).toBe("");
    });

    it("a failing create reports the provider's error text", async () => {
        const urn = "urn:pulumi:test::grpc::pulumi-nodejs:dynamic/overlay:NetworkNamespace::taken";
        const __provider = serialized.namespace;
        const { inputs } = await host.check(urn, {}, { __provider, logicalName: "taken", name: sb.hostNs });
        const err = await host.create(urn, inputs).catch((e: unknown) => e);
        expect(providerErrorText(err)).toContain(`network namespace "${sb.hostNs}" already exists`);
    });
});
