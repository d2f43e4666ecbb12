import { describe, expect, it } from "vitest";
import { parseArgs, skipCheckpointsFromEnv } from "../../engine/cli";
import { changedKeys, urnOf } from "../../engine/engine";

describe("test engine", () => {
    it("names resources as the engine does", () => {
        const stack = "urn:pulumi:dev::lab::pulumi:pulumi:Stack::lab-dev";
        expect(urnOf("lab", "dev", "pulumi:pulumi:Stack", "lab-dev", "")).toBe(stack);
        expect(urnOf("lab", "dev", "pulumi-nodejs:dynamic/overlay:Bridge", "br0", stack)).toBe(
            "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/overlay:Bridge::br0",
        );
        const component = "urn:pulumi:dev::lab::overlay:index:BridgeNetwork::net";
        expect(urnOf("lab", "dev", "pulumi-nodejs:dynamic/overlay:Bridge", "net-br", component)).toBe(
            "urn:pulumi:dev::lab::overlay:index:BridgeNetwork$pulumi-nodejs:dynamic/overlay:Bridge::net-br",
        );
    });
    it("lists changed keys, ignoring the serialized provider", () => {
        expect(changedKeys({ a: 1, b: 2, __provider: "x" }, { a: 1, b: 3, c: 4, __provider: "y" })).toEqual(["b", "c"]);
    });
    it("parses its command line", () => {
        expect(parseArgs(["up", "examples/x", "--stack", "dev", "--state", "s.json", "--config", "mtu=1400", "--config", "a:b=c=d"])).toEqual({
            operation: "up",
            programDir: "examples/x",
            stack: "dev",
            stateFile: "s.json",
            config: { mtu: "1400", "a:b": "c=d" },
            skipPreview: false,
            clearPendingCreates: false,
        });
        expect(parseArgs(["refresh", "x", "--stack", "s", "--state", "f", "--clear-pending-creates"]).clearPendingCreates).toBe(true);
        expect(parseArgs(["up", "x", "--stack", "s", "--state", "f", "--skip-preview"]).skipPreview).toBe(true);
        expect(() => parseArgs(["deploy", "x", "--stack", "s", "--state", "f"])).toThrow(/usage/);
        expect(() => parseArgs(["up", "x", "--stack", "s"])).toThrow(/usage/);
        expect(() => parseArgs(["up", "x", "--stack", "s", "--state", "f", "--config", "novalue"])).toThrow(/key=value/);
    });
    it("skips checkpoints as the CLI does: PULUMI_SKIP_CHECKPOINTS counts only with PULUMI_EXPERIMENTAL", () => {
        expect(skipCheckpointsFromEnv({ PULUMI_EXPERIMENTAL: "true", PULUMI_SKIP_CHECKPOINTS: "true" })).toBe(true);
        expect(skipCheckpointsFromEnv({ PULUMI_EXPERIMENTAL: "1", PULUMI_SKIP_CHECKPOINTS: "TRUE" })).toBe(true);
        expect(skipCheckpointsFromEnv({ PULUMI_SKIP_CHECKPOINTS: "true" })).toBe(false);
        expect(skipCheckpointsFromEnv({ PULUMI_EXPERIMENTAL: "true", PULUMI_SKIP_CHECKPOINTS: "false" })).toBe(false);
        expect(skipCheckpointsFromEnv({})).toBe(false);
    });
});
