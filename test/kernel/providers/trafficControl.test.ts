import { beforeEach, expect, it } from "vitest";
import { netnsAdd, runCommand, runJson, tcCommand } from "../../../providers/host";
import { provider } from "../../../providers/trafficControl";
import { ROOT_HANDLE } from "../../../providers/trafficPlan";
import { describeKernel, useSandbox } from "../../support/kernel";
import { checked, created, ipOutOfBand, updated } from "../../support/lifecycle";
import { timedTransfer } from "../../support/tcp";

interface Qdisc {
    kind: string;
    handle: string;
    root?: boolean;
    parent?: string;
    options?: { rate?: number };
}

async function qdiscs(netns: string, device: string): Promise<Qdisc[]> {
    return runJson<Qdisc[]>(tcCommand(netns, ["-j", "qdisc", "show", "dev", device]));
}

async function rootOf(netns: string, device: string): Promise<Qdisc | undefined> {
    return (await qdiscs(netns, device)).find((q) => q.root);
}

/** True when this kernel has sch_netem (probed on a throwaway veth of the sandbox). */
async function hasNetem(netns: string): Promise<boolean> {
    await ipOutOfBand(netns, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1");
    try {
        await runCommand(tcCommand(netns, ["qdisc", "add", "dev", "probe0", "root", "netem", "delay", "1ms"]));
        return true;
    } catch {
        return false;
    } finally {
        await ipOutOfBand(netns, "link", "del", "probe0");
    }
}

const MEGABYTES = 2.5;
const BYTES = MEGABYTES * 1024 * 1024;

describeKernel("TrafficControl on the kernel", () => {
    const sb = useSandbox();
    let c1: string;
    beforeEach(async () => {
        c1 = sb.ns("c1");
        await netnsAdd(c1);
        await ipOutOfBand(sb.hostNs, "link", "add", "veth-c1", "type", "veth", "peer", "name", "eth0", "netns", c1);
        await ipOutOfBand(sb.hostNs, "addr", "add", "10.77.0.1/24", "dev", "veth-c1");
        await ipOutOfBand(sb.hostNs, "link", "set", "veth-c1", "up");
        await ipOutOfBand(c1, "addr", "add", "10.77.0.2/24", "dev", "eth0");
        await ipOutOfBand(c1, "link", "set", "eth0", "up");
        await ipOutOfBand(c1, "link", "set", "lo", "up");
    });

    it("a 10mbit token bucket paces a transfer to about 2 s; update, drift, delete restores the default", async () => {
        const unshaped = await timedTransfer(sb.hostNs, c1, "10.77.0.1", 7001, BYTES);
        const args = { logicalName: "slow", device: "veth-c1", netns: sb.hostNs, rate: "10mbit" };
        const { id, outs } = await created(provider, args);
        const root = await rootOf(sb.hostNs, "veth-c1");
        expect(root).toMatchObject({ kind: "tbf", handle: ROOT_HANDLE });
        expect(root?.options?.rate).toBe(1_250_000); // bytes per second
        const shaped = await timedTransfer(sb.hostNs, c1, "10.77.0.1", 7002, BYTES);
        // 2.5 MiB at 10 Mbit/s is 2.1 s of payload; headers make it a little more.
        expect(shaped).toBeGreaterThan(1.8);
        expect(shaped).toBeLessThan(4);
        expect(unshaped).toBeLessThan(shaped / 4);
        // The other direction is not shaped: a TrafficControl shapes what its device sends.
        expect(await timedTransfer(c1, sb.hostNs, "10.77.0.2", 7003, BYTES)).toBeLessThan(shaped / 4);

        expect((await provider.read!(id, outs)).props).toMatchObject({ drift: [] });
        const faster = await updated(provider, id, outs, { ...args, rate: "40mbit", burst: "64kb" });
        expect((await rootOf(sb.hostNs, "veth-c1"))?.options?.rate).toBe(5_000_000);
        expect(faster.drift).toEqual([]);

        // Someone reshapes the link by hand: refresh says so, the next update puts it back.
        await runCommand(
            tcCommand(sb.hostNs, [
                "qdisc",
                "replace",
                "dev",
                "veth-c1",
                "root",
                "handle",
                ROOT_HANDLE,
                "tbf",
                "rate",
                "1mbit",
                "burst",
                "3000",
                "latency",
                "50ms",
            ]),
        );
        const read = await provider.read!(id, faster);
        expect(read.props.drift).toEqual(['"veth-c1" is shaped to 1000000 bit/s, not 40mbit']);
        const news = await checked(provider, { ...args, rate: "40mbit", burst: "64kb" }, read.inputs);
        expect((await provider.diff!(id, read.props, news)).changes).toBe(true);
        await provider.update!(id, read.props, news);
        expect((await rootOf(sb.hostNs, "veth-c1"))?.options?.rate).toBe(5_000_000);

        await provider.delete!(id, faster);
        expect((await rootOf(sb.hostNs, "veth-c1"))?.kind).not.toBe("tbf");
        expect((await qdiscs(sb.hostNs, "veth-c1")).some((q) => q.handle === ROOT_HANDLE)).toBe(false);
        expect(await timedTransfer(sb.hostNs, c1, "10.77.0.1", 7004, BYTES)).toBeLessThan(shaped / 4);
        await provider.delete!(id, faster); // again: nothing to do
        expect(await provider.read!(id, faster)).toEqual({});
    });

    it("refuses a root qdisc that is not its own, and leaves it on delete", async () => {
        await runCommand(
            tcCommand(sb.hostNs, ["qdisc", "add", "dev", "veth-c1", "root", "handle", "7:", "tbf", "rate", "5mbit", "burst", "5000", "latency", "50ms"]),
        );
        await expect(created(provider, { logicalName: "slow", device: "veth-c1", netns: sb.hostNs, rate: "10mbit" })).rejects.toThrow(
            /already has a root qdisc \(tbf 7:\) that is not this resource's/,
        );
        expect(await rootOf(sb.hostNs, "veth-c1")).toMatchObject({ kind: "tbf", handle: "7:" });
        await expect(created(provider, { logicalName: "slow", device: "nope0", netns: sb.hostNs, rate: "10mbit" })).rejects.toThrow(
            /device "nope0" does not exist/,
        );
    });

    it("bad shapes are refused at check, naming the property", async () => {
        const base = { logicalName: "slow", device: "veth-c1", netns: sb.hostNs };
        const failures = async (extra: object) => (await provider.check!({}, { ...base, ...extra })).failures?.map((f) => f.reason).join("; ");
        expect(await failures({ rate: "fast" })).toMatch(/^rate "fast" is not a rate/);
        expect(await failures({ rate: "10mbit", burst: "-1kb" })).toMatch(/burst "-1kb" is not a size/);
        expect(await failures({ loss: "150%" })).toMatch(/loss "150%" is not a percentage/);
        expect(await failures({ jitter: "5ms" })).toMatch(/jitter varies a delay: set delay too/);
        expect(await failures({})).toMatch(/set rate or a netem option/);
        expect(await failures({ rate: "10mbit; reboot" })).toMatch(/is not a rate/);
    });

    it("netem where the kernel lacks sch_netem: create fails naming the property and the module, and leaves nothing", async (ctx) => {
        const args = { logicalName: "far", device: "veth-c1", netns: sb.hostNs, delay: "40ms", rate: "20mbit" };
        if (await hasNetem(sb.hostNs)) ctx.skip("this kernel has sch_netem: the missing-module error cannot happen here");
        await expect(created(provider, args)).rejects.toThrow(/^delay: the kernel has no sch_netem \(modprobe sch_netem\)/);
        expect((await qdiscs(sb.hostNs, "veth-c1")).some((q) => q.handle === ROOT_HANDLE)).toBe(false);
        // A create without netem works afterwards; adding netem in place fails the same way and keeps the token bucket.
        const { id, outs } = await created(provider, { ...args, delay: undefined });
        expect(await rootOf(sb.hostNs, "veth-c1")).toMatchObject({ kind: "tbf", handle: ROOT_HANDLE });
        await expect(updated(provider, id, outs, { ...args, delay: undefined, loss: "1%" })).rejects.toThrow(/^loss: the kernel has no sch_netem/);
        expect(await rootOf(sb.hostNs, "veth-c1")).toMatchObject({ kind: "tbf", handle: ROOT_HANDLE });
        await provider.delete!(id, outs);
    });

    it("netem: delay shows in a ping's round trip, the token bucket under it, and delete restores the default", async (ctx) => {
        if (!(await hasNetem(sb.hostNs))) ctx.skip("this kernel has no sch_netem (modprobe sch_netem)");
        const args = { logicalName: "far", device: "veth-c1", netns: sb.hostNs, delay: "40ms", rate: "20mbit" };
        const { id, outs } = await created(provider, args);
        expect(await rootOf(sb.hostNs, "veth-c1")).toMatchObject({ kind: "netem", handle: ROOT_HANDLE });
        expect((await qdiscs(sb.hostNs, "veth-c1")).find((q) => q.parent === `${ROOT_HANDLE}1`)).toMatchObject({ kind: "tbf" });
        const started = Date.now();
        await runCommand({ argv: ["ip", "netns", "exec", c1, "ping", "-c", "1", "-W", "2", "10.77.0.1"] });
        expect(Date.now() - started).toBeGreaterThan(40);
        // Between kinds in place: netem off (a token bucket at the root), then netem without a rate.
        const plain = await updated(provider, id, outs, { ...args, delay: undefined });
        expect(await rootOf(sb.hostNs, "veth-c1")).toMatchObject({ kind: "tbf", handle: ROOT_HANDLE });
        const lossy = await updated(provider, id, plain, { ...args, rate: undefined, delay: undefined, loss: "1%" });
        expect((await qdiscs(sb.hostNs, "veth-c1")).map((q) => q.kind)).toEqual(["netem"]);
        await provider.delete!(id, lossy);
        expect((await qdiscs(sb.hostNs, "veth-c1")).some((q) => q.handle === ROOT_HANDLE)).toBe(false);
    });
});
