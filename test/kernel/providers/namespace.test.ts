import { expect, it } from "vitest";
import { linkGet, netnsAdd, netnsDelete, netnsExists, netnsList } from "../../../providers/host";
import { provider } from "../../../providers/namespace";
import { created, expectGone, replaced } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";

describeKernel("NetworkNamespace on the kernel", () => {
    const sb = useSandbox();

    it("create, read, replace, delete, delete again", async () => {
        const name = sb.ns("c1");
        const { id, outs } = await created(provider, { logicalName: "c1", name });
        expect(netnsList()).toContain(name);
        const lo = await linkGet(name, "lo");
        expect(lo?.flags).toContain("UP");
        expect(lo?.ifalias).toBe(outs.alias);
        expect(outs.alias).toMatch(/^pulumi-overlay:c1:[0-9a-f]{8}$/);

        const read = await provider.read!(id, outs);
        expect(read.props).toEqual(outs);
        expect(read.inputs).toEqual({ logicalName: "c1", name, mark: outs.alias });

        const renamed = sb.ns("c1b");
        const next = await replaced(provider, id, outs, { logicalName: "c1", name: renamed }, ["name"]);
        expect(netnsExists(name)).toBe(false);
        expect(netnsExists(renamed)).toBe(true);

        await provider.delete!(next.id, next.outs);
        expect(netnsExists(renamed)).toBe(false);
        await provider.delete!(next.id, next.outs);
    });

    it("reports a namespace removed out of band as gone", async () => {
        const { id, outs } = await created(provider, { logicalName: "c1", name: sb.ns("c1") });
        await netnsDelete(outs.name);
        await expectGone(provider, id, outs);
        await provider.delete!(id, outs);
    });

    it("refuses a namespace that already exists, and never deletes it", async () => {
        const name = sb.ns("taken");
        await netnsAdd(name);
        await expect(created(provider, { logicalName: "taken", name })).rejects.toThrow(`network namespace "${name}" already exists`);
        expect(netnsExists(name)).toBe(true);
        // A delete with props that are not this namespace's mark leaves it alone.
        await provider.delete!(name, { logicalName: "taken", name, alias: "pulumi-overlay:taken:00000000" });
        expect(netnsExists(name)).toBe(true);
        await expectGone(provider, name, { logicalName: "taken", name, alias: "pulumi-overlay:taken:00000000" });
    });
});
