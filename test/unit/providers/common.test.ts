import { describe, expect, it } from "vitest";
import { autoName, chooseName, diffProperties, ownerMark } from "../../../providers/common";
import { UNKNOWN } from "../../../providers/validate";
import { provider as namespaceProvider } from "../../../providers/namespace";

describe("names", () => {
    it("derives a name from the logical name within 15 bytes", () => {
        for (const logical of ["br", "lab-bridge", "a-very-long-logical-name", "Weird Name!", "---", "ü"]) {
            const name = autoName(logical);
            expect(Buffer.byteLength(name)).toBeLessThanOrEqual(15);
            expect(name).toMatch(/^[a-z0-9_.-]*[a-z0-9_]-[0-9a-f]{4}$/);
        }
        expect(autoName("lab-bridge")).toMatch(/^lab-bridge-[0-9a-f]{4}$/);
    });
    it("keeps an automatic name across runs and takes a declared one", () => {
        expect(chooseName({ name: "br-1234" }, { logicalName: "br" })).toBe("br-1234");
        expect(chooseName({ name: "br-1234" }, { logicalName: "br", name: "br0" })).toBe("br0");
        expect(chooseName({}, { logicalName: "br" })).toMatch(/^br-[0-9a-f]{4}$/);
    });
    it("check keeps the namespace's automatic name", async () => {
        const first = await namespaceProvider.check!({}, { logicalName: "c1" });
        const again = await namespaceProvider.check!(first.inputs, { logicalName: "c1" });
        expect(again.inputs.name).toBe(first.inputs.name);
    });
    it("marks carry the logical name and a fresh token", () => {
        const a = ownerMark("lab bridge/1");
        expect(a).toMatch(/^pulumi-overlay:lab_bridge_1:[0-9a-f]{8}$/);
        expect(ownerMark("lab bridge/1")).not.toBe(a);
    });
});

describe("diffProperties", () => {
    const rules = { replace: ["name", "netns"], update: ["mtu", "up"], optional: ["mtu"], deleteBeforeReplace: true };
    it("finds nothing when nothing changed", () => {
        expect(diffProperties({ name: "br0", up: true, mtu: 1500 }, { name: "br0", up: true }, rules)).toEqual({
            changes: false,
            replaces: [],
            deleteBeforeReplace: false,
        });
    });
    it("updates in place", () => {
        expect(diffProperties({ name: "br0", up: true, mtu: 1500 }, { name: "br0", up: true, mtu: 1400 }, rules)).toMatchObject({
            changes: true,
            replaces: [],
        });
    });
    it("replaces, deleting first", () => {
        expect(diffProperties({ name: "br0", up: true }, { name: "br1", up: true }, rules)).toEqual({
            changes: true,
            replaces: ["name"],
            deleteBeforeReplace: true,
        });
        expect(diffProperties({ name: "br0", netns: "a" }, { name: "br0" }, rules).replaces).toEqual(["netns"]);
    });
    it("compares nested values whatever their key order", () => {
        const peerRules = { ...rules, replace: ["peer"] };
        expect(diffProperties({ peer: { name: "eth0", netns: "c1" } }, { peer: { netns: "c1", name: "eth0" } }, peerRules).changes).toBe(false);
        expect(diffProperties({ peer: { name: "eth0", netns: "c1" } }, { peer: { netns: "c2", name: "eth0" } }, peerRules).replaces).toEqual(["peer"]);
    });
    it("treats a value unknown during preview as a change", () => {
        expect(diffProperties({ name: "br0" }, { name: UNKNOWN }, rules).replaces).toEqual(["name"]);
        expect(
            diffProperties({ name: "br0", peer: { name: "x" } }, { name: "br0", peer: { name: UNKNOWN } }, { ...rules, replace: ["peer"] }).replaces,
        ).toEqual(["peer"]);
    });
});
