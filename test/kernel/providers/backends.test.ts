/**
 * NatRule and FirewallChain on both backends, judged by traffic: a LAN namespace behind the
 * sandbox's host reaches the internet through masquerade and SNAT (the server reports the address
 * the connection came from), the internet and the host itself reach a LAN server through DNAT, a
 * FirewallChain drops what it says; IPv4 and IPv6. The rules are read back with `nft -j` and
 * `iptables-save`, and removing them leaves the host as it was.
 */
import { beforeEach, expect, it } from "vitest";
import { ipBatchCommand, runCommand, toolCommand } from "../../../providers/host";
import { provider as chainProvider } from "../../../providers/firewallChain";
import { provider as natProvider } from "../../../providers/natRule";
import { created, expectGone } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";
import { INTERNET, snapshot } from "../../support/sandbox";
import { startTcpServer, tcpRequest } from "../../support/tcp";

type Props = Record<string, any>;

/** The LAN behind the host, and the addresses of each family. */
const NET = {
    4: { lan: "10.70.0.0/24", lanHost: "10.70.0.2", gw: "10.70.0.1", uplink: INTERNET.uplinkAddress, extra: "203.0.113.3", server: INTERNET.server },
    6: { lan: "fd70::/64", lanHost: "fd70::2", gw: "fd70::1", uplink: "2001:db8:1::2", extra: "2001:db8:1::3", server: "2001:db8:2::1" },
} as const;

/** Our table as `nft -j` lists it, as [chain, comment] pairs of its rules; [] when absent. */
async function ourRules(netns: string): Promise<[string, string][]> {
    const out = await runCommand(toolCommand(netns, "nft", ["-j", "list", "table", "inet", "pulumi_overlay"])).catch(() => undefined);
    if (!out) return [];
    const items = (JSON.parse(out.stdout) as { nftables: { rule?: { chain: string; comment?: string } }[] }).nftables;
    return items.flatMap((item) => (item.rule ? [[item.rule.chain, item.rule.comment ?? ""] as [string, string]] : []));
}

