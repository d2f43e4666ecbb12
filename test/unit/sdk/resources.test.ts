/**
 * The SDK classes under Pulumi's mocks: type tokens, the hidden logicalName input, and that the
 * provider Pulumi serializes into the state is the thin shim, not the implementation.
 */
import * as pulumi from "@pulumi/pulumi";
import { assertNodeVersion } from "../../../sdk/nodeVersion";
import { beforeAll, describe, expect, it } from "vitest";
import * as sdk from "../../../sdk";

const registered: { type: string; name: string; inputs: Record<string, any> }[] = [];

beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs } };
            },
            call: () => ({}),
        },
        "project",
        "stack",
        false,
    );
});

/** How many stack traces with at least one frame are formatted while `make` runs. */
function tracesWithFrames(make: () => void): number {
    const original = Error.prepareStackTrace;
    let count = 0;
    Error.prepareStackTrace = (err, frames) => {
        if (frames.length > 0) count += 1;
        return original ? original(err, frames) : `${err}`;
    };
    try {
        make();
    } finally {
        Error.prepareStackTrace = original;
    }
    return count;
}

function output<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

describe("SDK resources", () => {
    it("register without stack traces for their properties' promises, and put the program's limit back", async () => {
        const saved = Error.stackTraceLimit;
        try {
            Error.stackTraceLimit = 17;
            const ns = new sdk.NetworkNamespace("traces", { name: "traces" });
            expect(Error.stackTraceLimit).toBe(17);
            // Even when Pulumi's constructor throws (here: no name for the URN).
            expect(() => new sdk.Bridge("", { name: "br9" })).toThrow(/name/);
            expect(Error.stackTraceLimit).toBe(17);
            // Pulumi's own source positions take their trace with no limit: the resource still has one.
            expect(await output(ns.name)).toBe("traces");
            // Stack traces taken while a resource registers: Pulumi's own source position (it lifts the
            // limit for that one), and none of the promises' traces, which a plain dynamic resource takes.
            const nothing = { create: async () => ({ id: "x", outs: {} }) };
            class Plain extends pulumi.dynamic.Resource {}
            const plain = tracesWithFrames(() => new Plain(nothing, "plain", { name: "plain", alias: undefined }));
            const ours = tracesWithFrames(() => new sdk.NetworkNamespace("ours", { name: "ours" }));
            expect(plain).toBeGreaterThan(4);
            expect(ours).toBeLessThanOrEqual(1);
        } finally {
            Error.stackTraceLimit = saved;
        }
    });

    it("register with readable type tokens and pass their inputs along", async () => {
        const ns = new sdk.NetworkNamespace("c1", { name: "c1" });
        const br = new sdk.Bridge("br0", { name: "br0", mtu: 1400 });
        const v = new sdk.VethPair("c1-veth", { name: "veth-c1", master: br.name, peer: { name: "eth0", netns: ns.name } });
        new sdk.Address("gw", { device: br.name, address: "10.0.0.1/24" });
        new sdk.Route("c1-default", { destination: "default", gateway: "10.0.0.1", netns: ns.name });
        new sdk.NatRule("egress", { type: "masquerade", source: "10.0.0.0/24", outInterface: "eth0" });
        new sdk.Sysctl("fwd", { key: "net.ipv4.ip_forward", value: 1 });
        expect(await output(v.name)).toBe("veth-c1");
        expect(await output(br.mtu)).toBe(1400);
        const types = registered.map((r) => r.type);
        for (const kind of ["NetworkNamespace", "Bridge", "VethPair", "Address", "Route", "NatRule", "Sysctl"]) {
            expect(types).toContain(`pulumi-nodejs:dynamic/overlay:${kind}`);
        }
        const veth = registered.find((r) => r.name === "c1-veth")!;
        expect(veth.inputs).toMatchObject({ logicalName: "c1-veth", name: "veth-c1", master: "br0", peer: { name: "eth0", netns: "c1" } });
    });

    it("store their provider as one line that requires the kind's shim from the installed package", async () => {
        const veth = registered.find((r) => r.name === "c1-veth")!;
        expect(veth.inputs.__provider).toBe('exports.handler = () => require("pulumi-overlay/dist/providers/shims/veth.js");\n');
        const endpoint = new sdk.Endpoint("c2", { namespace: "c2", bridge: "br0", subnet: "10.0.0.0/24" });
        await output(endpoint.namespace);
        expect(registered.find((r) => r.name === "c2")!.inputs.__provider).toContain('require("pulumi-overlay/dist/providers/shims/endpoint.js")');
    });
});

describe("the Node.js version", () => {
    it("is refused below 22, saying what to do", () => {
        expect(() => assertNodeVersion("20.19.2")).toThrow(/needs Node.js >= 22 .* this is 20.19.2: install a newer Node/);
        expect(() => assertNodeVersion("22.0.0")).not.toThrow();
        expect(() => assertNodeVersion("24.21.0")).not.toThrow();
    });
});
