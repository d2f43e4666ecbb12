import { beforeEach, expect, it } from "vitest";
import { netnsAdd } from "../../../providers/host";
import { provider } from "../../../providers/veth";
import { created, expectGone, ipOutOfBand, kernelLink, replaced, updated } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";

describeKernel("VethPair on the kernel", () => {
    const sb = useSandbox();
    let c1: string;
    beforeEach(async () => {
        c1 = sb.ns("c1");
        await netnsAdd(c1);
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "link", "add", "br1", "type", "bridge");
    });

    it("create across namespaces, read, update in place, replace, delete, delete again", async () => {
        const args = { logicalName: "c1-veth", name: "veth-c1", netns: sb.hostNs, master: "br0", peer: { name: "eth0", netns: c1 } };
        const { id, outs } = await created(provider, args);
        const end = await kernelLink(sb.hostNs, "veth-c1");
        const peer = await kernelLink(c1, "eth0");
        expect(end?.linkinfo?.info_kind).toBe("veth");
        expect(end?.master).toBe("br0");
        expect(end?.flags).toContain("UP");
        expect(peer?.flags).toContain("UP");
        expect(end?.ifalias).toBe(outs.alias);
        expect(peer?.ifalias).toBe(outs.alias);
        expect(outs).toMatchObject({
            peerName: "eth0",
            peerNetns: c1,
            master: "br0",
            up: true,
            mac: end?.address,
            peerMac: peer?.address,
            ifindex: end?.ifindex,
            peerIfindex: peer?.ifindex,
        });

        expect((await provider.read!(id, outs)).props).toEqual(outs);

        const moved = await updated(provider, id, outs, { ...args, master: "br1", mtu: 1400 });
        expect((await kernelLink(sb.hostNs, "veth-c1"))?.master).toBe("br1");
        expect((await kernelLink(sb.hostNs, "veth-c1"))?.mtu).toBe(1400);
        expect((await kernelLink(c1, "eth0"))?.mtu).toBe(1400);
        expect(moved).toMatchObject({ master: "br1", mtu: 1400 });

        const { master: _dropped, ...noMaster } = { ...args, mtu: 1400 };
        const detached = await updated(provider, id, moved, noMaster);
        expect((await kernelLink(sb.hostNs, "veth-c1"))?.master).toBeUndefined();
        expect(detached.master).toBeUndefined();

        const next = await replaced(provider, id, detached, { ...args, peer: { name: "eth1", netns: c1 } }, ["peer"]);
        expect(await kernelLink(c1, "eth0")).toBeUndefined();
        expect((await kernelLink(c1, "eth1"))?.ifalias).toBe(next.outs.alias);

        await provider.delete!(next.id, next.outs);
        expect(await kernelLink(sb.hostNs, "veth-c1")).toBeUndefined();
        expect(await kernelLink(c1, "eth1")).toBeUndefined();
        await provider.delete!(next.id, next.outs);
    });

    it("creates a pair within one namespace and one whose peer is in the sandbox host", async () => {
        const same = await created(provider, { logicalName: "pair", name: "va", netns: c1, peer: { name: "vb", netns: c1 } });
        expect((await kernelLink(c1, "vb"))?.ifalias).toBe(same.outs.alias);
        const cross = await created(provider, { logicalName: "pair2", name: "vc", netns: c1, peer: { name: "vd", netns: sb.hostNs } });
        expect((await kernelLink(sb.hostNs, "vd"))?.flags).toContain("UP");
        await provider.delete!(same.id, same.outs);
        await provider.delete!(cross.id, cross.outs);
        expect(await kernelLink(sb.hostNs, "vd")).toBeUndefined();
    });

    it("undoes a half-made create: a missing bridge leaves no veth behind", async () => {
        const args = { logicalName: "c1-veth", name: "veth-c1", netns: sb.hostNs, master: "nobridge", peer: { name: "eth0", netns: c1 } };
        await expect(created(provider, args)).rejects.toThrow(/device "nobridge" does not exist/);
        expect(await kernelLink(sb.hostNs, "veth-c1")).toBeUndefined();
        expect(await kernelLink(c1, "eth0")).toBeUndefined();
    });

    it("reports a pair removed out of band as gone, and a gone namespace as gone", async () => {
        const { id, outs } = await created(provider, { logicalName: "v", name: "veth-c1", netns: sb.hostNs, peer: { name: "eth0", netns: c1 } });
        await ipOutOfBand(c1, "link", "del", "eth0");
        await expectGone(provider, id, outs);
        await provider.delete!(id, outs);
        await expectGone(provider, id, { ...outs, netns: sb.ns("ghost") });
        await provider.delete!(id, { ...outs, netns: sb.ns("ghost") });
    });

    it("refuses a peer name already taken, leaves it untouched and creates nothing", async () => {
        await ipOutOfBand(c1, "link", "add", "eth0", "type", "bridge");
        const before = await kernelLink(c1, "eth0");
        await expect(created(provider, { logicalName: "v", name: "veth-c1", netns: sb.hostNs, peer: { name: "eth0", netns: c1 } })).rejects.toThrow(
            /already exists/,
        );
        expect(await kernelLink(c1, "eth0")).toEqual(before);
        expect(await kernelLink(sb.hostNs, "veth-c1")).toBeUndefined();
    });
});
