import { beforeEach, expect, it } from "vitest";
import { type LinkAddrs, addrList, ipCommand, runJson } from "../../../providers/host";
import { provider } from "../../../providers/address";
import { created, expectGone, ipOutOfBand, replaced } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";

async function addressesOf(netns: string, device: string): Promise<string[]> {
    const [link] = await runJson<LinkAddrs[]>(ipCommand(netns, ["-j", "addr", "show", "dev", device]));
    return link.addr_info.filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`);
}

describeKernel("Address on the kernel", () => {
    const sb = useSandbox();
    beforeEach(async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "link", "set", "br0", "up");
    });

    it("create, read, replace, delete, delete again (IPv4)", async () => {
        const { id, outs } = await created(provider, { logicalName: "gw", device: "br0", address: "10.0.0.1/24", netns: sb.hostNs });
        expect(await addressesOf(sb.hostNs, "br0")).toEqual(["10.0.0.1/24"]);
        expect(outs).toMatchObject({ family: 4, ip: "10.0.0.1", prefixLength: 24 });
        expect((await provider.read!(id, outs)).props).toEqual(outs);
        const next = await replaced(provider, id, outs, { logicalName: "gw", device: "br0", address: "10.0.0.254/24", netns: sb.hostNs }, ["address"]);
        expect(await addressesOf(sb.hostNs, "br0")).toEqual(["10.0.0.254/24"]);
        await provider.delete!(next.id, next.outs);
        expect(await addressesOf(sb.hostNs, "br0")).toEqual([]);
        await provider.delete!(next.id, next.outs);
    });

    it("IPv6, written in any form, is stored as the kernel prints it and usable at once", async () => {
        const { id, outs } = await created(provider, { logicalName: "gw6", device: "br0", address: "fd00:0:0:0::0001/64", netns: sb.hostNs });
        expect(outs.address).toBe("fd00::1/64");
        const addrs = await addrList(sb.hostNs, "br0");
        expect(addrs?.find((a) => a.local === "fd00::1")).toMatchObject({ prefixlen: 64 });
        expect(addrs?.find((a) => a.local === "fd00::1")).not.toHaveProperty("tentative");
        await provider.delete!(id, outs);
        expect((await addrList(sb.hostNs, "br0"))?.find((a) => a.local === "fd00::1")).toBeUndefined();
    });

    it("reports an address removed out of band as gone, and a gone device as gone", async () => {
        const { id, outs } = await created(provider, { logicalName: "gw", device: "br0", address: "10.0.0.1/24", netns: sb.hostNs });
        await ipOutOfBand(sb.hostNs, "addr", "del", "10.0.0.1/24", "dev", "br0");
        await expectGone(provider, id, outs);
        await provider.delete!(id, outs);
        await ipOutOfBand(sb.hostNs, "link", "del", "br0");
        await expectGone(provider, id, outs);
        await provider.delete!(id, outs);
    });

    it("refuses an address already on the device, and never deletes it", async () => {
        await ipOutOfBand(sb.hostNs, "addr", "add", "10.0.0.1/24", "dev", "br0");
        await expect(created(provider, { logicalName: "gw", device: "br0", address: "10.0.0.1/24", netns: sb.hostNs })).rejects.toThrow(
            `address 10.0.0.1/24 on device "br0" already exists in network namespace "${sb.hostNs}"`,
        );
        expect(await addressesOf(sb.hostNs, "br0")).toEqual(["10.0.0.1/24"]);
    });

    it("names a missing device", async () => {
        await expect(created(provider, { logicalName: "gw", device: "nosuch0", address: "10.0.0.1/24", netns: sb.hostNs })).rejects.toThrow(
            `device "nosuch0" does not exist in network namespace "${sb.hostNs}"`,
        );
    });
});
