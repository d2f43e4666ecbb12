/**
 * One network across two hosts (examples/multi-host), through the test engine, each host a namespace on an underlay
 * bridge running its own sshd in a private mount namespace (its own /run/netns and records). The
 * engine runs inside the underlay namespace, the only place that reaches the hosts. A container on
 * host a pings one on host b over VXLAN, a full-size packet with the don't-fragment bit passes at
 * the network's MTU, a second up changes nothing, a preview opens no SSH connection, drift on one
 * host is repaired, a host that is down fails the up naming it and the next up converges, and
 * destroy leaves every host as it was.
 */
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ipCommand, runCommand } from "../../providers/host";
import { describeKernel, useSandbox } from "../support/kernel";
import { ping } from "../support/sandbox";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";
import { type SshHost, createUnderlay, engineArgs, makeClientKey, runEngineIn, startSshHost } from "../support/sshHost";

type Props = Record<string, any>;

describeKernel("an OverlayNetwork across two hosts over SSH", () => {
    const sb = useSandbox();
    let project: string;
    let hosts: SshHost[] = [];
    let underlay: string;

    beforeEach(async () => {
        project = makeProject({ copyFrom: path.join(REPO_ROOT, "examples/multi-host") });
        underlay = sb.ns("u");
        await createUnderlay(underlay);
        const client = makeClientKey();
        hosts = [
            await startSshHost(underlay, sb.ns("a"), "a", "192.0.2.11", 0, client),
            await startSshHost(underlay, sb.ns("b"), "b", "192.0.2.12", 1, client),
        ];
    });
    afterEach(async () => {
        for (const h of hosts) await h.remove();
        removeProject(project);
    });

    /** What a host's machine holds: its namespaces, and its root namespace's links (no counters). */
    const state = (h: SshHost) => ({
        namespaces: h.exec(["ip", "netns", "list"]).trim(),
        links: (JSON.parse(h.exec(["ip", "-j", "link", "show"])) as Props[]).map((l) => `${l.ifname} ${l.mtu} ${l.operstate}`).sort(),
        records: h.exec(["sh", "-c", "find /run/pulumi-overlay -type f | sort"]).trim(),
    });
    /** True when a ping is answered; `count` echo requests 0.5 s apart, any answer will do. */
    const pingFrom = (h: SshHost, ns: string, address: string, size?: number, count = 1) => {
        try {
            const sized = size ? ["-M", "do", "-s", String(size)] : [];
            h.exec(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", String(count), "-i", "0.5", "-W", "2", ...sized, address]);
            return true;
        } catch {
            return false;
        }
    };

    it("pings across the hosts, keeps the MTU, opens no connection at preview, repairs drift, survives a host that is down, and destroys cleanly", async () => {
        const hostConfig = (h: SshHost) => ({ address: h.address, user: "root", hostKey: h.connection.hostKey });
        const config = {
            hosts: JSON.stringify({ a: hostConfig(hosts[0]), b: hostConfig(hosts[1]) }),
            privateKey: hosts[0].connection.privateKey,
            containers: JSON.stringify({ c1: "a", c2: "b" }),
            egress: JSON.stringify([
                { host: "a", outInterface: "eth0" },
                { host: "b", outInterface: "eth0" },
            ]),
            subnet: "10.77.0.0/24",
            vni: "77",
            prefix: `${sb.prefix}-`,
        };
        const args = (operation: string, extra: string[] = []) => engineArgs(operation, project, "multi", config, extra);
        const before = hosts.map(state);

        // A preview opens no SSH connection.
        const preview = await runEngineIn(underlay, args("preview"));
        expect(preview.code, preview.lines.join("\n")).toBe(0);
        expect(hosts.map((h) => h.logins())).toEqual([0, 0]);

        const up = await runEngineIn(underlay, args("up", ["--skip-preview"]));
        expect(up.code, up.lines.join("\n")).toBe(0);
        expect(up.summary).toMatchObject({ create: expect.any(Number) });
        // One connection per host per provider process, shared by every resource on it.
        expect(hosts.map((h) => h.logins())).toEqual([1, 1]);
        const c1 = `${sb.prefix}-c1`;
        expect(hosts[0].exec(["ip", "netns", "list"])).toContain(c1);
        expect(hosts[1].exec(["ip", "netns", "list"])).toContain(`${sb.prefix}-c2`);
        expect(hosts[0].exec(["ip", "-n", c1, "-br", "addr", "show", "eth0"])).toContain("10.77.0.2/24");
        expect(pingFrom(hosts[0], c1, "10.77.0.3")).toBe(true);
        expect(pingFrom(hosts[0], c1, "10.77.0.3", 1450 - 28)).toBe(true);
        expect(pingFrom(hosts[0], c1, "10.77.0.3", 1450 - 27)).toBe(false);
        // The pool of the network's addresses is on the first host only.
        expect(hosts[0].exec(["sh", "-c", "ls /run/pulumi-overlay/ipam/*/overlay-77 | sort"]).trim().split("\n")).toEqual(["10.77.0.2", "10.77.0.3"]);

        // Egress on both hosts: c1 and c2 reach the underlay's 192.0.2.1, which has no route to the
        // overlay, each through its own host's MASQUERADE (the gateways share one MAC). Isolation:
        // traffic routed into the overlay from elsewhere is dropped.
        expect(pingFrom(hosts[0], c1, "192.0.2.1")).toBe(true);
        expect(pingFrom(hosts[1], `${sb.prefix}-c2`, "192.0.2.1")).toBe(true);
        for (const h of hosts) expect(h.exec(["iptables-save", "-c", "-t", "nat"])).toMatch(/\[[1-9]\d*:\d+\] -A POSTROUTING -s 10\.77\.0\.0\/24 -o eth0/);
        expect(hosts[0].exec(["ip", "-br", "link", "show", "ovl77"])).toContain("02:6f:76:00:00:4d");
        expect(hosts[1].exec(["ip", "-br", "link", "show", "ovl77"])).toContain("02:6f:76:00:00:4d");
        await runCommand(ipCommand(underlay, ["route", "add", "10.77.0.0/24", "via", "192.0.2.11"]));
        expect(await ping(underlay, "10.77.0.3", 1)).toBe(false);
        expect(await ping(underlay, "10.77.0.1", 1)).toBe(true); // the gateway itself is the host's, not forwarded

        const again = await runEngineIn(underlay, args("up", ["--skip-preview"]));
        expect(again.summary).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0 });

        // Drift on host b: its VXLAN device lost its FDB entry. Refresh reports it; up repairs it.
        hosts[1].exec(["bridge", "fdb", "del", "00:00:00:00:00:00", "dev", "vx77", "dst", "192.0.2.11"]);
        expect(pingFrom(hosts[0], c1, "10.77.0.3")).toBe(false);
        const refresh = await runEngineIn(underlay, args("refresh", ["--skip-preview"]));
        expect(refresh.lines.join("\n")).toContain("lab-b-vxlan");
        const repair = await runEngineIn(underlay, args("up", ["--skip-preview"]));
        expect(repair.code, repair.lines.join("\n")).toBe(0);
        expect(repair.summary).toMatchObject({ update: 1 });
        expect(pingFrom(hosts[0], c1, "10.77.0.3")).toBe(true);

        // Host b is down while a container is added there: the up fails naming it. Back up (its
        // namespaces gone, as after a reboot), a refresh and the next up converge.
        await hosts[1].stop();
        const three = ["--config", `containers=${JSON.stringify({ c1: "a", c2: "b", c3: "b" })}`];
        const down = await runEngineIn(underlay, args("up", ["--skip-preview", ...three]));
        expect(down.code).not.toBe(0);
        expect(down.lines.join("\n")).toMatch(/host "192\.0\.2\.12": connection refused/);
        await hosts[1].start();
        const refreshed = await runEngineIn(underlay, args("refresh", ["--skip-preview", ...three]));
        expect(refreshed.code, refreshed.lines.join("\n")).toBe(0);
        const back = await runEngineIn(underlay, args("up", ["--skip-preview", ...three]));
        expect(back.code, back.lines.join("\n")).toBe(0);
        // c2 came back with the same MAC (derived from its address), so c1's neighbour entry for it
        // is still right: without that, c1 went on sending to the old MAC for longer than 15 s.
        expect(pingFrom(hosts[0], c1, "10.77.0.3")).toBe(true);
        expect(pingFrom(hosts[0], c1, "10.77.0.4")).toBe(true);

        const destroy = await runEngineIn(underlay, args("destroy", three));
        expect(destroy.code, destroy.lines.join("\n")).toBe(0);
        expect(hosts.map(state)).toEqual(before);
    }, 180_000);

    it("with egress through one host only, a container on the other host leaves through it, across the VXLAN", async () => {
        const hostConfig = (h: SshHost) => ({ address: h.address, user: "root", hostKey: h.connection.hostKey });
        const config = {
            hosts: JSON.stringify({ a: hostConfig(hosts[0]), b: hostConfig(hosts[1]) }),
            privateKey: hosts[0].connection.privateKey,
            containers: JSON.stringify({ c1: "a", c2: "b" }),
            egress: JSON.stringify({ host: "a", outInterface: "eth0" }),
            subnet: "10.78.0.0/24",
            vni: "78",
            prefix: `${sb.prefix}-`,
        };
        const up = await runEngineIn(underlay, engineArgs("up", project, "one", config, ["--skip-preview"]));
        expect(up.code, up.lines.join("\n")).toBe(0);
        expect(pingFrom(hosts[1], `${sb.prefix}-c2`, "192.0.2.1")).toBe(true);
        expect(hosts[0].exec(["iptables-save", "-c", "-t", "nat"])).toMatch(/\[[1-9]\d*:\d+\] -A POSTROUTING -s 10\.78\.0\.0\/24 -o eth0/);
        expect(hosts[1].exec(["iptables-save", "-t", "nat"])).not.toContain("10.78.0.0/24"); // no NAT on host b
        const destroy = await runEngineIn(underlay, engineArgs("destroy", project, "one", config));
        expect(destroy.code, destroy.lines.join("\n")).toBe(0);
    }, 120_000);
});
