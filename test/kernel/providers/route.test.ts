import { beforeEach, expect, it } from "vitest";
import { routeList } from "../../../providers/host";
import { provider } from "../../../providers/route";
import { created, expectGone, ipOutOfBand, replaced } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";

describeKernel("Route on the kernel", () => {
    const sb = useSandbox();
    beforeEach(async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "addr", "add", "10.0.0.1/24", "dev", "br0");
        await ipOutOfBand(sb.hostNs, "addr", "add", "fd00::1/64", "dev", "br0", "nodad");
        await ipOutOfBand(sb.hostNs, "link", "set", "br0", "up");
    });

    it("create, read, replace, delete, delete again", async () => {
        const args = { logicalName: "lab", destination: "10.1.0.0/24", gateway: "10.0.0.2", netns: sb.hostNs };
        const { id, outs } = await created(provider, args);
        expect((await routeList(sb.hostNs, 4)).filter((r) => r.dst === "10.1.0.0/24")).toEqual([expect.objectContaining({ gateway: "10.0.0.2", dev: "br0" })]);
        expect((await provider.read!(id, outs)).props).toEqual(outs);
        const next = await replaced(provider, id, outs, { ...args, metric: 50 }, ["metric"]);
        expect((await routeList(sb.hostNs, 4)).filter((r) => r.dst === "10.1.0.0/24")).toEqual([expect.objectContaining({ gateway: "10.0.0.2", metric: 50 })]);
        await provider.delete!(next.id, next.outs);
        expect((await routeList(sb.hostNs, 4)).filter((r) => r.dst === "10.1.0.0/24")).toEqual([]);
        await provider.delete!(next.id, next.outs);
    });

    it("IPv6, a device route, and a route in another table", async () => {
        const v6 = await created(provider, { logicalName: "v6", destination: "fd00:1::/64", gateway: "fd00::2", netns: sb.hostNs });
        expect((await routeList(sb.hostNs, 6)).find((r) => r.dst === "fd00:1::/64")).toMatchObject({ gateway: "fd00::2" });
        const dev = await created(provider, { logicalName: "dev", destination: "198.51.100.7", device: "br0", netns: sb.hostNs, table: 100 });
        expect(await routeList(sb.hostNs, 4, 100)).toEqual([expect.objectContaining({ dst: "198.51.100.7", dev: "br0" })]);
        expect((await provider.read!(dev.id, dev.outs)).id).toBe(dev.id);
        await provider.delete!(v6.id, v6.outs);
        await provider.delete!(dev.id, dev.outs);
        expect((await routeList(sb.hostNs, 6)).find((r) => r.dst === "fd00:1::/64")).toBeUndefined();
        expect(await routeList(sb.hostNs, 4, 100)).toEqual([]);
    });

    it("reports a route removed out of band as gone", async () => {
        const { id, outs } = await created(provider, { logicalName: "lab", destination: "10.1.0.0/24", gateway: "10.0.0.2", netns: sb.hostNs });
        await ipOutOfBand(sb.hostNs, "route", "del", "10.1.0.0/24");
        await expectGone(provider, id, outs);
        await provider.delete!(id, outs);
    });

    it("refuses a route that is already there, and deletes only its own", async () => {
        await ipOutOfBand(sb.hostNs, "route", "add", "10.1.0.0/24", "via", "10.0.0.3");
        await expect(created(provider, { logicalName: "lab", destination: "10.1.0.0/24", gateway: "10.0.0.2", netns: sb.hostNs })).rejects.toThrow(
            /route to 10.1.0.0\/24 already exists/,
        );
        // Ours, at another metric, beside theirs: deleting ours leaves theirs.
        const ours = await created(provider, { logicalName: "lab", destination: "10.1.0.0/24", gateway: "10.0.0.2", metric: 10, netns: sb.hostNs });
        await provider.delete!(ours.id, ours.outs);
        expect((await routeList(sb.hostNs, 4)).filter((r) => r.dst === "10.1.0.0/24")).toEqual([expect.objectContaining({ gateway: "10.0.0.3" })]);
        // A delete of a route that matches theirs in prefix but not in gateway leaves theirs too.
        await provider.delete!("x", { logicalName: "lab", destination: "10.1.0.0/24", gateway: "10.0.0.2", netns: sb.hostNs });
        expect((await routeList(sb.hostNs, 4)).filter((r) => r.dst === "10.1.0.0/24")).toHaveLength(1);
    });
});
