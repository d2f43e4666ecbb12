/**
 * Regression tests of the hardening issue, one per defect, on the kernel in sandboxes: what a
 * hostile or careless input, or a host changed behind our back, used to get wrong.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import {
    type LinkAddrs,
    addrList,
    ipBatchCommand,
    ipCommand,
    linkGet,
    netnsAdd,
    netnsExists,
    redactInLog,
    runCommand,
    runJson,
    toolCommand,
} from "../../providers/host";
import { RecordDir, namespaceJournal, secureDir, writeBatchFile } from "../../providers/host";
import { provider as address } from "../../providers/address";
import { provider as bridge } from "../../providers/bridge";
import { provider as endpoint } from "../../providers/endpoint";
import { provider as firewallChain } from "../../providers/firewallChain";
import { forgetAddressesInUse, leasePool } from "../../providers/ipam";
import { provider as namespace } from "../../providers/namespace";
import { provider as route } from "../../providers/route";
import { provider as sysctl } from "../../providers/sysctl";
import { provider as veth } from "../../providers/veth";
import { describeKernel, useSandbox } from "../support/kernel";
import { checked, created, expectGone, ipOutOfBand, kernelLink } from "../support/lifecycle";

/** Captures what the providers write to stderr (the warnings of a destroy). */
function captureStderr(): { lines: () => string[]; restore: () => void } {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
    });
    return { lines: () => lines, restore: () => spy.mockRestore() };
}

