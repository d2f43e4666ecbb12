import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { RecordDir } from "../../../providers/host";
import {
    type Subnet,
    claimAddress,
    defaultGateway,
    explicitAddressProblem,
    hostAddresses,
    leasedByMark,
    parseSubnet,
    releaseLease,
} from "../../../providers/ipam";

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
        expect([...hostAddresses(subnet("10.0.0.0/29"), "10.0.0.1", 4n)]).toEqual(["10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    });
});

describe("finding a lease by its mark", () => {
    // A pool in a folder of its own, as the providers keep them under the state directory.
    const withPool = (work: (pool: RecordDir, dir: string) => void) => {
        const dir = mkdtempSync(path.join(tmpdir(), "ipam-"));
        try {
            work(RecordDir.at(dir), dir);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    };
    const request = { subnet: "10.9.0.0/24", gateway: "10.9.0.1" };

    it("finds records made before the first look, by others since, and by this process; not released ones", () => {
        withPool((pool, dir) => {
            writeFileSync(path.join(dir, "10.9.0.7"), "mark-a");
            expect(leasedByMark(pool, "10.9.0.0/24", "mark-a")?.cidr).toBe("10.9.0.7/24");
            expect(leasedByMark(pool, "10.9.0.0/24", "mark-b")).toBeUndefined();
            // Another process claims an address after this one looked.
            writeFileSync(path.join(dir, "10.9.0.9"), "mark-b");
            expect(leasedByMark(pool, "10.9.0.0/24", "mark-b")?.ip).toBe("10.9.0.9");
            // This process claims one.
            const claimed = claimAddress(pool, request, "mark-c");
            expect(leasedByMark(pool, "10.9.0.0/24", "mark-c")).toEqual(claimed);
            // Released (by anyone): no longer found.
            rmSync(path.join(dir, "10.9.0.7"));
            expect(leasedByMark(pool, "10.9.0.0/24", "mark-a")).toBeUndefined();
            pool.release(claimed.ip);
            expect(leasedByMark(pool, "10.9.0.0/24", "mark-c")).toBeUndefined();
        });
    });

    it("searches on from where its last search ended, and from the start after a release or when it runs out", () => {
        withPool((pool, dir) => {
            const small = { subnet: "10.9.0.0/29", gateway: "10.9.0.1" }; // hosts .2 to .6
            writeFileSync(path.join(dir, "10.9.0.2"), "someone else");
            const ips = ["a", "b", "c"].map((mark) => claimAddress(pool, small, mark).ip);
            expect(ips).toEqual(["10.9.0.3", "10.9.0.4", "10.9.0.5"]);
            // Released here: the lowest free address again.
            releaseLease(pool, "10.9.0.4", "b");
            expect(claimAddress(pool, small, "d").ip).toBe("10.9.0.4");
            // A release by another process below where the search stands is found once the rest is taken.
            rmSync(path.join(dir, "10.9.0.2"));
            expect(claimAddress(pool, small, "e").ip).toBe("10.9.0.6");
            expect(claimAddress(pool, small, "f").ip).toBe("10.9.0.2");
            expect(() => claimAddress(pool, small, "g")).toThrow(/no free address: all 5 host addresses/);
            // A release with another lease's mark leaves the record.
            releaseLease(pool, "10.9.0.4", "not d");
            expect(pool.read("10.9.0.4")).toBe("d");
        });
    });
});
