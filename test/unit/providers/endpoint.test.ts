/** The Endpoint provider's pure parts: default names and the diff rules. */
import { describe, expect, it } from "vitest";
import { hostInterfaceName, provider } from "../../../providers/endpoint";

describe("Endpoint", () => {
    it("names the host end readably when that fits in 15 bytes, else as Docker does", () => {
        expect(hostInterfaceName("lab-c1")).toMatch(/^lab-c1-h-[0-9a-f]{4}$/);
        expect(hostInterfaceName("frontend-network-c1")).toMatch(/^veth[0-9a-f]{11}$/);
        expect(hostInterfaceName("frontend-network-c1")).not.toBe(hostInterfaceName("frontend-network-c1"));
    });

    it("keeps chosen names and the pool on later checks", async () => {
        const first = (await provider.check!({}, { logicalName: "lab-c1", bridge: "br0", subnet: "10.0.0.0/24" })).inputs!;
        expect(first).toMatchObject({ pool: "br0", interfaceName: "eth0", defaultRoute: true, gateway: "10.0.0.1" });
        const again = (await provider.check!(first, { logicalName: "lab-c1", bridge: "br1", subnet: "10.0.0.0/24" })).inputs!;
        expect(again).toMatchObject({ namespace: first.namespace, hostInterface: first.hostInterface, mark: first.mark, pool: "br0", bridge: "br1" });
    });

    it("updates in place what it can, replaces the rest, ignores reservations, and repairs drift", async () => {
        const olds = {
            namespace: "c1",
            bridge: "br0",
            hostInterface: "h1",
            interfaceName: "eth0",
            subnet: "10.0.0.0/24",
            gateway: "10.0.0.1",
            pool: "br0",
            defaultRoute: true,
            reserved: ["10.0.0.9"],
            drift: [],
        };
        const diff = (news: object, from: object = olds) => provider.diff!("c1", from, { ...olds, ...news });
        expect(await diff({})).toMatchObject({ changes: false });
        expect(await diff({ reserved: ["10.0.0.7"] })).toMatchObject({ changes: false });
        expect(await diff({ bridge: "br1" })).toMatchObject({ changes: true, replaces: [] });
        expect(await diff({ mtu: 1400 })).toMatchObject({ changes: true, replaces: [] });
        expect(await diff({ subnet: "10.1.0.0/24" })).toMatchObject({ changes: true, replaces: ["subnet"], deleteBeforeReplace: true });
        expect(await diff({}, { ...olds, drift: ['"eth0" is down'] })).toMatchObject({ changes: true, replaces: [] });
    });
});
