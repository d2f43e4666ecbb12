/**
 * A host whose nftables ruleset drops forwarded traffic in a table of its own (as firewalld and
 * many nftables.conf files do): a BridgeNetwork's up fails, naming the chain and the remedies,
 * instead of going up "successfully" with attachments that cannot reach each other.
 */
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { netnsList, runCommand, toolCommand } from "../../providers/host";
import { run } from "../engine/engine";
import { engineFor } from "../support/engine";
import { describeKernel, useSandbox } from "../support/kernel";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";
import { ping, snapshot } from "../support/sandbox";

const HOSTFW = `table inet hostfw {
  chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; }
}
`;

async function nft(netns: string, ...args: string[]): Promise<string> {
    return (await runCommand(toolCommand(netns, "nft", args))).stdout;
}

describeKernel("a host firewall that drops forwarded traffic", () => {
    const sb = useSandbox();
    let project: string;
    beforeEach(async () => {
        project = makeProject({ copyFrom: path.join(REPO_ROOT, "test/e2e/programs/hostfw") });
        await runCommand({ ...toolCommand(sb.hostNs, "nft", ["-f", "-"]), input: HOSTFW });
    });
    afterEach(() => removeProject(project));

    it("fails the up naming the chain and the remedies; with the remedy applied the network is proved; destroy leaves the host as it was", async () => {
        const engine = engineFor(project, path.join(project, "state.json"), { hostNamespace: sb.hostNs, prefix: `${sb.prefix}-` });
        const before = await snapshot(sb.hostNs);
        const hostfwBefore = await nft(sb.hostNs, "list", "table", "inet", "hostfw");
        const namespacesBefore = netnsList();

        const config = { hostNamespace: sb.hostNs, prefix: `${sb.prefix}-` };
        const up = await run({ operation: "up", programDir: project, stack: "test", stateFile: path.join(project, "state.json"), config, print: () => {} });
        expect(up.ok).toBe(false);
        const error = up.errors.join("\n");
        expect(error).toContain('the network on bridge "brfw" does not pass traffic: a (10.60.0.2) -> b (10.60.0.3) failed');
        expect(error).toContain('"inet hostfw forward" (hook forward, policy drop)');
        expect(error).toContain('nft insert rule inet hostfw forward iifname "brfw" accept');
        expect(await ping(sb.ns("a"), "10.60.0.3", 1)).toBe(false); // what the error said
        expect(await nft(sb.hostNs, "list", "table", "inet", "hostfw")).toBe(hostfwBefore); // not ours: untouched

        // The remedy the error names, then up again: the probe passes.
        await nft(sb.hostNs, "insert", "rule", "inet", "hostfw", "forward", "iifname", "brfw", "accept");
        const again = await engine("up");
        expect(again.outputs.proved).toEqual(["a (10.60.0.2) -> gateway 10.60.0.1", "b (10.60.0.3) -> gateway 10.60.0.1", "a (10.60.0.2) -> b (10.60.0.3)"]);
        expect(await ping(sb.ns("a"), "10.60.0.3")).toBe(true);

        await engine("destroy");
        expect(netnsList()).toEqual(namespacesBefore);
        await nft(sb.hostNs, "delete", "rule", "inet", "hostfw", "forward", "handle", await ruleHandle(sb.hostNs));
        expect(await nft(sb.hostNs, "list", "table", "inet", "hostfw")).toBe(hostfwBefore);
        expect(await snapshot(sb.hostNs)).toEqual(before);
    });

    it("with probe: false the up succeeds and the network stays broken, as documented", async () => {
        const engine = engineFor(project, path.join(project, "state.json"), { hostNamespace: sb.hostNs, prefix: `${sb.prefix}-`, probe: "false" });
        await engine("up");
        expect(await ping(sb.ns("a"), "10.60.0.3", 1)).toBe(false);
        await engine("destroy");
    });
});

/** The handle of the test's own `iifname "brfw" accept` rule in hostfw's forward chain. */
async function ruleHandle(netns: string): Promise<string> {
    const ruleset = JSON.parse(await nft(netns, "-j", "list", "chain", "inet", "hostfw", "forward")) as {
        nftables: { rule?: { handle: number; expr: unknown[] } }[];
    };
    const rule = ruleset.nftables.find((item) => item.rule && JSON.stringify(item.rule.expr).includes("brfw"))?.rule;
    if (!rule) throw new Error("the test's accept rule is not in hostfw forward");
    return String(rule.handle);
}
