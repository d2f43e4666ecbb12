import { expect, it } from "vitest";
import { provider } from "../../../providers/bridge";
import { created, expectGone, ipOutOfBand, kernelLink, replaced, updated } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";

describeKernel("Bridge on the kernel", () => {
    const sb = useSandbox();

    it("create, read, update in place, replace, delete, delete again", async () => {
        const { id, outs } = await created(provider, { logicalName: "br", name: "br0", netns: sb.hostNs, mtu: 1400 });
        const link = await kernelLink(sb.hostNs, "br0");
        expect(link?.linkinfo?.info_kind).toBe("bridge");
        expect(link?.mtu).toBe(1400);
        expect(link?.flags).toContain("UP");
        expect(link?.ifalias).toBe(outs.alias);
        expect(link?.linkinfo?.info_data?.stp_state).toBe(0);
        expect(outs).toMatchObject({ name: "br0", netns: sb.hostNs, mtu: 1400, up: true, stp: false, mac: link?.address, ifindex: link?.ifindex });

        const read = await provider.read!(id, outs);
        expect(read.props).toEqual(outs);

        const after = await updated(provider, id, outs, { logicalName: "br", name: "br0", netns: sb.hostNs, mtu: 1300, stp: true, up: false });
        const changed = await kernelLink(sb.hostNs, "br0");
        expect(changed?.mtu).toBe(1300);
        expect(changed?.flags).not.toContain("UP");
        expect(changed?.linkinfo?.info_data?.stp_state).toBe(1);
        expect(changed?.ifindex).toBe(link?.ifindex); // in place: the same link
        expect(after).toMatchObject({ mtu: 1300, up: false, stp: true, alias: outs.alias });

        const next = await replaced(provider, id, after, { logicalName: "br", name: "br1", netns: sb.hostNs }, ["name"]);
        expect(await kernelLink(sb.hostNs, "br0")).toBeUndefined();
        expect((await kernelLink(sb.hostNs, "br1"))?.ifalias).toBe(next.outs.alias);

        await provider.delete!(next.id, next.outs);
        expect(await kernelLink(sb.hostNs, "br1")).toBeUndefined();
        await provider.delete!(next.id, next.outs);
    });

    it("leaves an undeclared MTU alone and reports out-of-band changes on read", async () => {
        const { id, outs } = await created(provider, { logicalName: "br", name: "br0", netns: sb.hostNs });
        await ipOutOfBand(sb.hostNs, "link", "set", "br0", "mtu", "1280");
        const read = await provider.read!(id, outs);
        expect(read.props.mtu).toBe(1280);
        // The program never declared an MTU: the new value is not a change to undo.
        const diff = await provider.diff!(id, read.props, (await provider.check!(read.inputs, { logicalName: "br", name: "br0", netns: sb.hostNs })).inputs);
        expect(diff.changes).toBe(false);
        // A declared MTU that drifted is a change to undo.
        const diff2 = await provider.diff!(id, read.props, { ...outs, mtu: 1500 });
        expect(diff2).toMatchObject({ changes: true, replaces: [] });
    });

    it("keeps its MAC address when ports come and go (Linux would give it its lowest port's)", async () => {
        const { id, outs } = await created(provider, { logicalName: "br", name: "br0", netns: sb.hostNs });
        expect(outs.mac).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/); // locally administered, unicast
        // A port whose address sorts below the bridge's: an unpinned bridge would take it.
        await ipOutOfBand(sb.hostNs, "link", "add", "p0", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "p1");
        await ipOutOfBand(sb.hostNs, "link", "set", "p0", "master", "br0", "up");
        expect((await kernelLink(sb.hostNs, "br0"))?.address).toBe(outs.mac);
        await ipOutOfBand(sb.hostNs, "link", "del", "p0");
        expect((await provider.read!(id, outs)).props).toEqual(outs);
    });

    it("reports a bridge removed out of band as gone", async () => {
        const { id, outs } = await created(provider, { logicalName: "br", name: "br0", netns: sb.hostNs });
        await ipOutOfBand(sb.hostNs, "link", "del", "br0");
        await expectGone(provider, id, outs);
        await provider.delete!(id, outs);
    });

    it("refuses a link of the same name that is not ours, and never changes or deletes it", async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "mtu", "1450", "type", "bridge");
        const before = await kernelLink(sb.hostNs, "br0");
        await expect(created(provider, { logicalName: "br", name: "br0", netns: sb.hostNs, mtu: 1400 })).rejects.toThrow(
            `bridge "br0" already exists in network namespace "${sb.hostNs}"`,
        );
        const props = { logicalName: "br", name: "br0", netns: sb.hostNs, alias: "pulumi-overlay:br:00000000" };
        await expectGone(provider, "br0", props);
        await provider.delete!("br0", props);
        expect(await kernelLink(sb.hostNs, "br0")).toEqual(before);
    });

    it("fails with the namespace named when the namespace is missing, and leaves nothing", async () => {
        const ghost = sb.ns("ghost");
        await expect(created(provider, { logicalName: "br", name: "br0", netns: ghost })).rejects.toThrow(`network namespace "${ghost}" does not exist`);
    });
});
