/**
 * The examples, run through the test engine (a real Pulumi program in @pulumi/pulumi's language
 * runtime, the real dynamic-provider server, the packed package), on the real kernel inside a
 * sandbox: preview, up, a second up, a config change, drift with refresh and repair, destroy.
 */
import * as path from "node:path";
import { afterEach, expect, it } from "vitest";
import { netnsList, runCommand } from "../../providers/host";
import { engineFor, stepsOf } from "../support/engine";
import { ipOutOfBand, kernelLink } from "../support/lifecycle";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";
import { INTERNET, ping, snapshot } from "../support/sandbox";
import { timedTransfer } from "../support/tcp";
import { describeKernel, useSandbox } from "../support/kernel";

describeKernel("examples through the test engine", () => {
    const sb = useSandbox();
    let project: string;
    afterEach(async () => {
        if (project) removeProject(project);
    });

    it("tutorial-overlay: preview, up, up again, config change, drift, destroy", async () => {
        project = makeProject({ copyFrom: path.join(REPO_ROOT, "examples/tutorial-overlay") });
        const engine = engineFor(project, path.join(project, "state.json"), {
            sandbox: "false",
            hostNamespace: sb.hostNs,
            uplink: sb.uplink,
            prefix: `${sb.prefix}-`,
        });
        const before = await snapshot(sb.hostNs);
        const namespacesBefore = netnsList().filter((name) => name.startsWith(sb.prefix));
        const [c1, c2] = [sb.ns("c1"), sb.ns("c2")];

        const preview = await engine("preview");
        expect(preview.summary).toEqual({ create: 12, update: 0, replace: 0, delete: 0, same: 0 });
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);
        expect(await snapshot(sb.hostNs)).toEqual(before);

        const up = await engine("up");
        expect(up.summary).toEqual({ create: 12, update: 0, replace: 0, delete: 0, same: 0 });
        expect(up.outputs.namespaces).toEqual([c1, c2]);
        expect(up.outputs.tryNext[0]).toBe(`sudo ip netns exec ${c1} ping -c 1 10.0.0.3`);
        expect(await ping(c1, "10.0.0.3")).toBe(true);
        expect(await ping(c2, "10.0.0.1")).toBe(true);
        expect(await ping(c1, INTERNET.gateway)).toBe(true);
        expect(await ping(c2, INTERNET.server)).toBe(true);

        expect((await engine("up")).summary).toEqual({ create: 0, update: 0, replace: 0, delete: 0, same: 12 });

        const mtu = await engine("up", { mtu: "1400" });
        expect(mtu.summary).toEqual({ create: 0, update: 3, replace: 0, delete: 0, same: 9 });
        expect(stepsOf(mtu, "update")).toEqual(["Bridge br0", "VethPair c1-veth", "VethPair c2-veth"]);
        expect((await kernelLink(sb.hostNs, "br0"))?.mtu).toBe(1400);
        expect((await kernelLink(c2, "eth0"))?.mtu).toBe(1400);

        // Drift: a veth removed by hand takes its address and route along; forwarding switched off.
        await ipOutOfBand(sb.hostNs, "link", "del", "veth-c1");
        await ipOutOfBand(sb.hostNs, "netns", "exec", sb.hostNs, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0");
        expect(await ping(c1, INTERNET.gateway, 1)).toBe(false);
        const refresh = await engine("refresh", { mtu: "1400" });
        expect(stepsOf(refresh, "delete")).toEqual(["Address c1-address", "Route c1-default", "VethPair c1-veth"]);
        expect(refresh.steps.find((s) => s.name === "ip-forward")).toMatchObject({ op: "refresh", keys: ["value"] });
        const repair = await engine("up", { mtu: "1400" });
        expect(stepsOf(repair, "create")).toEqual(["Address c1-address", "Route c1-default", "VethPair c1-veth"]);
        expect(stepsOf(repair, "update")).toEqual(["Sysctl ip-forward"]);
        expect(await ping(c1, INTERNET.gateway)).toBe(true);

        const destroy = await engine("destroy");
        expect(destroy.summary).toEqual({ create: 0, update: 0, replace: 0, delete: 12, same: 0 });
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);
        expect(await snapshot(sb.hostNs)).toEqual(before);
    });

    it("routed-lab: preview, up, up again, a subnet change, drift, destroy", async () => {
        project = makeProject({ copyFrom: path.join(REPO_ROOT, "examples/routed-lab") });
        const engine = engineFor(project, path.join(project, "state.json"), { prefix: `${sb.prefix}-` });
        const namespacesBefore = netnsList().filter((name) => name.startsWith(sb.prefix));
        const [a1, b1, router] = [sb.ns("a1"), sb.ns("b1"), sb.ns("router")];

        expect((await engine("preview")).summary).toEqual({ create: 12, update: 0, replace: 0, delete: 0, same: 0 });
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);

        expect((await engine("up")).summary.create).toBe(12);
        expect(await ping(a1, "10.2.0.2")).toBe(true);
        expect(await ping(b1, "10.1.0.2")).toBe(true);
        expect((await engine("up")).summary.same).toBe(12);

        const moved = await engine("up", { subnetB: "10.3.0.0/24" });
        expect(stepsOf(moved, "replace")).toEqual(["Address b1-address", "Address router-b", "Route a1-to-b", "Route b1-to-a"]);
        expect(moved.summary).toMatchObject({ create: 0, update: 0, delete: 0, same: 8 });
        expect(await ping(a1, "10.3.0.2")).toBe(true);

        await ipOutOfBand(a1, "route", "del", "10.3.0.0/24");
        expect(await ping(a1, "10.3.0.2", 1)).toBe(false);
        const refresh = await engine("refresh", { subnetB: "10.3.0.0/24" });
        expect(stepsOf(refresh, "delete")).toEqual(["Route a1-to-b"]);
        const repair = await engine("up", { subnetB: "10.3.0.0/24" });
        expect(stepsOf(repair, "create")).toEqual(["Route a1-to-b"]);
        expect(await ping(a1, "10.3.0.2")).toBe(true);

        expect((await engine("destroy")).summary.delete).toBe(12);
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);
        expect(netnsList()).not.toContain(router);
    });

    it("two-site-lab: names within a site, a 10mbit branch link paces a transfer, a rate change in place, destroy", async () => {
        project = makeProject({ copyFrom: path.join(REPO_ROOT, "examples/two-site-lab") });
        const engine = engineFor(project, path.join(project, "state.json"), { sandbox: "false", hostNamespace: sb.hostNs, prefix: `${sb.prefix}-` });
        const before = await snapshot(sb.hostNs);
        const namespacesBefore = netnsList().filter((name) => name.startsWith(sb.prefix));
        const [files, build, laptop] = [sb.ns("files"), sb.ns("build"), sb.ns("laptop")];

        const up = await engine("up");
        expect(up.outputs.addresses).toEqual({ files: "10.10.0.2", build: "10.10.0.3", laptop: "10.20.0.2", printer: "10.20.0.3" });
        expect(await ping(laptop, "10.10.0.2")).toBe(true);
        expect(await ping(files, "10.20.0.3")).toBe(true);
        const byName = await runCommand({ argv: ["ip", "netns", "exec", laptop, "ping", "-c", "1", "-W", "2", "printer"] });
        expect(byName.stdout).toContain("10.20.0.3");
        const bytes = 2.5 * 1024 * 1024;
        const fast = await timedTransfer(files, build, "10.10.0.2", 7201, bytes);
        const slow = await timedTransfer(files, laptop, "10.10.0.2", 7202, bytes);
        expect(slow).toBeGreaterThan(1.8); // 2.5 MiB at 10 Mbit/s
        expect(fast).toBeLessThan(slow / 4);

        const faster = await engine("up", { wanRate: "100mbit" });
        expect(stepsOf(faster, "update")).toEqual(["Endpoint branch-laptop", "Endpoint branch-printer"]);
        expect(faster.summary).toMatchObject({ create: 0, replace: 0, delete: 0 });
        expect(await timedTransfer(files, laptop, "10.10.0.2", 7203, bytes)).toBeLessThan(slow / 4);

        await engine("destroy");
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);
        expect(await snapshot(sb.hostNs)).toEqual(before);
    });
});
