import { expect, it } from "vitest";
import { runCommand, toolCommand } from "../../../providers/host";
import type { NatRuleSpec } from "../../../providers/nat/backend";
import { chainOf, iptablesRuleArgs, savedRule } from "../../../providers/nat/iptables";
import { provider } from "../../../providers/natRule";
import { created, expectGone, natRules, replaced } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";

describeKernel("NatRule on the kernel", () => {
    const sb = useSandbox();

    it("create, read, replace, delete, delete again", async () => {
        const args = { logicalName: "egress", type: "masquerade", source: "10.0.0.0/24", outInterface: "uplink", netns: sb.hostNs };
        const { id, outs } = await created(provider, args);
        expect(outs).toMatchObject({ table: "nat", chain: "POSTROUTING", family: 4 });
        expect(await natRules(sb.hostNs)).toContain(`-A POSTROUTING -s 10.0.0.0/24 -o uplink -m comment --comment "${outs.comment}" -j MASQUERADE`);
        expect((await provider.read!(id, outs)).props).toEqual(outs);
        const next = await replaced(provider, id, outs, { ...args, source: "10.0.1.0/24" }, ["source"]);
        const rules = await natRules(sb.hostNs);
        expect(rules).not.toContain("10.0.0.0/24");
        expect(rules).toContain(`-A POSTROUTING -s 10.0.1.0/24 -o uplink -m comment --comment "${next.outs.comment}" -j MASQUERADE`);
        await provider.delete!(next.id, next.outs);
        expect(await natRules(sb.hostNs)).not.toContain("-A POSTROUTING");
        await provider.delete!(next.id, next.outs);
    });

    it("SNAT and DNAT land in their chains with their targets", async () => {
        const snat = await created(provider, {
            logicalName: "s",
            type: "snat",
            source: "10.0.0.0/24",
            outInterface: "uplink",
            toAddress: "203.0.113.2",
            netns: sb.hostNs,
        });
        const dnat = await created(provider, {
            logicalName: "d",
            type: "dnat",
            inInterface: "uplink",
            protocol: "tcp",
            port: 8080,
            toAddress: "10.0.0.2",
            toPort: 80,
            netns: sb.hostNs,
        });
        const rules = await natRules(sb.hostNs);
        expect(rules).toContain(`-A POSTROUTING -s 10.0.0.0/24 -o uplink -m comment --comment "${snat.outs.comment}" -j SNAT --to-source 203.0.113.2`);
        expect(rules).toContain(
            `-A PREROUTING -i uplink -p tcp -m tcp --dport 8080 -m comment --comment "${dnat.outs.comment}" -j DNAT --to-destination 10.0.0.2:80`,
        );
        await provider.delete!(snat.id, snat.outs);
        await provider.delete!(dnat.id, dnat.outs);
        expect(await natRules(sb.hostNs)).not.toMatch(/-A (PRE|POST)ROUTING/);
    });

    it("reports a rule removed out of band as gone", async () => {
        const { id, outs } = await created(provider, {
            logicalName: "egress",
            type: "masquerade",
            source: "10.0.0.0/24",
            outInterface: "uplink",
            netns: sb.hostNs,
        });
        await runCommand(toolCommand(sb.hostNs, "iptables", ["-w", "-t", "nat", "-F", "POSTROUTING"]));
        await expectGone(provider, id, outs);
        await provider.delete!(id, outs);
    });

    it("refuses an identical rule that is not ours, and never removes it", async () => {
        await runCommand(toolCommand(sb.hostNs, "iptables", ["-w", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/24", "-o", "uplink", "-j", "MASQUERADE"]));
        const before = await natRules(sb.hostNs);
        await expect(
            created(provider, { logicalName: "egress", type: "masquerade", source: "10.0.0.0/24", outInterface: "uplink", netns: sb.hostNs }),
        ).rejects.toThrow(/identical masquerade rule without a pulumi-overlay mark already exists/);
        await provider.delete!("x", {
            logicalName: "egress",
            type: "masquerade",
            source: "10.0.0.0/24",
            outInterface: "uplink",
            netns: sb.hostNs,
            comment: "pulumi-overlay:egress:00000000",
        });
        expect(await natRules(sb.hostNs)).toBe(before);
    });

    it("reads rules the way iptables-save prints them, for every kind of rule", async () => {
        const specs: Omit<NatRuleSpec, "netns" | "comment">[] = [
            { type: "masquerade", family: 4, source: "10.0.0.0/24", outInterface: "uplink" },
            { type: "masquerade", family: 4, protocol: "udp", port: 53, toPort: 1000 },
            { type: "snat", family: 4, source: "10.0.0.5", destination: "10.1.0.0/16", protocol: "tcp", port: 80, toAddress: "203.0.113.2", toPort: 8080 },
            { type: "dnat", family: 4, inInterface: "uplink", protocol: "sctp", port: 9, destinationLocal: true, toAddress: "10.0.0.2" },
            { type: "dnat", family: 4, chain: "OUTPUT", protocol: "tcp", port: 8080, destinationLocal: true, toAddress: "10.0.0.2", toPort: 80 },
            { type: "snat", family: 6, source: "fd00:0:0::5", toAddress: "fd00:0::1" },
            { type: "dnat", family: 6, protocol: "tcp", port: 8080, toAddress: "fd00:0::2", toPort: 80 },
        ];
        for (const [i, spec] of specs.entries()) {
            const rule = { ...spec, netns: sb.hostNs, comment: `pulumi-overlay:kind${i}:0000000${i}` } as NatRuleSpec;
            const program = rule.family === 6 ? "ip6tables" : "iptables";
            await runCommand(toolCommand(sb.hostNs, program, ["-w", "-t", "nat", "-A", chainOf(rule), ...iptablesRuleArgs(rule)]));
            const saved = (await runCommand(toolCommand(sb.hostNs, `${program}-save`, ["-t", "nat"]))).stdout;
            expect(saved.split("\n"), JSON.stringify(spec)).toContain(savedRule(rule));
        }
    });

    it("adds and deletes many rules in few processes, and a rule gone out of band does not fail the others", async () => {
        const args = (i: number) => ({
            logicalName: `p${i}`,
            type: "dnat",
            protocol: "tcp",
            port: 10000 + i,
            toAddress: `10.0.0.${i + 2}`,
            toPort: 80,
            destinationLocal: true,
            netns: sb.hostNs,
        });
        const made = await Promise.all(Array.from({ length: 12 }, (_, i) => created(provider, args(i))));
        let rules = await natRules(sb.hostNs);
        for (const m of made) expect(rules).toContain(`--comment "${m.outs.comment}"`);
        const reads = await Promise.all(made.map((m) => provider.read!(m.id, m.outs)));
        expect(reads.map((r) => r.id)).toEqual(made.map((m) => m.id));

        // Two go out of band; a changed rule that kept its comment is not ours as declared.
        for (const m of made.slice(0, 2)) {
            await runCommand(toolCommand(sb.hostNs, "iptables", ["-w", "-t", "nat", "-D", "PREROUTING", ...iptablesRuleArgs(m.outs as NatRuleSpec)]));
        }
        await runCommand(
            toolCommand(sb.hostNs, "iptables", [
                "-w",
                "-t",
                "nat",
                "-A",
                "PREROUTING",
                "-p",
                "tcp",
                "-m",
                "tcp",
                "--dport",
                "9999",
                "-m",
                "comment",
                "--comment",
                made[1].outs.comment,
                "-j",
                "DNAT",
                "--to-destination",
                "10.0.0.99",
            ]),
        );
        const after = await Promise.all(made.map((m) => provider.read!(m.id, m.outs)));
        expect(after.map((r) => r.id ?? "")).toEqual(made.map((m, i) => (i < 2 ? "" : m.id)));

        await Promise.all(made.map((m) => provider.delete!(m.id, m.outs)));
        rules = await natRules(sb.hostNs);
        for (const m of made.slice(2)) expect(rules).not.toContain(`--comment "${m.outs.comment}"`);
        expect(rules).toContain("--dport 9999"); // not the declared rule: left alone
    });
});
