/**
 * The Pulumi CLI does not recover a create that a crash cut off: it keeps it as pending and, on the
 * next up, checks and creates the resource again. With marks derived from the resource's identity
 * (sdk/provider.ts: ownershipMark), that second create carries the same mark as the first, finds
 * what the first left, and takes it over: nothing is refused, duplicated or leaked. Something that
 * carries another mark is still refused.
 */
import { expect, it } from "vitest";
import { runCommand, toolCommand } from "../../providers/host";
import { provider as address } from "../../providers/address";
import { provider as bridge } from "../../providers/bridge";
import { provider as endpoint } from "../../providers/endpoint";
import { provider as firewallChain } from "../../providers/firewallChain";
import { provider as ipLease } from "../../providers/ipLease";
import { provider as namespace } from "../../providers/namespace";
import { provider as natRule } from "../../providers/natRule";
import { provider as route } from "../../providers/route";
import { provider as sysctl } from "../../providers/sysctl";
import { provider as veth } from "../../providers/veth";
import { describeKernel, useSandbox } from "../support/kernel";
import { checked, ipOutOfBand, natRules } from "../support/lifecycle";
import { snapshot } from "../support/sandbox";

type Provider = typeof bridge;
type Props = Record<string, any>;

/** Creates twice with the same checked inputs (the second as the CLI's repeat), then deletes. */
async function createTwice(provider: Provider, news: Props): Promise<{ first: Props; second: Props }> {
    const inputs = await checked(provider, news);
    const first = await provider.create(inputs);
    const second = await provider.create(await checked(provider, news));
    expect(second.id).toBe(first.id);
    return { first: first.outs, second: second.outs };
}

describeKernel("a create repeated with the same mark takes over what the first left", () => {
    const sb = useSandbox();

    it("for every kind: no refusal, no duplicate, and one delete leaves the host as before", async () => {
        // A pinned MAC: otherwise the bridge's follows its ports, and the snapshots would differ by it.
        await ipOutOfBand(sb.hostNs, "link", "add", "br-x", "address", "02:00:00:00:00:01", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "link", "set", "br-x", "up");
        // The kernel gives br-x a link-local address and carrier once ports join: not ours to compare.
        const withoutBrX = (state: Awaited<ReturnType<typeof snapshot>>) => ({
            ...state,
            links: state.links.filter((l) => (l as { ifname: string }).ifname !== "br-x"),
            addresses: state.addresses.filter((a) => (a as { ifname: string }).ifname !== "br-x"),
            routes: state.routes.filter((r) => (r as { dev?: string; dst: string }).dev !== "br-x" && !(r as { dst: string }).dst.startsWith("fe80::")),
        });
        const before = withoutBrX(await snapshot(sb.hostNs));
        const host = sb.hostNs;
        // The hidden input the SDK gives every resource: names and mark derive from it.
        const mark = (name: string) => `identity-of-${name}`;
        const cases: [string, Provider, Props][] = [
            ["NetworkNamespace", namespace, { logicalName: "ns", name: sb.ns("n1"), identity: mark("ns") }],
            ["Bridge", bridge, { logicalName: "br", name: "br0", netns: host, mtu: 1400, identity: mark("br") }],
            ["VethPair", veth, { logicalName: "v", name: "v0", netns: host, master: "br-x", peer: { name: "v1", netns: host }, identity: mark("v") }],
            ["Address", address, { logicalName: "a", device: "br-x", address: "10.3.0.1/24", netns: host, identity: mark("a") }],
            ["Route", route, { logicalName: "r", destination: "10.4.0.0/24", gateway: "10.3.0.9", netns: host, identity: mark("r") }],
            [
                "NatRule",
                natRule,
                { logicalName: "nat", type: "masquerade", source: "10.3.0.0/24", outInterface: sb.uplink, netns: host, identity: mark("nat") },
            ],
            ["Sysctl", sysctl, { logicalName: "s", key: "net.ipv4.ip_forward", value: 1, netns: host, identity: mark("s") }],
            ["IpLease", ipLease, { logicalName: "l", subnet: "10.5.0.0/24", pool: "p", netns: host, identity: mark("l") }],
            [
                "FirewallChain",
                firewallChain,
                {
                    logicalName: "fw",
                    name: "RETAKE",
                    netns: host,
                    jump: { from: "FORWARD", position: "last" },
                    rules: [{ action: "accept" }],
                    identity: mark("fw"),
                },
            ],
            ["Endpoint", endpoint, { logicalName: "e", namespace: sb.ns("e1"), bridge: "br-x", subnet: "10.6.0.0/24", netns: host, identity: mark("e") }],
        ];
        const made: [Provider, string, Props][] = [];
        for (const [kind, provider, news] of cases) {
            const { first, second } = await createTwice(provider, news);
            if (kind === "IpLease" || kind === "Endpoint") expect(second.ip, kind).toBe(first.ip);
            made.push([provider, first.id ?? "", second]);
        }
        expect((await natRules(host)).match(/-j MASQUERADE/g)).toHaveLength(1);
        const filter = (await runCommand(toolCommand(host, "iptables-save", ["-t", "filter"]))).stdout;
        expect(filter.match(/-j RETAKE/g)).toHaveLength(1);
        for (const [provider, id, outs] of made.reverse()) await provider.delete!(id, outs);
        expect(withoutBrX(await snapshot(sb.hostNs))).toEqual(before);
    });

    it("something carrying another mark is still refused and left alone", async () => {
        // Another stack's bridge: another identity, so another mark.
        const first = await checked(bridge, { logicalName: "br", name: "br0", netns: sb.hostNs, identity: "stack-a/br" });
        const { outs } = await bridge.create(first);
        const other = await checked(bridge, { logicalName: "br", name: "br0", netns: sb.hostNs, identity: "stack-b/br" });
        expect(other.mark).not.toBe(first.mark);
        await expect(bridge.create(other)).rejects.toThrow(/already exists/);
        expect((await bridge.read!("", outs)).props?.alias).toBe(first.mark);
        await bridge.delete!("", outs);
    });
});
