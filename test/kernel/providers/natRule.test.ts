import { expect, it } from "vitest";
import { runCommand, toolCommand } from "../../../providers/host";
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
        const snat = await created(provider, { logicalName: "s", type: "snat", source: "10.0.0.0/24", outInterface: "uplink", toAddress: "203.0.113.2", netns: sb.hostNs });
        const dnat = await created(provider, { logicalName: "d", type: "dnat", inInterface: "uplink", protocol: "tcp", port: 8080, toAddress: "10.0.0.2", toPort: 80, netns: sb.hostNs });
        const rules = await natRules(sb.hostNs);
        expect(rules).toContain(`-A POSTROUTING -s 10.0.0.0/24 -o uplink -m comment --comment "${snat.outs.comment}" -j SNAT --to-source 203.0.113.2`);
        expect(rules).toContain(`-A PREROUTING -i uplink -p tcp -m tcp --dport 8080 -m comment --comment "${dnat.outs.comment}" -j DNAT --to-destination 10.0.0.2:80`);
        await provider.delete!(snat.id, snat.outs);
        await provider.delete!(dnat.id, dnat.outs);
        expect(await natRules(sb.hostNs)).not.toMatch(/-A (PRE|POST)ROUTING/);
    });

    it("reports a rule removed out of band as gone", async () => {
        const { id, outs } = await created(provider, { logicalName: "egress", type: "masquerade", source: "10.0.0.0/24", outInterface: "uplink", netns: sb.hostNs });
        await runCommand(toolCommand(sb.hostNs, "iptables", ["-w", "-t", "nat", "-F", "POSTROUTING"]));
        await expectGone(provider, id, outs);
        await provider.delete!(id, outs);
    });

    it("refuses an identical rule that is not ours, and never removes it", async () => {
        await runCommand(toolCommand(sb.hostNs, "iptables", ["-w", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/24", "-o", "uplink", "-j", "MASQUERADE"]));
        const before = await natRules(sb.hostNs);
        await expect(created(provider, { logicalName: "egress", type: "masquerade", source: "10.0.0.0/24", outInterface: "uplink", netns: sb.hostNs })).rejects.toThrow(
            /identical masquerade rule without a pulumi-overlay mark already exists/,
        );
        await provider.delete!("x", { logicalName: "egress", type: "masquerade", source: "10.0.0.0/24", outInterface: "uplink", netns: sb.hostNs, comment: "pulumi-overlay:egress:00000000" });
        expect(await natRules(sb.hostNs)).toBe(before);
    });
});
