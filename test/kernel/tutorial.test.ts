/**
 * The tutorial's topology, built from the providers inside a sandbox: two "containers" on a
 * bridge with a gateway, then forwarding and MASQUERADE to reach the fake internet.
 *
 *   [c1] eth0 10.0.0.2 ─┐
 *                       ├─ br0 10.0.0.1 [host] uplink 203.0.113.2 ── 203.0.113.1 [internet]
 *   [c2] eth0 10.0.0.3 ─┘
 */
import type * as pulumi from "@pulumi/pulumi";
import { expect, it } from "vitest";
import { netnsExists, runCommand, toolCommand } from "../../providers/host";
import { provider as address } from "../../providers/address";
import { provider as bridge } from "../../providers/bridge";
import { provider as namespace } from "../../providers/namespace";
import { provider as natRule } from "../../providers/natRule";
import { provider as route } from "../../providers/route";
import { provider as sysctl } from "../../providers/sysctl";
import { provider as veth } from "../../providers/veth";
import { created } from "../support/lifecycle";
import { INTERNET, ping, snapshot } from "../support/sandbox";
import { describeKernel, useSandbox } from "../support/kernel";

type Made = { provider: pulumi.dynamic.ResourceProvider; id: string; outs: Record<string, any> };

/** Packets counted by a rule in the internet namespace's INPUT chain that matches the source. */
async function echoRequestsFrom(internetNs: string, source: string): Promise<number> {
    const { stdout } = await runCommand(toolCommand(internetNs, "iptables", ["-w", "-L", "INPUT", "-v", "-x", "-n"]));
    const line = stdout.split("\n").find((l) => l.includes(source) && l.includes("icmp"));
    return line ? Number(line.trim().split(/\s+/)[0]) : Number.NaN;
}

describeKernel("the tutorial's overlay, built from the providers", () => {
    const sb = useSandbox();

    it("connects two containers, reaches the internet only after forwarding and NAT, and tears down to the same host", async () => {
        const host = sb.hostNs;
        const before = await snapshot(host);
        const made: Made[] = [];
        const make = async (provider: pulumi.dynamic.ResourceProvider, news: Record<string, unknown>) => {
            const { id, outs } = await created(provider, news);
            made.push({ provider, id, outs });
            return outs;
        };

        const br0 = await make(bridge, { logicalName: "br0", name: "br0", netns: host });
        await make(address, { logicalName: "gw", device: br0.name, address: "10.0.0.1/24", netns: host });
        for (const [c, ip] of [
            ["c1", "10.0.0.2"],
            ["c2", "10.0.0.3"],
        ] as const) {
            const ns = await make(namespace, { logicalName: c, name: sb.ns(c) });
            const pair = await make(veth, {
                logicalName: `${c}-veth`,
                name: `veth-${c}`,
                netns: host,
                master: br0.name,
                peer: { name: "eth0", netns: ns.name },
            });
            await make(address, { logicalName: `${c}-addr`, device: pair.peerName, address: `${ip}/24`, netns: ns.name });
            await make(route, { logicalName: `${c}-default`, destination: "default", gateway: "10.0.0.1", netns: ns.name });
        }
        const c1 = sb.ns("c1");

        expect(await ping(c1, "10.0.0.3")).toBe(true);
        expect(await ping(c1, "10.0.0.1")).toBe(true);
        expect(await ping(sb.ns("c2"), "10.0.0.2")).toBe(true);
        expect(await ping(c1, INTERNET.gateway, 1)).toBe(false);

        // Count echo requests reaching the internet, by source address.
        for (const source of [INTERNET.uplinkAddress, "10.0.0.0/24"]) {
            await runCommand(toolCommand(sb.internetNs, "iptables", ["-w", "-A", "INPUT", "-s", source, "-p", "icmp", "--icmp-type", "echo-request"]));
        }
        await make(sysctl, { logicalName: "forwarding", key: "net.ipv4.ip_forward", value: 1, netns: host });
        await make(natRule, { logicalName: "egress", type: "masquerade", source: "10.0.0.0/24", outInterface: sb.uplink, netns: host });

        expect(await ping(c1, INTERNET.gateway)).toBe(true);
        expect(await ping(c1, INTERNET.server)).toBe(true);
        expect(await echoRequestsFrom(sb.internetNs, INTERNET.uplinkAddress)).toBe(2);
        expect(await echoRequestsFrom(sb.internetNs, "10.0.0.0/24")).toBe(0);

        for (const { provider, id, outs } of made.reverse()) {
            await provider.delete!(id, outs);
        }
        expect(netnsExists(c1)).toBe(false);
        expect(netnsExists(sb.ns("c2"))).toBe(false);
        expect(await snapshot(host)).toEqual(before);
    });
});
