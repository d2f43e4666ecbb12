import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeEach, expect, it } from "vitest";
import {
    LINK_GOING_MS,
    namespaceInstance,
    netnsAdd,
    netnsExists,
    netnsList,
    runCommand,
    runJson,
    ipCommand,
    tcCommand,
    type RouteInfo,
    type LinkAddrs,
    untilLinksGone,
} from "../../../providers/host";
import { provider } from "../../../providers/endpoint";
import { checked, created, expectGone, ipOutOfBand, kernelLink, updated } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";
import { ping } from "../../support/sandbox";
import { timedTransfer } from "../../support/tcp";

async function addressesOf(netns: string, dev: string): Promise<string[]> {
    const links = await runJson<LinkAddrs[]>(ipCommand(netns, ["-j", "addr", "show", "dev", dev]));
    return links.flatMap((l) => l.addr_info.filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`));
}

async function defaultRoute(netns: string, family: 4 | 6 = 4): Promise<RouteInfo | undefined> {
    return (await runJson<RouteInfo[]>(ipCommand(netns, [`-${family}`, "-j", "route", "show", "default"])))[0];
}

/** Resolves once `ready` holds (checked every 20 ms), or fails after 5 s. */
async function waitFor(ready: () => boolean): Promise<void> {
    for (const until = Date.now() + 5000; !ready(); await new Promise((resolve) => setTimeout(resolve, 20))) {
        if (Date.now() > until) throw new Error("timed out");
    }
}

/** Batch files this process left under the state directory (none, once every batch has run). */
function leftBatchFiles(): string[] {
    const dir = path.join(process.env.PULUMI_OVERLAY_STATE_DIR!, "batch");
    // The folder goes with its last file; other test files' processes may be using it meanwhile.
    return existsSync(dir) ? readdirSync(dir).filter((name) => name.startsWith(`${process.pid}-`)) : [];
}

describeKernel("Endpoint on the kernel", () => {
    const sb = useSandbox();
    const args = (name: string, extra: object = {}) => ({
        logicalName: name,
        namespace: sb.ns(name),
        bridge: "br0",
        netns: sb.hostNs,
        hostInterface: `h-${name}`,
        subnet: "10.0.0.0/24",
        ...extra,
    });
    beforeEach(async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "addr", "add", "10.0.0.1/24", "dev", "br0");
        await ipOutOfBand(sb.hostNs, "link", "set", "br0", "up");
    });

    it("makes the namespace, the veth pair on the bridge, the leased address and the default route; reads, repairs drift, deletes", async () => {
        const c1 = await created(provider, args("c1"));
        const c2 = await created(provider, args("c2"));
        const ns1 = sb.ns("c1");
        expect(c1.id).toBe(ns1);
        expect(c1.outs).toMatchObject({ ip: "10.0.0.2", cidr: "10.0.0.2/24", family: 4, gateway: "10.0.0.1", interfaceName: "eth0", pool: "br0", drift: [] });
        expect(c2.outs.ip).toBe("10.0.0.3");
        const mark = c1.outs.mark;
        expect((await kernelLink(ns1, "lo"))?.ifalias).toBe(mark);
        const inside = await kernelLink(ns1, "eth0");
        expect(inside).toMatchObject({ ifalias: mark, address: c1.outs.mac });
        expect(inside?.flags).toContain("UP");
        const host = await kernelLink(sb.hostNs, "h-c1");
        expect(host).toMatchObject({ ifalias: mark, master: "br0" });
        expect(host?.linkinfo?.info_kind).toBe("veth");
        // IPv4 only: neither end has an IPv6 address, so neither talks IPv6 on the bridge.
        expect(inside?.inet6_addr_gen_mode).toBe("none");
        expect(host?.inet6_addr_gen_mode).toBe("none");
        expect(await runJson<unknown[]>(ipCommand(ns1, ["-j", "-6", "addr", "show", "dev", "eth0"]))).toEqual([]);
        expect(await runJson<unknown[]>(ipCommand(sb.hostNs, ["-j", "-6", "addr", "show", "dev", "h-c1"]))).toEqual([]);
        expect(await addressesOf(ns1, "eth0")).toEqual(["10.0.0.2/24"]);
        expect(await defaultRoute(ns1)).toMatchObject({ gateway: "10.0.0.1", dev: "eth0" });
        expect(await ping(ns1, "10.0.0.1")).toBe(true);
        expect(await ping(ns1, "10.0.0.3")).toBe(true);

        expect((await provider.read!(c1.id, c1.outs)).props).toEqual(c1.outs);

        // Out of band: the address goes, the host end leaves the bridge, the route goes.
        await ipOutOfBand(ns1, "addr", "flush", "dev", "eth0");
        await ipOutOfBand(sb.hostNs, "link", "set", "h-c1", "nomaster");
        const drifted = (await provider.read!(c1.id, c1.outs)).props!;
        expect(drifted.drift).toEqual([
            '"h-c1" is not a port of bridge "br0"',
            '"eth0" lacks its address 10.0.0.2/24',
            "the default route via 10.0.0.1 is gone",
        ]);
        const repaired = await updated(provider, c1.id, drifted, c1.inputs);
        expect(repaired.drift).toEqual([]);
        expect(await addressesOf(ns1, "eth0")).toEqual(["10.0.0.2/24"]);
        expect((await kernelLink(sb.hostNs, "h-c1"))?.master).toBe("br0");
        expect(await ping(ns1, "10.0.0.3")).toBe(true);

        // The whole namespace goes: the lease is still the endpoint's, so it comes back as it was.
        execFileSync("ip", ["netns", "delete", ns1]);
        const gone = (await provider.read!(c1.id, repaired)).props!;
        expect(gone.drift).toEqual([`namespace "${ns1}" is gone`]);
        const back = await updated(provider, c1.id, gone, c1.inputs);
        expect(back).toMatchObject({ ip: "10.0.0.2", drift: [] });
        expect(await ping(ns1, "10.0.0.3")).toBe(true);

        // In place: MTU on both ends.
        const mtu = await updated(provider, c1.id, back, { ...args("c1"), mtu: 1400 });
        expect((await kernelLink(ns1, "eth0"))?.mtu).toBe(1400);
        expect((await kernelLink(sb.hostNs, "h-c1"))?.mtu).toBe(1400);

        // In place: another bridge, and no default route.
        await ipOutOfBand(sb.hostNs, "link", "add", "br1", "type", "bridge");
        const moved = await updated(provider, c1.id, mtu, { ...args("c1"), mtu: 1400, bridge: "br1", defaultRoute: false });
        expect((await kernelLink(sb.hostNs, "h-c1"))?.master).toBe("br1");
        expect(await defaultRoute(ns1)).toBeUndefined();
        expect((await provider.read!(c1.id, moved)).props!.drift).toEqual([]);

        await provider.delete!(c1.id, moved);
        expect(netnsExists(ns1)).toBe(false);
        // The kernel takes the pair with the namespace, in the background; the wait is for it.
        await untilLinksGone(sb.hostNs, ["h-c1"]);
        expect(await kernelLink(sb.hostNs, "h-c1")).toBeUndefined();
        await expectGone(provider, c1.id, moved);
        await provider.delete!(c1.id, moved);
        // Its address is free again.
        expect((await created(provider, args("c3"))).outs.ip).toBe("10.0.0.2");
        expect(leftBatchFiles()).toEqual([]);
    });

    it("shapes its link in both directions, updates the shape in place, reports drift, and drops it when the link input goes", async () => {
        const c1 = await created(provider, args("c1", { link: { rate: "10mbit" } }));
        const c2 = await created(provider, args("c2"));
        const [ns1, ns2] = [sb.ns("c1"), sb.ns("c2")];
        const rootRate = async (netns: string, dev: string) =>
            (await runJson<{ root?: boolean; kind: string; options?: { rate?: number } }[]>(tcCommand(netns, ["-j", "qdisc", "show", "dev", dev]))).find(
                (q) => q.root,
            );
        expect(await rootRate(sb.hostNs, "h-c1")).toMatchObject({ kind: "tbf", options: { rate: 1_250_000 } });
        expect(await rootRate(ns1, "eth0")).toMatchObject({ kind: "tbf", options: { rate: 1_250_000 } });
        // 2.5 MiB into c1 and out of it: each takes about 2 s at 10 Mbit/s; c2's unshaped link is much faster.
        const bytes = 2.5 * 1024 * 1024;
        const into = await timedTransfer(ns2, ns1, "10.0.0.3", 7101, bytes);
        const out = await timedTransfer(ns1, ns2, "10.0.0.2", 7102, bytes);
        for (const seconds of [into, out]) expect(seconds).toBeGreaterThan(1.8);
        expect(await timedTransfer(sb.hostNs, ns2, "10.0.0.1", 7103, bytes)).toBeLessThan(into / 4);

        const faster = await updated(provider, c1.id, c1.outs, args("c1", { link: { rate: "50mbit" } }));
        expect(await rootRate(ns1, "eth0")).toMatchObject({ kind: "tbf", options: { rate: 6_250_000 } });
        expect((await kernelLink(ns1, "eth0"))?.address).toBe(c1.outs.mac); // in place: the same link
        await runCommand(tcCommand(ns1, ["qdisc", "del", "dev", "eth0", "root"]));
        const drifted = (await provider.read!(c1.id, faster)).props!;
        expect(drifted.drift).toEqual(['"eth0" lacks its token bucket qdisc']);
        const repaired = await updated(provider, c1.id, drifted, args("c1", { link: { rate: "50mbit" } }));
        expect(repaired.drift).toEqual([]);
        expect(await rootRate(ns1, "eth0")).toMatchObject({ kind: "tbf", options: { rate: 6_250_000 } });
        const plain = await updated(provider, c1.id, repaired, args("c1"));
        expect(plain.drift).toEqual([]);
        expect((await rootRate(sb.hostNs, "h-c1"))?.kind).not.toBe("tbf");
        const bad = await provider.check!({}, args("c3", { link: { rate: "fast", jitter: "1ms" } }));
        expect(bad.failures?.map((f) => f.property)).toEqual(["link.rate", "link.jitter"]);
        expect(bad.failures?.[0].reason).toMatch(/^link\.rate "fast" is not a rate/);
        for (const c of [c2, { id: c1.id, outs: plain }]) await provider.delete!(c.id, c.outs);
    });

    it("refuses a namespace or a host interface that is already there, leaves it alone, and undoes its own work", async () => {
        const taken = sb.ns("c1");
        await netnsAdd(taken);
        const inputs = await checked(provider, args("c1"));
        await expect(provider.create(inputs)).rejects.toThrow(
            `network namespace "${taken}" already exists in the root network namespace and was not made by this resource`,
        );
        expect(netnsExists(taken)).toBe(true);
        expect(await kernelLink(taken, "eth0")).toBeUndefined();

        await ipOutOfBand(sb.hostNs, "link", "add", "h-c2", "type", "bridge");
        const other = await checked(provider, args("c2"));
        await expect(provider.create(other)).rejects.toThrow(`interface "h-c2" already exists in network namespace "${sb.hostNs}"`);
        expect(netnsExists(sb.ns("c2"))).toBe(false);
        expect((await kernelLink(sb.hostNs, "h-c2"))?.linkinfo?.info_kind).toBe("bridge");

        await expect(provider.create(await checked(provider, args("c4", { bridge: "nobr" })))).rejects.toThrow('device "nobr" does not exist');
        expect(netnsExists(sb.ns("c4"))).toBe(false);
        expect(await kernelLink(sb.hostNs, "h-c4")).toBeUndefined();

        // A bridge's side that is not there: the batch entering it (nsenter --net) fails before
        // anything is made, and the error names the namespace.
        const ghost = sb.ns("ghost");
        await expect(provider.create(await checked(provider, args("c6", { netns: ghost, address: "10.0.0.9" })))).rejects.toThrow(
            `network namespace "${ghost}" does not exist: create it first`,
        );
        expect(netnsExists(sb.ns("c6"))).toBe(false);

        // None of the failed creates kept an address, or left a batch file.
        expect((await created(provider, args("c5"))).outs.ip).toBe("10.0.0.2");
        expect(leftBatchFiles()).toEqual([]);
    });

    it("leaves its veth pair to the kernel, is made again at once, and deletes the pair itself when a process keeps the namespace", async () => {
        // Made again right after its delete, under the same host end: the create waits for the old one.
        const c1 = await created(provider, args("c1"));
        await provider.delete!(c1.id, c1.outs);
        const again = await created(provider, args("c1"));
        expect((await kernelLink(sb.hostNs, "h-c1"))?.master).toBe("br0");
        expect(await ping(sb.ns("c1"), "10.0.0.1")).toBe(true);

        // A process inside keeps the namespace (and so the pair) alive after `ip netns delete`.
        const holder = spawn("ip", ["netns", "exec", sb.ns("c1"), "sleep", "60"], { stdio: "ignore" });
        try {
            await waitFor(() => execFileSync("ip", ["netns", "pids", sb.ns("c1")], { encoding: "utf8" }).trim() !== "");
            const started = Date.now();
            await provider.delete!(again.id, again.outs);
            expect(netnsExists(sb.ns("c1"))).toBe(false);
            expect(await kernelLink(sb.hostNs, "h-c1")).toBeDefined();
            await untilLinksGone(sb.hostNs, ["h-c1"]);
            expect(Date.now() - started).toBeGreaterThanOrEqual(LINK_GOING_MS);
            expect(await kernelLink(sb.hostNs, "h-c1")).toBeUndefined();
        } finally {
            holder.kill();
        }

        // A link of the same name that is not ours, there when the wait runs out, stays.
        const c2 = await created(provider, args("c2"));
        const keeper = spawn("ip", ["netns", "exec", sb.ns("c2"), "sleep", "60"], { stdio: "ignore" });
        try {
            await waitFor(() => execFileSync("ip", ["netns", "pids", sb.ns("c2")], { encoding: "utf8" }).trim() !== "");
            await provider.delete!(c2.id, c2.outs);
            await ipOutOfBand(sb.hostNs, "link", "set", "dev", "h-c2", "alias", "someone else's");
            await untilLinksGone(sb.hostNs, ["h-c2"]);
            expect((await kernelLink(sb.hostNs, "h-c2"))?.ifalias).toBe("someone else's");
        } finally {
            keeper.kill();
        }
    });

    it("deletes the namespace it made by its instance, with one command and no read; leaves one made again under its name", async () => {
        const log = path.join(mkdtempSync(path.join(tmpdir(), "po-log-")), "commands.jsonl");
        const saved = process.env.PULUMI_OVERLAY_COMMAND_LOG;
        try {
            const c1 = await created(provider, args("c1"));
            expect(c1.outs.namespaceInstance).toMatch(/^\d+@[\d.]+$/);
            expect((await provider.read!(c1.id, c1.outs)).props?.namespaceInstance).toBe(c1.outs.namespaceInstance);
            process.env.PULUMI_OVERLAY_COMMAND_LOG = log;
            await provider.delete!(c1.id, c1.outs);
            const commands = readFileSync(log, "utf8")
                .trim()
                .split("\n")
                .map((line) => JSON.parse(line).argv);
            expect(commands).toEqual([["ip", "netns", "delete", sb.ns("c1")]]);
            expect(netnsExists(sb.ns("c1"))).toBe(false);
            await untilLinksGone(sb.hostNs, ["h-c1"]);
            expect(await kernelLink(sb.hostNs, "h-c1")).toBeUndefined();

            // Deleted out of band and made again under the same name by someone else: another
            // instance, and no mark on its loopback: left as it is.
            const c2 = await created(provider, args("c2"));
            execFileSync("ip", ["netns", "delete", sb.ns("c2")]);
            await netnsAdd(sb.ns("c2"));
            expect(namespaceInstance(sb.ns("c2"))).not.toBe(c2.outs.namespaceInstance);
            await provider.delete!(c2.id, c2.outs);
            expect(netnsExists(sb.ns("c2"))).toBe(true);
        } finally {
            if (saved === undefined) delete process.env.PULUMI_OVERLAY_COMMAND_LOG;
            else process.env.PULUMI_OVERLAY_COMMAND_LOG = saved;
            rmSync(path.dirname(log), { recursive: true, force: true });
        }
    });

    it("is found again by its mark after a create whose result was lost", async () => {
        const inputs = await checked(provider, args("c1"));
        await provider.create(inputs);
        const found = await provider.read!("", inputs);
        expect(found.id).toBe(sb.ns("c1"));
        expect(found.props).toMatchObject({ ip: "10.0.0.2", drift: [] });
    });

    it("IPv6, with an address given by hand", async () => {
        await ipOutOfBand(sb.hostNs, "addr", "add", "fd00:1::1/64", "dev", "br0", "nodad");
        const c1 = await created(provider, args("c1", { subnet: "fd00:1::/64", address: "fd00:1::10", pool: "br0-v6" }));
        expect(c1.outs).toMatchObject({ ip: "fd00:1::10", cidr: "fd00:1::10/64", family: 6, gateway: "fd00:1::1" });
        expect(await defaultRoute(sb.ns("c1"), 6)).toMatchObject({ gateway: "fd00:1::1", dev: "eth0" });
        expect(await ping(sb.ns("c1"), "fd00:1::1")).toBe(true);
        // The inside end keeps its link-local address; the host end, a port of the bridge, has none.
        const scopes = async (netns: string, dev: string) =>
            (await runJson<LinkAddrs[]>(ipCommand(netns, ["-j", "-6", "addr", "show", "dev", dev])))[0]?.addr_info.map((a) => a.scope) ?? [];
        expect(await scopes(sb.ns("c1"), "eth0")).toContain("link");
        expect(await scopes(sb.hostNs, "h-c1")).toEqual([]);
        expect((await provider.read!(c1.id, c1.outs)).props).toEqual(c1.outs);
        await provider.delete!(c1.id, c1.outs);
        expect(netnsExists(sb.ns("c1"))).toBe(false);
    });

    it("with the host end in the provider's own namespace (the root namespace in real use)", () => {
        // The provider runs inside the sandbox's host namespace, which is its root namespace.
        const script = `
            const { provider } = require(${JSON.stringify(path.resolve(__dirname, "../../../dist/providers/endpoint"))});
            (async () => {
                const { inputs } = await provider.check({}, ${JSON.stringify({ logicalName: "c1", namespace: sb.ns("c1"), bridge: "br0", hostInterface: "h-c1", subnet: "10.0.0.0/24" })});
                const made = await provider.create(inputs);
                const read = await provider.read(made.id, made.outs);
                console.log(JSON.stringify({ ip: made.outs.ip, drift: read.props.drift }));
                await provider.delete(made.id, made.outs);
            })().catch((err) => { console.error(err); process.exit(1); });`;
        const before = netnsList().filter((name) => name.startsWith(sb.prefix));
        const out = execFileSync("ip", ["netns", "exec", sb.hostNs, process.execPath, "-e", script], { encoding: "utf8" });
        expect(JSON.parse(out)).toEqual({ ip: "10.0.0.2", drift: [] });
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(before);
    });

    it("refuses bad input in check, naming the property", async () => {
        const failures = async (news: object) =>
            (await provider.check!({}, { logicalName: "x", subnet: "10.0.0.0/24", bridge: "br0", ...news })).failures?.map((f) => f.property);
        expect(await failures({ bridge: undefined })).toEqual(["bridge"]);
        expect(await failures({ subnet: undefined })).toEqual(["subnet"]);
        expect(await failures({ subnet: "10.0.0.0/33" })).toEqual(["subnet"]);
        expect(await failures({ address: "10.0.1.2" })).toEqual(["address"]);
        expect(await failures({ gateway: "10.1.0.1" })).toEqual(["gateway"]);
        expect(await failures({ namespace: "a/b" })).toEqual(["namespace"]);
        expect(await failures({ hostInterface: "much-too-long-name" })).toEqual(["hostInterface"]);
        expect(await failures({ interfaceName: "e th0" })).toEqual(["interfaceName"]);
        expect(await failures({ hostInterface: "br0" })).toEqual(["hostInterface"]);
        expect(await failures({ mtu: 20 })).toEqual(["mtu"]);
        expect(await failures({ defaultRoute: "yes" })).toEqual(["defaultRoute"]);
    });
});
