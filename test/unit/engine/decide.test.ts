import { describe, expect, it } from "vitest";
import { changedKeys, decide, inputsFrom, keepsObject, pendingWarning, withIgnoredChanges } from "../../engine/decide";

const none = { changes: "none" as const, replaces: [], deleteBeforeReplace: false };
const options = { replaceOnChanges: [], deleteBeforeReplace: false, deleteBeforeReplaceDefined: false };

describe("the engine's step decision", () => {
    it("follows the provider's diff: none is same, some without replaces an update, with replaces a replacement", () => {
        expect(decide({ a: 1 }, { a: 1 }, none, options)).toEqual({ op: "same" });
        expect(decide({ a: 1 }, { a: 2 }, { changes: "some", replaces: [], deleteBeforeReplace: false }, options)).toEqual({ op: "update", keys: ["a"] });
        expect(decide({ a: 1 }, { a: 2 }, { changes: "some", replaces: ["a"], deleteBeforeReplace: true }, options)).toEqual({
            op: "replace",
            replaces: ["a"],
            deleteFirst: true,
        });
    });
    it("compares inputs when the diff is unknown", () => {
        expect(decide({ a: 1 }, { a: 1 }, { ...none, changes: "unknown" }, options)).toEqual({ op: "same" });
        expect(decide({ a: 1 }, { a: 2 }, { ...none, changes: "unknown" }, options).op).toBe("update");
    });
    it("replaceOnChanges forces a replacement of a changed property, or of any with '*'", () => {
        expect(decide({ mtu: 1 }, { mtu: 2 }, none, { ...options, replaceOnChanges: ["mtu"] })).toEqual({
            op: "replace",
            replaces: ["mtu"],
            deleteFirst: false,
        });
        expect(decide({ mtu: 1, up: true }, { mtu: 1, up: false }, none, { ...options, replaceOnChanges: ["mtu"] })).toEqual({ op: "same" });
        expect(decide({ a: 1, logicalName: "x" }, { a: 2, logicalName: "x" }, none, { ...options, replaceOnChanges: ["*"] }).op).toBe("replace");
    });
    it("deleteBeforeReplace is tri-state: the program's when defined, else the provider's", () => {
        const replace = { changes: "some" as const, replaces: ["name"], deleteBeforeReplace: true };
        expect(decide({ name: 1 }, { name: 2 }, replace, options)).toMatchObject({ deleteFirst: true });
        expect(decide({ name: 1 }, { name: 2 }, replace, { ...options, deleteBeforeReplaceDefined: true, deleteBeforeReplace: false })).toMatchObject({
            deleteFirst: false,
        });
        expect(
            decide(
                { name: 1 },
                { name: 2 },
                { ...replace, deleteBeforeReplace: false },
                { ...options, deleteBeforeReplaceDefined: true, deleteBeforeReplace: true },
            ),
        ).toMatchObject({
            deleteFirst: true,
        });
    });
    it("ignoreChanges keeps old values; dependents are found by property dependency; deletes keep what they must", () => {
        expect(withIgnoredChanges({ mtu: 2, up: true }, { mtu: 1, up: false }, ["mtu"])).toEqual({ mtu: 1, up: true });
        expect(withIgnoredChanges({ mtu: 2 }, undefined, ["mtu"])).toEqual({ mtu: 2 });
        expect(inputsFrom({ propertyDependencies: { device: ["urn:v"], netns: ["urn:n"] } }, "urn:v")).toEqual(["device"]);
        expect(inputsFrom({}, "urn:v")).toEqual([]);
        expect(keepsObject({ retainOnDelete: true }, new Set())).toBe(true);
        expect(keepsObject({ deletedWith: "urn:o" }, new Set(["urn:o"]))).toBe(true);
        expect(keepsObject({ deletedWith: "urn:o" }, new Set())).toBe(false);
        expect(changedKeys({ a: 1, __provider: "x" }, { a: 1, b: 2, __provider: "y" })).toEqual(["b"]);
        expect(pendingWarning(["urn:a"])).toMatch(/^warning: 1 create\(s\) .* interrupted: urn:a\./);
    });
});
