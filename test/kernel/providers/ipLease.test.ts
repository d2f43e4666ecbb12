import { expect, it } from "vitest";
import { provider } from "../../../providers/ipLease";
import { created, expectGone } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";

describeKernel("IpLease on the host", () => {
    const sb = useSandbox();

    it("leases the lowest free addresses, never the gateway, and keeps them when others go", async () => {
        const lease = (name: string, extra: object = {}) =>
            created(provider, { logicalName: name, subnet: "10.0.0.0/29", pool: "br0", netns: sb.hostNs, ...extra });
        const a = await lease("a");
        const b = await lease("b");
        expect([a.outs.ip, b.outs.ip]).toEqual(["10.0.0.2", "10.0.0.3"]);
        expect(a.outs).toMatchObject({ gateway: "10.0.0.1", cidr: "10.0.0.2/29", family: 4 });
        expect((await provider.read!(a.id, a.outs)).props).toEqual(a.outs);
        await provider.delete!(a.id, a.outs);
        await expectGone(provider, a.id, a.outs);
        const c = await lease("c", { reserved: ["10.0.0.2"] });
        expect(c.outs.ip).toBe("10.0.0.4"); // .2 is reserved for an address given by hand, .3 is b's
        expect((await lease("d", { address: "10.0.0.2" })).outs.ip).toBe("10.0.0.2");
        await expect(lease("e", { address: "10.0.0.3" })).rejects.toThrow(/address 10.0.0.3 in 10.0.0.0\/29 is already leased \(by pulumi-overlay:b:/);
        await lease("f");
        await lease("g");
        await expect(lease("h")).rejects.toThrow("subnet 10.0.0.0/29 has no free address: all 5 host addresses (the gateway 10.0.0.1 aside) are leased");
        expect(b.outs.ip).toBe("10.0.0.3");
    });

    it("IPv6 pools", async () => {
        const a = await created(provider, { logicalName: "a", subnet: "fd00:1::/64", pool: "br6", netns: sb.hostNs });
        expect(a.outs).toMatchObject({ gateway: "fd00:1::1", ip: "fd00:1::2", cidr: "fd00:1::2/64", family: 6 });
        await provider.delete!(a.id, a.outs);
    });

    it("refuses bad input in check", async () => {
        const failures = async (news: object) => (await provider.check!({}, { logicalName: "x", pool: "p", ...news })).failures?.map((f) => f.property);
        expect(await failures({ subnet: "10.0.0.5/24" })).toEqual(["subnet"]);
        expect(await failures({ subnet: "10.0.0.0/31" })).toEqual(["subnet"]);
        expect(await failures({ subnet: "10.0.0.0/24", address: "10.0.1.2" })).toEqual(["address"]);
        expect(await failures({ subnet: "10.0.0.0/24", address: "10.0.0.255" })).toEqual(["address"]);
        expect(await failures({ subnet: "10.0.0.0/24", address: "10.0.0.1" })).toEqual(["address"]);
        expect(await failures({ subnet: "10.0.0.0/24", gateway: "10.9.0.1" })).toEqual(["gateway"]);
    });
});
