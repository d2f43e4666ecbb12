/**
 * BridgeNetwork through the test engine, on the kernel in a sandbox: containers that reach each
 * other and the fake internet (also where FORWARD's policy is DROP), two networks isolated and
 * then allowed, a published port answering from the fake internet and from the host, and a
 * destroy that leaves the host as it was.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ETC_NETNS, netnsList, runCommand, toolCommand } from "../../providers/host";
import { engineFor, stepsOf } from "../support/engine";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";
import { INTERNET, type Sandbox, ping, resolveName, snapshot } from "../support/sandbox";
import { describeKernel, useSandbox } from "../support/kernel";
import { startTcpServer, tcpRequest } from "../support/tcp";

describeKernel("BridgeNetwork through the test engine", () => {
    const sb = useSandbox();
    let project: string;
    beforeEach(async () => {
        project = makeProject({ copyFrom: path.join(REPO_ROOT, "examples/bridge-network") });
    });
    afterEach(async () => {
        removeProject(project);
    });

    const setup = (s: Sandbox, firewallBackend: string) =>
        engineFor(project, path.join(project, "state.json"), {
            sandbox: "false",
            hostNamespace: s.hostNs,
            uplink: s.uplink,
            prefix: `${s.prefix}-`,
            firewallBackend,
        });

    // iptables; Docker's FORWARD policy DROP (br_netfilter is on), where auto keeps to iptables; nftables.
    for (const [policy, backend] of [
        ["ACCEPT", "iptables"],
        ["DROP", "auto"],
        ["ACCEPT", "nftables"],
    ] as const) {
        it(`three containers, isolation, allowFrom, a published port, drift, destroy (FORWARD policy ${policy}, backend ${backend})`, async () => {
            await runCommand(toolCommand(sb.hostNs, "iptables", ["-w", "-P", "FORWARD", policy]));
            const engine = setup(sb, backend);
            const before = await snapshot(sb.hostNs);
            const namespacesBefore = netnsList().filter((name) => name.startsWith(sb.prefix));
            const [c1, c2, c3, db] = ["c1", "c2", "c3", "db"].map((n) => sb.ns(n));

            // A preview first, as pulumi up does: unknown addresses pass every check, nothing is made.
            const preview = await engine("preview");
            expect(stepsOf(preview, "create")).toEqual(expect.arrayContaining(["HostsFile front-names", "NetworkProbe front-probe", "Endpoint front-c1"]));
            expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);

            const up = await engine("up");
            expect(up.outputs.addresses).toEqual({ c1: "10.0.0.2", c2: "10.0.0.3", c3: "10.0.0.4", db: "10.1.0.2" });
            // The rules are where the backend says, and only there.
            const saved = (await runCommand(toolCommand(sb.hostNs, "iptables-save", []))).stdout;
            const ours = await runCommand(toolCommand(sb.hostNs, "nft", ["list", "table", "inet", "pulumi_overlay"])).then(
                (out) => out.stdout,
                () => "",
            );
            expect(saved.includes("MASQUERADE")).toBe(backend !== "nftables");
            expect(ours.includes("masquerade")).toBe(backend === "nftables");
            if (backend === "nftables") expect(ours).toMatch(/oifname "br-front" jump OVL-/);
            for (const [from, to] of [
                [c1, "10.0.0.3"],
                [c1, "10.0.0.4"],
                [c2, "10.0.0.4"],
                [c3, "10.0.0.2"],
                [c1, "10.0.0.1"],
                [db, "10.1.0.1"],
            ]) {
                expect(await ping(from, to), `${from} -> ${to}`).toBe(true);
            }
            // Names: attachments find each other by attachment name and by namespace name.
            expect(await resolveName(c1, "c2")).toBe("10.0.0.3");
            expect(await resolveName(c3, db)).toBe(undefined); // another network's attachment
            expect(await resolveName(db, db)).toBe("10.1.0.2");
            expect(await runCommand({ argv: ["ip", "netns", "exec", c1, "ping", "-c", "1", "-W", "2", "c3"] })).toMatchObject({ stdout: /10\.0\.0\.4/ });
            expect(existsSync("/etc/hosts") ? readFileSync("/etc/hosts", "utf8") : "").not.toContain(c1);
            // Out through NAT, to the fake internet and beyond.
            expect(await ping(c1, INTERNET.gateway)).toBe(true);
            expect(await ping(c3, INTERNET.server)).toBe(true);
            // The back network has no egress, and the networks are isolated from each other.
            expect(await ping(db, INTERNET.gateway, 1)).toBe(false);
            expect(await ping(c1, "10.1.0.2", 1)).toBe(false);
            expect(await ping(db, "10.0.0.2", 1)).toBe(false);

            // A published port: 8080 on the host side reaches c1:80, from outside and from the host.
            const server = await startTcpServer(c1, 80, "hello from c1");
            try {
                expect(await tcpRequest(sb.internetNs, INTERNET.uplinkAddress, 8080)).toBe("hello from c1");
                expect(await tcpRequest(sb.hostNs, INTERNET.uplinkAddress, 8080)).toBe("hello from c1");
                expect(await tcpRequest(sb.internetNs, INTERNET.uplinkAddress, 8081, 1000)).toMatch(/^error:/);
            } finally {
                await server.stop();
            }
            expect(up.outputs.frontDiagram.mermaid).toContain("published 8080->80/tcp");

            // Allowed: front may now open connections into back; not the other way.
            const allow = await engine("up", { allowFrontToBack: "true" });
            expect(stepsOf(allow, "update")).toEqual(["FirewallChain back-in"]);
            expect(stepsOf(allow, "create")).toEqual(["Sysctl back-forwarding"]);
            expect(await ping(c1, "10.1.0.2")).toBe(true);
            expect(await ping(db, "10.0.0.2", 1)).toBe(false);

            // Adding or removing attachments never renumbers the others.
            if (policy === "ACCEPT") {
                const more = await engine("up", { allowFrontToBack: "true", extra: "c4" });
                expect(more.outputs.addresses).toEqual({ c1: "10.0.0.2", c2: "10.0.0.3", c3: "10.0.0.4", c4: "10.0.0.5", db: "10.1.0.2" });
                const fewer = await engine("up", { allowFrontToBack: "true", extra: "c4", dropC3: "true" });
                expect(fewer.outputs.addresses).toEqual({ c1: "10.0.0.2", c2: "10.0.0.3", c4: "10.0.0.5", db: "10.1.0.2" });
                expect(await ping(sb.ns("c4"), "10.0.0.2")).toBe(true);
                const reuse = await engine("up", { allowFrontToBack: "true", extra: "c4,c5", dropC3: "true" });
                expect(reuse.outputs.addresses).toMatchObject({ c4: "10.0.0.5", c5: "10.0.0.4" }); // the lowest free
                expect(stepsOf(reuse, "update")).toContain("HostsFile front-names");
                expect(await resolveName(c1, "c5")).toBe("10.0.0.4");
                expect(await resolveName(c1, "c3")).toBe(undefined);

                // Drift: c2 loses its address and route, c4's namespace goes. Refresh says so (and
                // nothing else: the bridges keep their MAC addresses as ports come and go); up repairs.
                await runCommand(toolCommand(c2, "ip", ["addr", "flush", "dev", "eth0"]));
                await runCommand({ argv: ["ip", "netns", "delete", sb.ns("c4")] });
                const settings = { allowFrontToBack: "true", extra: "c4,c5", dropC3: "true" };
                const refresh = await engine("refresh", settings);
                expect(
                    refresh.steps
                        .filter((s) => s.op === "refresh")
                        .map((s) => `${s.name} [${s.keys}]`)
                        .sort(),
                ).toEqual(["front-c2 [drift]", "front-c4 [drift]"]);
                const repair = await engine("up", settings);
                expect(stepsOf(repair, "update")).toEqual(["Endpoint front-c2", "Endpoint front-c4"]);
                expect(await ping(c2, "10.0.0.2")).toBe(true);
                expect(await ping(sb.ns("c4"), INTERNET.gateway)).toBe(true);
                const again = await engine("up", settings);
                expect(again.summary).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0 });

                if (backend === "nftables") {
                    // Someone flushes the whole ruleset: refresh reports our rules gone, up puts them back.
                    await runCommand(toolCommand(sb.hostNs, "nft", ["flush", "ruleset"]));
                    expect(await ping(c1, INTERNET.server, 1)).toBe(false);
                    const flushed = await engine("refresh", settings);
                    expect(stepsOf(flushed, "delete")).toEqual([
                        "FirewallChain back-in",
                        "FirewallChain back-out",
                        "FirewallChain front-in",
                        "FirewallChain front-out",
                        "NatRule front-c1-tcp8080-in",
                        "NatRule front-c1-tcp8080-local",
                        "NatRule front-masquerade",
                    ]);
                    const restored = await engine("up", settings);
                    expect(stepsOf(restored, "create")).toEqual(stepsOf(flushed, "delete"));
                    expect(await ping(c1, INTERNET.server)).toBe(true);
                    expect(await ping(db, "10.0.0.2", 1)).toBe(false); // isolation is back too
                }
            }

            await engine("destroy");
            expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);
            expect(existsSync(path.join(ETC_NETNS, c1))).toBe(false);
            expect(await snapshot(sb.hostNs)).toEqual(before);
        });
    }
});

describeKernel("an IPv6 BridgeNetwork through the test engine", () => {
    const sb = useSandbox();
    let project: string;
    beforeEach(async () => {
        project = makeProject({ copyFrom: path.join(REPO_ROOT, "test/e2e/programs/ipv6") });
    });
    afterEach(async () => {
        removeProject(project);
    });

    for (const backend of ["iptables", "nftables"] as const) {
        it(`leases IPv6 addresses, routes through the gateway, isolates with ${backend}, and cleans up`, async () => {
            const engine = engineFor(project, path.join(project, "state.json"), { hostNamespace: sb.hostNs, prefix: `${sb.prefix}-`, backend });
            const before = await snapshot(sb.hostNs);
            const up = await engine("up");
            expect(up.outputs.addresses).toEqual({ a: "fd00:10::2", b: "fd00:10::b", gateway: "fd00:10::1" });
            expect(await ping(sb.ns("a"), "fd00:10::b")).toBe(true);
            expect(await ping(sb.ns("b"), "fd00:10::1")).toBe(true);
            if (backend === "iptables") {
                const rules = (await runCommand(toolCommand(sb.hostNs, "ip6tables", ["-w", "-S", "FORWARD"]))).stdout;
                expect(rules).toMatch(/-A FORWARD -o br6 .*-j OVL-/);
            } else {
                const table = (await runCommand(toolCommand(sb.hostNs, "nft", ["list", "table", "inet", "pulumi_overlay"]))).stdout;
                expect(table).toMatch(/meta nfproto ipv6 oifname "br6" jump OVL-/);
            }
            await engine("destroy");
            expect(await snapshot(sb.hostNs)).toEqual(before);
            expect((await runCommand(toolCommand(sb.hostNs, "ip6tables", ["-w", "-S", "FORWARD"]))).stdout).not.toContain("br6");
        });
    }
});
