import { describe, expect, it } from "vitest";
import { type Subnet, defaultGateway, explicitAddressProblem, hostAddresses, parseSubnet } from "../../../providers/ipam";

const subnet = (text: string) => parseSubnet(text) as Subnet;

describe("IPAM", () => {
    it("parses subnets and refuses what is not one", () => {
        expect(subnet("10.0.0.0/24")).toMatchObject({ family: 4, prefixLength: 24, size: 256n });
        expect(subnet("fd00:1::/64")).toMatchObject({ family: 6, prefixLength: 64 });
        expect(parseSubnet("10.0.0.1/24")).toBe("'10.0.0.1/24' has host bits set; the subnet is 10.0.0.0/24");
        expect(parseSubnet("10.0.0.0/31")).toMatch(/too small/);
        expect(parseSubnet("banana")).toMatch(/not a subnet/);
    });
    it("takes the first host as the gateway", () => {
        expect(defaultGateway(subnet("10.0.0.0/24"))).toBe("10.0.0.1");
        expect(defaultGateway(subnet("fd00:1::/64"))).toBe("fd00:1::1");
    });
    it("checks addresses given by hand", () => {
        const s = subnet("10.0.0.0/24");
        expect(explicitAddressProblem(s, "10.0.0.1", "10.0.0.3")).toBeUndefined();
        expect(explicitAddressProblem(s, "10.0.0.1", "10.0.1.3")).toBe("10.0.1.3 is outside the subnet 10.0.0.0/24");
        expect(explicitAddressProblem(s, "10.0.0.1", "10.0.0.0")).toBe("10.0.0.0 is the network address of 10.0.0.0/24");
        expect(explicitAddressProblem(s, "10.0.0.1", "10.0.0.255")).toBe("10.0.0.255 is the broadcast address of 10.0.0.0/24");
        expect(explicitAddressProblem(s, "10.0.0.1", "10.0.0.1")).toBe("10.0.0.1 is the gateway of 10.0.0.0/24");
        expect(explicitAddressProblem(s, "10.0.0.1", "fd00::1")).toMatch(/outside/);
        expect(explicitAddressProblem(subnet("fd00:1::/64"), "fd00:1::1", "fd00:1::ffff")).toBeUndefined();
    });
    it("walks host addresses in order, without network, broadcast or gateway", () => {
        expect([...hostAddresses(subnet("10.0.0.0/29"), "10.0.0.1")]).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
        expect([...hostAddresses(subnet("10.0.0.0/30"), "10.0.0.2")]).toEqual(["10.0.0.1"]);
        const v6 = hostAddresses(subnet("fd00:1::/64"), "fd00:1::1");
        expect([v6.next().value, v6.next().value]).toEqual(["fd00:1::2", "fd00:1::3"]);
    });
});
