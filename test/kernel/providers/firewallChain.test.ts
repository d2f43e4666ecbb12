import { expect, it } from "vitest";
import { runCommand, toolCommand } from "../../../providers/host";
import { provider } from "../../../providers/firewallChain";
import { created, expectGone, updated } from "../../support/lifecycle";
import type { Sandbox } from "../../support/sandbox";
import { describeKernel, useSandbox } from "../../support/kernel";

async function filterRules(netns: string): Promise<string[]> {
    return (await runCommand(toolCommand(netns, "iptables", ["-w", "-S"]))).stdout.split("\n");
}

describeKernel("FirewallChain on the kernel", () => {
    const sb = useSandbox();

    const args = (s: Sandbox) => ({
        logicalName: "in",
        name: "OVL-TEST",
        netns: s.hostNs,
        jump: { from: "FORWARD", position: "first", outInterface: "br0" },
        rules: [{ state: ["established", "related"], action: "accept" }, { source: "10.1.0.0/24", action: "accept" }, { action: "drop" }],
    });

    it("create, read, update, drift and repair, delete, delete again", async () => {
        const before = await filterRules(sb.hostNs);
        const { id, outs } = await created(provider, args(sb));
        const rules = await filterRules(sb.hostNs);
        const mark = `--comment "${outs.comment}"`;
        expect(rules).toContain(`-A FORWARD -o br0 -m comment ${mark} -j OVL-TEST`);
        expect(rules.filter((l) => l.startsWith("-A OVL-TEST"))).toEqual([
            `-A OVL-TEST -m conntrack --ctstate RELATED,ESTABLISHED -m comment ${mark} -j ACCEPT`,
            `-A OVL-TEST -s 10.1.0.0/24 -m comment ${mark} -j ACCEPT`,
            `-A OVL-TEST -m comment ${mark} -j DROP`,
        ]);
        expect((await provider.read!(id, outs)).props).toEqual(outs);

        const next = await updated(provider, id, outs, { ...args(sb), rules: [{ action: "accept" }] });
        expect((await filterRules(sb.hostNs)).filter((l) => l.startsWith("-A OVL-TEST"))).toEqual([`-A OVL-TEST -m comment ${mark} -j ACCEPT`]);

        // Drift: the jump removed by hand.
        await runCommand(
            toolCommand(sb.hostNs, "iptables", ["-w", "-D", "FORWARD", "-o", "br0", "-m", "comment", "--comment", outs.comment, "-j", "OVL-TEST"]),
        );
        const drifted = await provider.read!(id, next);
        expect(drifted.props.inSync).toBe(false);
        const diff = await provider.diff!(id, drifted.props, (await provider.check!(drifted.inputs, { ...args(sb), rules: [{ action: "accept" }] })).inputs);
        expect(diff).toMatchObject({ changes: true, replaces: [] });
        await provider.update!(id, drifted.props, { ...next });
        expect(await filterRules(sb.hostNs)).toContain(`-A FORWARD -o br0 -m comment ${mark} -j OVL-TEST`);

        await provider.delete!(id, next);
        expect(await filterRules(sb.hostNs)).toEqual(before);
        await provider.delete!(id, next);
        await expectGone(provider, id, next);
    });

    it("refuses a chain that already exists, and leaves it", async () => {
        await runCommand(toolCommand(sb.hostNs, "iptables", ["-w", "-N", "OVL-TEST"]));
        await expect(created(provider, args(sb))).rejects.toThrow(
            `firewall chain "OVL-TEST" already exists in the filter table in network namespace "${sb.hostNs}"`,
        );
        await provider.delete!("x", { ...args(sb), family: 4, comment: "pulumi-overlay:in:00000000" });
        expect(await filterRules(sb.hostNs)).toContain("-N OVL-TEST");
    });

    it("refuses bad rules in check", async () => {
        const result = await provider.check!(
            {},
            { ...args(sb), rules: [{ action: "allow" }, { source: "10.0.0.1/24", action: "accept" }, { port: 80, action: "accept" }] },
        );
        expect(result.failures?.map((f) => f.property)).toEqual(["rules[0].action", "rules[1].source", "rules[2].port"]);
    });
});