async function addressesOf(netns: string, device: string): Promise<string[]> {
    const [link] = await runJson<LinkAddrs[]>(ipCommand(netns, ["-j", "addr", "show", "dev", device]));
    return link.addr_info.filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`);
}

describeKernel("hardening: injection and names other tools read specially", () => {
    const sb = useSandbox();

    it("a namespace name that starts with a quote reaches ip -batch as one word and runs nothing (defects 1, 7)", async () => {
        const marker = path.join(tmpdir(), `${sb.prefix}-pwned`);
        const hostile = `'x''sh''-c''touch ${marker}'`;
        // As a namespace's batch step: `netns exec NAME ...` must look for a namespace of exactly that name.
        // ip names the whole word back: it was one argument, not four.
        await expect(runCommand(ipBatchCommand(sb.hostNs, [["netns", "exec", hostile, "ip", "link", "show"]]))).rejects.toThrow(
            `Invalid netns name "${hostile}"`,
        );
        expect(existsSync(marker)).toBe(false);
        // And the name a link alias takes, through the batch parser and back through ip -j.
        await runCommand(ipBatchCommand(sb.hostNs, [["link", "set", "dev", "lo", "alias", hostile]]));
        expect((await linkGet(sb.hostNs, "lo"))?.ifalias).toBe(hostile);
    });

    it("a link whose name holds a control character, made by anyone, does not make the namespace unreadable (defect 6)", async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "name", "a\u0001b", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "link", "set", "dev", "lo", "alias", "tab\there\u0002");
        expect((await linkGet(sb.hostNs, "a\u0001b"))?.linkinfo?.info_kind).toBe("bridge");
        expect((await linkGet(sb.hostNs, "lo"))?.ifalias).toBe("tab\there\u0002");
        const { id, outs } = await created(bridge, { logicalName: "br", name: "br0", netns: sb.hostNs });
        expect((await bridge.read!(id, outs)).id).toBe(id);
        await bridge.delete!(id, outs);
    });

    it("names that are ip keywords are made literally (help, up, dev, name, type, all as a link)", async () => {
        for (const name of ["help", "up", "h", "dev"]) {
            const { id, outs } = await created(bridge, { logicalName: name, name, netns: sb.hostNs });
            expect((await kernelLink(sb.hostNs, name))?.linkinfo?.info_kind, name).toBe("bridge");
            await bridge.delete!(id, outs);
            expect(await kernelLink(sb.hostNs, name), name).toBeUndefined();
        }
        const pair = await created(veth, { logicalName: "v", name: "name", netns: sb.hostNs, peer: { name: "type", netns: sb.hostNs } });
        expect((await kernelLink(sb.hostNs, "type"))?.linkinfo?.info_kind).toBe("veth");
        await veth.delete!(pair.id, pair.outs);
    });

    it("sysctl never reads a key as an option, even past check (defect 2)", async () => {
        await expect(sysctl.create({ logicalName: "s", key: "-a", value: "1", netns: sb.hostNs })).rejects.toThrow(/sysctl "-a" does not exist/);
        const failures = (await sysctl.check!({}, { logicalName: "s", key: "kernel.hostname", value: "x", netns: sb.hostNs })).failures;
        expect(failures?.[0]).toMatchObject({ property: "key" });
    });
});

describeKernel("hardening: state folders nobody else controls (defect 4)", () => {
    let root: string;
    let saved: string | undefined;
    beforeEach(() => {
        root = mkdtempSync(path.join(tmpdir(), "po-state-"));
        saved = process.env.PULUMI_OVERLAY_STATE_DIR;
    });
    afterEach(() => {
        process.env.PULUMI_OVERLAY_STATE_DIR = saved;
        rmSync(root, { recursive: true, force: true });
    });

    it("makes its folders 0700 and files 0600 whatever the umask", () => {
        process.env.PULUMI_OVERLAY_STATE_DIR = path.join(root, "state");
        const before = process.umask(0);
        try {
            const file = writeBatchFile([["link", "show"]]);
            expect(statSync(path.join(root, "state")).mode & 0o777).toBe(0o700);
            expect(statSync(path.join(root, "state", "batch")).mode & 0o777).toBe(0o700);
            expect(statSync(file.path).mode & 0o777).toBe(0o600);
            file.remove();
            expect(existsSync(path.join(root, "state", "batch"))).toBe(false); // the folder goes with its last file
            const records = new RecordDir("ipam", "x");
            expect(records.claim("10.0.0.2", "mark")).toBe(true);
            expect(statSync(path.join(records.dir, "10.0.0.2")).mode & 0o777).toBe(0o600);
        } finally {
            process.umask(before);
        }
    });

    it("refuses a batch folder owned by another user, or writable by others, and never writes through it", () => {
        const state = path.join(root, "state");
        process.env.PULUMI_OVERLAY_STATE_DIR = state;
        mkdirSync(path.join(state, "batch"), { recursive: true, mode: 0o700 });
        chmodSync(state, 0o700);
        chownSync(path.join(state, "batch"), 65534, 65534);
        expect(() => writeBatchFile([["link", "show"]])).toThrow(/batch is owned by user 65534, not by root/);
        chownSync(path.join(state, "batch"), 0, 0);
        chmodSync(path.join(state, "batch"), 0o777);
        expect(() => writeBatchFile([["link", "show"]])).toThrow(/is writable by other users \(mode 777\)/);
    });

    it("refuses a folder that is another user's link, and never follows a planted file link", () => {
        const state = path.join(root, "state");
        const elsewhere = path.join(root, "elsewhere");
        mkdirSync(elsewhere, { mode: 0o700 });
        mkdirSync(state, { mode: 0o700 });
        symlinkSync(elsewhere, path.join(state, "batch"));
        // lchown: the link itself belongs to another user.
        require("node:fs").lchownSync(path.join(state, "batch"), 65534, 65534);
        process.env.PULUMI_OVERLAY_STATE_DIR = state;
        expect(() => writeBatchFile([["link", "show"]])).toThrow(/is a symbolic link owned by user 65534/);

        // A record whose file is a link to a file of root's: claim fails, the target is untouched.
        const target = path.join(root, "root-only");
        writeFileSync(target, "secret", { mode: 0o600 });
        const records = new RecordDir("ipam", "p");
        secureDir(records.dir);
        symlinkSync(target, path.join(records.dir, "10.0.0.2"));
        expect(records.claim("10.0.0.2", "batch text")).toBe(false);
        expect(() => records.read("10.0.0.2")).toThrow(/is a symbolic link/);
        records.write("10.0.0.3", "x"); // a write replaces by rename, never through a link
        expect(readFileSync(target, "utf8")).toBe("secret");
    });
});

describeKernel("hardening: ownership (defects 5, 8, 13)", () => {
    const sb = useSandbox();
    let stderr: ReturnType<typeof captureStderr>;
    beforeEach(() => {
        stderr = captureStderr();
    });
    afterEach(() => stderr.restore());

    it("an address on a bridge that was replaced by hand is never read as ours nor deleted; destroy says so", async () => {
        const br = await created(bridge, { logicalName: "br", name: "br0", netns: sb.hostNs });
        const gw = await created(address, { logicalName: "gw", device: "br0", address: "10.0.0.1/24", netns: sb.hostNs });
        // Out of band: the bridge goes, a bridge of the same name comes, the same address is put on it by hand.
        await ipOutOfBand(sb.hostNs, "link", "del", "br0");
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "addr", "add", "10.0.0.1/24", "dev", "br0");
        await expectGone(address, gw.id, gw.outs);
        await address.delete!(gw.id, gw.outs);
        expect(await addressesOf(sb.hostNs, "br0")).toEqual(["10.0.0.1/24"]);
        expect(stderr.lines().join("")).toMatch(/left address 10.0.0.1\/24 on device "br0" in place: device "br0" .* is not the link it was added to/);
        await bridge.delete!(br.id, br.outs); // not ours either: the hand-made bridge stays
        expect(await kernelLink(sb.hostNs, "br0")).toBeDefined();
        expect(stderr.lines().join("")).toMatch(/left bridge "br0" in place/);
    });

    it("a route through a link that was replaced by hand is never deleted", async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "link", "set", "br0", "up");
        const r = await created(route, { logicalName: "r", destination: "10.9.0.0/24", device: "br0", netns: sb.hostNs });
        expect(r.outs.deviceIdentity).toMatch(/^\d+#\d+$/);
        await ipOutOfBand(sb.hostNs, "link", "del", "br0");
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "link", "set", "br0", "up");
        await ipOutOfBand(sb.hostNs, "route", "add", "10.9.0.0/24", "dev", "br0");
        await expectGone(route, r.id, r.outs);
        await route.delete!(r.id, r.outs);
        const routes = await runJson<{ dst: string }[]>(ipCommand(sb.hostNs, ["-j", "route", "show", "dev", "br0"]));
        expect(routes.map((x) => x.dst)).toContain("10.9.0.0/24");
    });

    it("routes in tables ip prints by name are found again, and an IPv4-mapped address reads as present (defect 11)", async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        await ipOutOfBand(sb.hostNs, "link", "set", "br0", "up");
        for (const table of [255, 253, 254]) {
            const r = await created(route, { logicalName: `r${table}`, destination: "10.9.0.0/24", device: "br0", table, netns: sb.hostNs });
            expect((await route.read!(r.id, r.outs)).id, `table ${table}`).toBe(r.id);
            await route.delete!(r.id, r.outs);
            await expectGone(route, r.id, r.outs);
        }
        const mapped = await created(address, { logicalName: "m", device: "br0", address: "::ffff:10.0.0.1/120", netns: sb.hostNs });
        expect((await address.read!(mapped.id, mapped.outs)).id).toBe(mapped.id);
        await address.delete!(mapped.id, mapped.outs);
        expect((await addrList(sb.hostNs, "br0"))?.filter((a) => a.family === "inet6" && a.scope !== "link")).toEqual([]);
    });

    it("a FirewallChain keeps rules someone else added: not drift, and update and delete refuse rather than erase them", async () => {
        const args = { logicalName: "fw", name: "LAB-IN", netns: sb.hostNs, jump: { from: "FORWARD", position: "first" }, rules: [{ action: "accept" }] };
        const { id, outs } = await created(firewallChain, args);
        await runCommand(toolCommand(sb.hostNs, "iptables", ["-w", "-I", "LAB-IN", "1", "-s", "192.0.2.7", "-j", "DROP"]));
        expect((await firewallChain.read!(id, outs)).props?.inSync).toBe(true);
        const news = await checked(firewallChain, { ...args, rules: [{ action: "drop" }] }, outs);
        await expect(firewallChain.update!(id, outs, news)).rejects.toThrow(
            /holds 1 rule\(s\) that are not this resource's \(-A LAB-IN -s 192.0.2.7\/32 -j DROP\)/,
        );
        await expect(firewallChain.delete!(id, outs)).rejects.toThrow(/does not erase them/);
        const saved = (await runCommand(toolCommand(sb.hostNs, "iptables-save", ["-t", "filter"]))).stdout;
        expect(saved).toContain("-A LAB-IN -s 192.0.2.7/32 -j DROP");
        expect(saved).toContain(`-A LAB-IN -m comment --comment "${outs.comment}" -j ACCEPT`);
    });

    it("a namespace create cut off between 'netns add' and its mark is taken up by the retry, and deleted by destroy (defect 8)", async () => {
        const name = sb.ns("cut");
        const inputs = await checked(namespace, { logicalName: "cut", name });
        namespaceJournal.begin(name, inputs.mark);
        await netnsAdd(name); // the create got this far, then the process was killed
        expect((await namespace.read!("", { ...inputs, alias: inputs.mark })).id).toBe(name);
        const { outs } = await namespace.create(inputs);
        expect((await linkGet(name, "lo"))?.ifalias).toBe(inputs.mark);
        await namespace.delete!(name, outs);
        expect(netnsExists(name)).toBe(false);

        // Cut off again, and destroyed before any retry: destroy removes it.
        namespaceJournal.begin(name, inputs.mark);
        await netnsAdd(name);
        await namespace.delete!(name, { ...inputs, alias: inputs.mark });
        expect(netnsExists(name)).toBe(false);
    });

    it("a namespace that was there before the create is never taken for a cut-off one", async () => {
        const name = sb.ns("theirs");
        await netnsAdd(name);
        const inputs = await checked(namespace, { logicalName: "theirs", name });
        await new Promise((resolve) => setTimeout(resolve, 100)); // well past the clock's margin
        namespaceJournal.begin(name, inputs.mark); // as a create that then finds the name taken
        await expect(namespace.create(inputs)).rejects.toThrow(/already exists/);
        await namespace.delete!(name, { ...inputs, alias: inputs.mark });
        expect(netnsExists(name)).toBe(true);
    });

    it("an Endpoint cut off after 'netns add' is completed by the retry", async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        const name = sb.ns("ecut");
        const inputs = await checked(endpoint, { logicalName: "ecut", namespace: name, bridge: "br0", subnet: "10.4.0.0/24", netns: sb.hostNs });
        namespaceJournal.begin(name, inputs.mark);
        await netnsAdd(name);
        const { id, outs } = await endpoint.create(inputs);
        expect(outs.ip).toBe("10.4.0.2");
        expect((await kernelLink(sb.hostNs, inputs.hostInterface))?.master).toBe("br0");
        await endpoint.delete!(id, outs);
        expect(netnsExists(name)).toBe(false);
    });

    it("a bridge keeps the MTU it was given when its first port joins (defect 13)", async () => {
        const { id, outs } = await created(bridge, { logicalName: "br", name: "br0", mtu: 1400, netns: sb.hostNs });
        await ipOutOfBand(sb.hostNs, "link", "add", "p0", "type", "veth", "peer", "name", "p1");
        await ipOutOfBand(sb.hostNs, "link", "set", "p0", "master", "br0");
        expect((await kernelLink(sb.hostNs, "br0"))?.mtu).toBe(1400);
        expect((await bridge.read!(id, outs)).props?.mtu).toBe(1400);
        await bridge.delete!(id, outs);
    });

    it("a bridge renamed by hand is still ours: read reports its new name, delete removes it", async () => {
        const { id, outs } = await created(bridge, { logicalName: "br", name: "br0", netns: sb.hostNs });
        await ipOutOfBand(sb.hostNs, "link", "set", "dev", "br0", "name", "br9");
        const read = await bridge.read!(id, outs);
        expect(read.props?.name).toBe("br9");
        expect(
            (await bridge.diff!(id, read.props!, await checked(bridge, { logicalName: "br", name: "br0", netns: sb.hostNs }, read.inputs))).replaces,
        ).toEqual(["name"]);
        await bridge.delete!(id, read.props!);
        expect(await kernelLink(sb.hostNs, "br9")).toBeUndefined();
    });

    it("a veth pair whose peer was moved away stays ours: drift, a replacement, and nothing leaked", async () => {
        const [c1, c2] = [sb.ns("c1"), sb.ns("c2")];
        await netnsAdd(c1);
        await netnsAdd(c2);
        const args = { logicalName: "v", name: "veth-c1", netns: sb.hostNs, peer: { name: "eth0", netns: c1 } };
        const { id, outs } = await created(veth, args);
        await ipOutOfBand(c1, "link", "set", "dev", "eth0", "netns", c2);
        const read = await veth.read!(id, outs);
        expect(read.id).toBe(id);
        expect(read.props?.drift).toEqual([`peer "eth0" is no longer in network namespace "${c1}"`]);
        const diff = await veth.diff!(id, read.props!, await checked(veth, args, read.inputs));
        expect(diff).toMatchObject({ changes: true, replaces: ["peer"], deleteBeforeReplace: true });
        await veth.delete!(id, read.props!);
        expect(await kernelLink(sb.hostNs, "veth-c1")).toBeUndefined();
        expect(await kernelLink(c2, "eth0")).toBeUndefined();
    });
});

describeKernel("hardening: leases and errors (defects 9, 15, 16)", () => {
    const sb = useSandbox();

    it("after a lease record is lost, a new endpoint does not take the address still in use behind the bridge (defect 9)", async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        const args = (n: string) => ({ logicalName: n, namespace: sb.ns(n), bridge: "br0", subnet: "10.5.0.0/24", netns: sb.hostNs });
        const c1 = await created(endpoint, args("c1"));
        expect(c1.outs.ip).toBe("10.5.0.2");
        leasePool(sb.hostNs, "br0").release("10.5.0.2"); // the record is lost
        forgetAddressesInUse(); // a new provider process (the next pulumi up)
        const c2 = await created(endpoint, args("c2"));
        expect(c2.outs.ip).toBe("10.5.0.3");
        await endpoint.delete!(c2.id, c2.outs);
        await endpoint.delete!(c1.id, c1.outs);
    });

    it("an error names the end whose name is taken (defect 15)", async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "taken", "type", "bridge");
        await expect(created(veth, { logicalName: "v", name: "v0", netns: sb.hostNs, peer: { name: "taken", netns: sb.hostNs } })).rejects.toThrow(
            /interface "taken" \(peer.name\) already exists/,
        );
        expect(await kernelLink(sb.hostNs, "v0")).toBeUndefined();
    });

    it("an endpoint whose host end was moved away is repaired by the next update (defect 15)", async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
        const elsewhere = sb.ns("elsewhere");
        await netnsAdd(elsewhere);
        const args = { logicalName: "c1", namespace: sb.ns("c1"), bridge: "br0", subnet: "10.6.0.0/24", netns: sb.hostNs };
        const { id, outs, inputs } = await created(endpoint, args);
        await ipOutOfBand(sb.hostNs, "link", "set", "dev", inputs.hostInterface, "netns", elsewhere);
        const read = await endpoint.read!(id, outs);
        expect(read.props?.drift).toContain(`the veth pair "${inputs.hostInterface}" - "eth0" is gone`);
        const { outs: repaired } = await endpoint.update!(id, read.props!, inputs);
        expect(repaired.drift).toEqual([]);
        expect((await kernelLink(sb.hostNs, inputs.hostInterface))?.master).toBe("br0");
        expect(await kernelLink(elsewhere, inputs.hostInterface)).toBeUndefined();
        await endpoint.delete!(id, repaired);
    });

    it("the command log holds what runs: batch input, nested batch files, restore input; secrets never (defect 16)", async () => {
        const log = path.join(mkdtempSync(path.join(tmpdir(), "po-log-")), "commands.jsonl");
        const saved = process.env.PULUMI_OVERLAY_COMMAND_LOG;
        process.env.PULUMI_OVERLAY_COMMAND_LOG = log;
        try {
            await ipOutOfBand(sb.hostNs, "link", "add", "br0", "type", "bridge");
            const e = await created(endpoint, { logicalName: "c1", namespace: sb.ns("c1"), bridge: "br0", subnet: "10.7.0.0/24", netns: sb.hostNs });
            const fw = await created(firewallChain, {
                logicalName: "fw",
                name: "LOGGED",
                netns: sb.hostNs,
                jump: { from: "FORWARD", position: "last" },
                rules: [{ action: "accept" }],
            });
            redactInLog("hunter2-secret");
            await runCommand(ipBatchCommand(sb.hostNs, [["link", "set", "dev", "lo", "alias", "hunter2-secret"]]));
            const entries = readFileSync(log, "utf8")
                .trim()
                .split("\n")
                .map((line) => JSON.parse(line) as { argv: string[]; input?: string; files?: Record<string, string> });
            const create = entries.find((x) => x.files !== undefined)!;
            expect(create.input).toContain(`netns add ${sb.ns("c1")}`);
            expect(Object.values(create.files!).join("")).toContain("addr replace 10.7.0.2/24 dev eth0");
            expect(entries.find((x) => x.argv.includes("iptables-restore"))?.input).toContain(`:LOGGED - [0:0]`);
            expect(readFileSync(log, "utf8")).not.toContain("hunter2-secret");
            expect(readFileSync(log, "utf8")).toContain("[secret]");
            await firewallChain.delete!(fw.id, fw.outs);
            await endpoint.delete!(e.id, e.outs);
        } finally {
            // Assigning undefined to process.env would set the text "undefined".
            if (saved === undefined) delete process.env.PULUMI_OVERLAY_COMMAND_LOG;
            else process.env.PULUMI_OVERLAY_COMMAND_LOG = saved;
            rmSync(path.dirname(log), { recursive: true, force: true });
        }
    });
});
