/**
 * Hosts with firewalls of their own, through the test engine (previews first, as `pulumi up`):
 * - an nftables ruleset whose forward chain drops in a table of its own (as firewalld and many
 *   nftables.conf files do): the preview fails naming the chain and the remedies and nothing is
 *   made; with `firewall.acceptIn` every ping passes, a reload of the host's ruleset is drift the
 *   next up repairs, and destroy leaves the foreign table byte for byte as it was;
 * - a host without the iptables commands (a PATH without them, for the engine and the
 *   providers): `auto` writes nftables rules, and destroy leaves the host as it was.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { netnsList, runCommand, toolCommand } from "../../providers/host";
import { run } from "../engine/engine";
import { engineFor, stepsOf } from "../support/engine";
import { describeKernel, useSandbox } from "../support/kernel";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";
import { INTERNET, ping, snapshot } from "../support/sandbox";

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

    const upWithPreview = (config: Record<string, string> = {}) =>
        run({
            operation: "up",
            programDir: project,
            stack: "test",
            stateFile: path.join(project, "state.json"),
            config: { hostNamespace: sb.hostNs, prefix: `${sb.prefix}-`, ...config },
            print: () => {},
        });

    it("the preview fails naming the chain and the remedies, and nothing is made", async () => {
        const before = await snapshot(sb.hostNs);
        const namespacesBefore = netnsList().filter((name) => name.startsWith(sb.prefix));
        const up = await upWithPreview();
        expect(up.ok).toBe(false);
        const error = up.errors.join("\n");
        expect(error).toContain('the network on bridge "brfw" would not pass traffic');
        expect(error).toContain('"inet hostfw forward" (hook forward, policy drop)');
        expect(error).toContain('firewall: { acceptIn: ["inet hostfw forward"] }');
        expect(error).toContain('nft insert rule inet hostfw forward iifname "brfw" accept');
        expect(error).toContain("br_netfilter is on here");
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);
        expect(await snapshot(sb.hostNs)).toEqual(before);
    });

    it("with acceptIn every ping passes; a reload of the host's ruleset is drift the next up repairs; destroy leaves the chain byte for byte", async () => {
        const engine = engineFor(project, path.join(project, "state.json"), {
            hostNamespace: sb.hostNs,
            prefix: `${sb.prefix}-`,
            acceptIn: "inet hostfw forward",
        });
        const before = await snapshot(sb.hostNs);
        const hostfwBefore = await nft(sb.hostNs, "list", "table", "inet", "hostfw");
        const namespacesBefore = netnsList().filter((name) => name.startsWith(sb.prefix));

        const up = await upWithPreview({ acceptIn: "inet hostfw forward" });
        expect(up.errors).toEqual([]);
        expect(up.outputs.proved).toEqual(["a (10.60.0.2) -> gateway 10.60.0.1", "b (10.60.0.3) -> gateway 10.60.0.1", "a (10.60.0.2) -> b (10.60.0.3)"]);
        expect(await ping(sb.ns("a"), "10.60.0.3")).toBe(true);
        // Our two rules sit at the top of their chain, with our mark; the network's own rules are nftables ones (auto).
        const chain = JSON.parse(await nft(sb.hostNs, "-j", "list", "chain", "inet", "hostfw", "forward")) as { nftables: { rule?: { comment?: string } }[] };
        const comments = chain.nftables.flatMap((item) => (item.rule ? [item.rule.comment ?? ""] : []));
        expect(comments.slice(0, 2)).toEqual([
            expect.stringMatching(/^pulumi-overlay:fw-accept-inet-hostfw-forward:/),
            expect.stringMatching(/^pulumi-overlay:/),
        ]);
        expect(comments[2]).toBe("");
        expect(await nft(sb.hostNs, "list", "table", "inet", "pulumi_overlay")).toContain("jump");

        // A reload (the owner rebuilds its table): our rules are gone, refresh says so, up puts them back.
        await nft(sb.hostNs, "delete", "table", "inet", "hostfw");
        await runCommand({ ...toolCommand(sb.hostNs, "nft", ["-f", "-"]), input: HOSTFW });
        expect(await ping(sb.ns("a"), "10.60.0.3", 1)).toBe(false);
        const refresh = await engine("refresh");
        expect(refresh.steps.filter((s) => s.op === "delete" || s.op === "refresh").map((s) => s.name)).toContain("fw-accept-inet-hostfw-forward");
        const repair = await engine("up");
        expect(stepsOf(repair, "create")).toEqual(["AcceptIn fw-accept-inet-hostfw-forward"]);
        expect(await ping(sb.ns("a"), "10.60.0.3")).toBe(true);

        await engine("destroy");
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);
        expect(await nft(sb.hostNs, "list", "table", "inet", "hostfw")).toBe(hostfwBefore);
        expect(await snapshot(sb.hostNs)).toEqual(before);
    });

    it("a rule of the host's own that names the bridge makes the drop uncertain: the preview passes and the probe proves the network", async () => {
        await nft(sb.hostNs, "insert", "rule", "inet", "hostfw", "forward", "iifname", "brfw", "accept");
        const engine = engineFor(project, path.join(project, "state.json"), { hostNamespace: sb.hostNs, prefix: `${sb.prefix}-` });
        const up = await upWithPreview();
        expect(up.errors).toEqual([]);
        expect(up.outputs.proved).toHaveLength(3);
        await engine("destroy");
    });

    it("with probe: false the up succeeds and the network stays broken, as documented", async () => {
        const engine = engineFor(project, path.join(project, "state.json"), { hostNamespace: sb.hostNs, prefix: `${sb.prefix}-`, probe: "false" });
        await engine("up");
        expect(await ping(sb.ns("a"), "10.60.0.3", 1)).toBe(false);
        await engine("destroy");
    });
});

describeKernel("a host without the iptables commands", () => {
    const sb = useSandbox();
    let project: string;
    let bin: string;
    let savedPath: string | undefined;
    beforeEach(() => {
        project = makeProject({ copyFrom: path.join(REPO_ROOT, "test/e2e/programs/hostfw") });
        // Every program of the PATH but iptables*: the host layer finds no iptables, as on an nftables-only host.
        bin = mkdtempSync(path.join(os.tmpdir(), "overlay-noiptables-"));
        savedPath = process.env.PATH;
        const dirs = (savedPath ?? "").split(":").filter((d) => d !== "");
        for (const dir of [...dirs].reverse()) {
            let names: string[] = [];
            try {
                names = readdirSync(dir);
            } catch {
                continue;
            }
            for (const name of names.filter((n) => !/^(ip6?tables|iptables-|ip6tables-|xtables)/.test(n))) {
                rmSync(path.join(bin, name), { force: true });
                symlinkSync(path.join(dir, name), path.join(bin, name));
            }
        }
        process.env.PATH = bin;
    });
    afterEach(() => {
        process.env.PATH = savedPath;
        rmSync(bin, { recursive: true, force: true });
        removeProject(project);
    });

    it("auto writes nftables rules; egress works; destroy leaves the host as it was", async () => {
        expect(await runCommand(toolCommand(sb.hostNs, "iptables", ["-S"])).catch((err: Error) => err.message)).toMatch(/"iptables" is not installed/);
        process.env.PATH = savedPath;
        const before = await snapshot(sb.hostNs);
        process.env.PATH = bin;
        const engine = engineFor(project, path.join(project, "state.json"), { hostNamespace: sb.hostNs, prefix: `${sb.prefix}-`, egress: sb.uplink });
        const up = await engine("up");
        expect(up.outputs.proved).toHaveLength(3);
        const table = await nft(sb.hostNs, "list", "table", "inet", "pulumi_overlay");
        expect(table).toContain("chain filter.forward");
        expect(table).toMatch(/oifname "uplink" masquerade comment "pulumi-overlay:fw-masquerade:/);
        expect(await ping(sb.ns("a"), INTERNET.server)).toBe(true); // out through the nftables masquerade
        await engine("destroy");
        process.env.PATH = savedPath;
        expect(await snapshot(sb.hostNs)).toEqual(before);
    });
});