describeKernel("NatRule and FirewallChain on both backends, by traffic", () => {
    const sb = useSandbox();
    let lan: string;

    beforeEach(async () => {
        lan = sb.ns("lan");
        await runCommand(toolCommand(undefined, "ip", ["netns", "add", lan]));
        for (const ns of [sb.hostNs, sb.internetNs, lan]) {
            await runCommand(toolCommand(ns, "sysctl", ["-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]));
        }
        await runCommand(
            ipBatchCommand(sb.hostNs, [
                ["link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", lan],
                ["addr", "add", `${NET[4].gw}/24`, "dev", "lan0"],
                ["addr", "add", `${NET[6].gw}/64`, "dev", "lan0", "nodad"],
                ["link", "set", "lan0", "up"],
                ["addr", "add", `${NET[6].uplink}/64`, "dev", "uplink", "nodad"],
                ["route", "add", "default", "via", "2001:db8:1::1"],
            ]),
        );
        await runCommand(
            ipBatchCommand(sb.internetNs, [
                ["addr", "add", "2001:db8:1::1/64", "dev", "wan", "nodad"],
                ["addr", "add", `${NET[6].server}/128`, "dev", "lo"],
            ]),
        );
        await runCommand(
            ipBatchCommand(lan, [
                ["link", "set", "lo", "up"],
                ["addr", "add", `${NET[4].lanHost}/24`, "dev", "eth0"],
                ["addr", "add", `${NET[6].lanHost}/64`, "dev", "eth0", "nodad"],
                ["link", "set", "eth0", "up"],
                ["route", "add", "default", "via", NET[4].gw],
                ["route", "add", "default", "via", NET[6].gw],
            ]),
        );
        await runCommand(toolCommand(sb.hostNs, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]));
    });

    for (const backend of ["iptables", "nftables"] as const) {
        for (const family of [4, 6] as const) {
            const net = NET[family];

            it(`${backend}, IPv${family}: masquerade, SNAT and DNAT (from outside and from the host) rewrite real connections`, async () => {
                const before = await snapshot(sb.hostNs);
                const server = await startTcpServer(sb.internetNs, 7000, null);
                const lanServer = await startTcpServer(lan, 80, "hello from the lan");
                const made: { id: string; outs: Props }[] = [];
                try {
                    // Without NAT the internet has no way back to the LAN, and nothing listens on 8080.
                    expect(await tcpRequest(lan, net.server, 7000, 1000)).toMatch(/^error:/);
                    expect(await tcpRequest(sb.internetNs, net.uplink, 8080, 1000)).toMatch(/^error:/);

                    const masquerade = await created(natProvider, {
                        logicalName: "masq",
                        type: "masquerade",
                        source: net.lan,
                        outInterface: "uplink",
                        netns: sb.hostNs,
                        backend,
                    });
                    made.push(masquerade);
                    expect(masquerade.outs.activeBackend).toBe(backend);
                    expect(await tcpRequest(lan, net.server, 7000)).toBe(net.uplink);
                    await natProvider.delete!(masquerade.id, masquerade.outs);
                    made.pop();

                    // A second address on the uplink, after the masquerade (which takes the preferred one).
                    await runCommand(ipBatchCommand(sb.hostNs, [["addr", "add", `${net.extra}/${family === 6 ? 64 : 24}`, "dev", "uplink", "nodad"]]));

                    const snat = await created(natProvider, {
                        logicalName: "snat",
                        type: "snat",
                        source: net.lan,
                        outInterface: "uplink",
                        toAddress: net.extra,
                        netns: sb.hostNs,
                        backend,
                    });
                    made.push(snat);
                    expect(await tcpRequest(lan, net.server, 7000)).toBe(net.extra);

                    const dnat = {
                        type: "dnat",
                        protocol: "tcp",
                        port: 8080,
                        toAddress: net.lanHost,
                        toPort: 80,
                        destinationLocal: true,
                        netns: sb.hostNs,
                        backend,
                    };
                    made.push(await created(natProvider, { logicalName: "dnat-in", ...dnat }));
                    made.push(await created(natProvider, { logicalName: "dnat-local", ...dnat, chain: "OUTPUT" }));
                    expect(await tcpRequest(sb.internetNs, net.uplink, 8080)).toBe("hello from the lan");
                    expect(await tcpRequest(sb.hostNs, net.uplink, 8080)).toBe("hello from the lan");

                    // Each backend writes only where it should.
                    const comments = (await ourRules(sb.hostNs)).map(([chain, comment]) => `${chain} ${comment}`);
                    const saved = (await runCommand(toolCommand(sb.hostNs, family === 6 ? "ip6tables-save" : "iptables-save", ["-t", "nat"]))).stdout;
                    for (const rule of made) {
                        const chain = { POSTROUTING: "nat.postrouting", PREROUTING: "nat.prerouting", OUTPUT: "nat.output" }[rule.outs.chain as string];
                        expect(comments.includes(`${chain} ${rule.outs.comment}`)).toBe(backend === "nftables");
                        expect(saved.includes(`"${rule.outs.comment}"`)).toBe(backend === "iptables");
                        expect((await natProvider.read!(rule.id, rule.outs)).id).toBe(rule.id);
                    }
                } finally {
                    for (const rule of made.reverse()) await natProvider.delete!(rule.id, rule.outs);
                    await runCommand(ipBatchCommand(sb.hostNs, [["addr", "del", `${net.extra}/${family === 6 ? 64 : 24}`, "dev", "uplink"]])).catch(
                        () => undefined,
                    );
                    await server.stop();
                    await lanServer.stop();
                }
                expect(await ourRules(sb.hostNs)).toEqual([]);
                expect(await snapshot(sb.hostNs)).toEqual(before);
            });
        }

        it(`${backend}: a FirewallChain drops and accepts what it says, is rewritten in place, and goes without a trace`, async () => {
            const before = await snapshot(sb.hostNs);
            const egress = await created(natProvider, {
                logicalName: "masq",
                type: "masquerade",
                source: NET[4].lan,
                outInterface: "uplink",
                netns: sb.hostNs,
                backend,
            });
            const server = await startTcpServer(sb.internetNs, 7000, null);
            const args = {
                logicalName: "guard",
                name: "LAN-OUT",
                netns: sb.hostNs,
                backend,
                jump: { from: "FORWARD", position: "first", inInterface: "lan0" },
                rules: [{ protocol: "tcp", port: 7000, action: "drop" }, { action: "accept" }],
            };
            try {
                const chain = await created(chainProvider, args);
                expect(chain.outs.activeBackend).toBe(backend);
                expect(await tcpRequest(sb.ns("lan"), INTERNET.server, 7000, 1000)).toBe("error:TIMEOUT");
                expect((await chainProvider.read!(chain.id, chain.outs)).props).toMatchObject({ inSync: true });

                const news = { ...args, rules: [{ state: ["established", "related", "dnat"], action: "accept" }, { action: "accept" }] };
                const checked = (await chainProvider.check!(chain.outs, news)).inputs;
                expect((await chainProvider.diff!(chain.id, chain.outs, checked)).replaces ?? []).toEqual([]);
                const next = (await chainProvider.update!(chain.id, chain.outs, checked)).outs as Props;
                expect(await tcpRequest(sb.ns("lan"), INTERNET.server, 7000)).toBe(INTERNET.uplinkAddress);
                expect((await chainProvider.read!(chain.id, next)).props).toMatchObject({ inSync: true });

                await chainProvider.delete!(chain.id, next);
                await expectGone(chainProvider, chain.id, next);
            } finally {
                await server.stop();
                await natProvider.delete!(egress.id, egress.outs);
            }
            expect(await ourRules(sb.hostNs)).toEqual([]);
            expect(await snapshot(sb.hostNs)).toEqual(before);
        });
    }

    it("auto chooses nftables where the host's rules are native nftables, iptables otherwise, and keeps to its table", async () => {
        const args = { logicalName: "masq", type: "masquerade", source: NET[4].lan, outInterface: "uplink", netns: sb.hostNs };
        const plain = await created(natProvider, args);
        expect(plain.outs.activeBackend).toBe("iptables");
        await natProvider.delete!(plain.id, plain.outs);

        await runCommand(toolCommand(sb.hostNs, "nft", ["add table inet hostfw; add chain inet hostfw input { type filter hook input priority 0; }"]));
        const native = await created(natProvider, { ...args, logicalName: "masq2" });
        expect(native.outs.activeBackend).toBe("nftables");
        await runCommand(toolCommand(sb.hostNs, "nft", ["delete", "table", "inet", "hostfw"]));
        // Our table is there: the namespace's next rules go to it too.
        const next = await created(natProvider, { ...args, logicalName: "masq3", source: "10.71.0.0/24" });
        expect(next.outs.activeBackend).toBe("nftables");
        await natProvider.delete!(native.id, native.outs);
        await natProvider.delete!(next.id, next.outs);
        expect(await ourRules(sb.hostNs)).toEqual([]);
    });

    it("nftables: a flushed ruleset is drift (read reports the rules gone, a create puts them back); ours only is removed", async () => {
        const rule = await created(natProvider, {
            logicalName: "masq",
            type: "masquerade",
            source: NET[4].lan,
            outInterface: "uplink",
            netns: sb.hostNs,
            backend: "nftables",
        });
        const chain = await created(chainProvider, {
            logicalName: "guard",
            name: "LAN-IN",
            netns: sb.hostNs,
            backend: "nftables",
            jump: { from: "FORWARD", position: "first", outInterface: "lan0" },
            rules: [{ action: "accept" }],
        });
        await runCommand(toolCommand(sb.hostNs, "nft", ["flush", "ruleset"]));
        await expectGone(natProvider, rule.id, rule.outs);
        await expectGone(chainProvider, chain.id, chain.outs);
        const again = await natProvider.create(rule.inputs);
        expect(again.outs.comment).toBe(rule.outs.comment);
        expect((await natProvider.read!(again.id, again.outs as Props)).id).toBe(again.id);
        expect(await tcpRequest(lan, NET[4].server, 7000, 500)).not.toBe("error:TIMEOUT"); // refused by the far end, not dropped

        // A rule someone else put in our table is theirs: the chain holding it is not erased.
        const chain2 = await chainProvider.create(chain.inputs);
        await runCommand(toolCommand(sb.hostNs, "nft", ["add", "rule", "inet", "pulumi_overlay", "LAN-IN", "counter"]));
        await expect(chainProvider.delete!(chain2.id, chain2.outs as Props)).rejects.toThrow(/holds 1 rule\(s\) that are not this resource's/);
        await runCommand(toolCommand(sb.hostNs, "nft", ["flush", "chain", "inet", "pulumi_overlay", "LAN-IN"]));
        await chainProvider.delete!(chain2.id, chain2.outs as Props);
        await natProvider.delete!(again.id, again.outs as Props);
        expect(await ourRules(sb.hostNs)).toEqual([]);
    });
});
