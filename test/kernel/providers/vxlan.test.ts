/**
 * Vxlan on the kernel: two namespaces play two hosts on an underlay bridge (192.0.2.0/24), each
 * with a bridge and a container; a Vxlan on each side joins the bridges. The containers ping each
 * other across it, a full-size packet with the don't-fragment bit passes at the network's MTU and
 * one byte more does not, an FDB entry removed by hand is drift that an update repairs, remotes
 * change in place, and delete leaves the host as it was.
 */
import { beforeEach, expect, it } from "vitest";
import { bridgeCommand, ipBatchCommand, netnsAdd, runCommand, runJson, toolCommand } from "../../../providers/host";
import { provider } from "../../../providers/vxlan";
import { created, updated } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";
import { ping, snapshot } from "../../support/sandbox";

type Props = Record<string, any>;

/** The all-zero FDB entries of a device: its remotes. */
async function remotes(netns: string, device: string): Promise<string[]> {
    const rows = await runJson<{ mac: string; dst?: string }[]>(bridgeCommand(netns, ["-j", "fdb", "show", "dev", device]));
    return rows.filter((r) => r.mac === "00:00:00:00:00:00").map((r) => r.dst ?? "");
}

/** `ping -M do -s SIZE`: true when a packet of that size crosses without fragmenting. */
async function pingDf(netns: string, address: string, size: number): Promise<boolean> {
    try {
        await runCommand(toolCommand(netns, "ping", ["-n", "-q", "-c", "1", "-W", "2", "-M", "do", "-s", String(size), address]));
        return true;
    } catch {
        return false;
    }
}

describeKernel("Vxlan on the kernel", () => {
    const sb = useSandbox();
    let hosts: { ns: string; underlay: string; container: string; address: string }[];

    beforeEach(async () => {
        const underlay = sb.ns("u");
        hosts = [
            { ns: sb.ns("h1"), underlay: "192.0.2.11", container: sb.ns("c1"), address: "10.90.0.1" },
            { ns: sb.ns("h2"), underlay: "192.0.2.12", container: sb.ns("c2"), address: "10.90.0.2" },
        ];
        await netnsAdd(underlay);
        await runCommand(
            ipBatchCommand(underlay, [
                ["link", "add", "ubr", "type", "bridge"],
                ["link", "set", "ubr", "up"],
            ]),
        );
        for (const [i, h] of hosts.entries()) {
            await netnsAdd(h.ns);
            await netnsAdd(h.container);
            // No duplicate address detection: link-local addresses are final at once, so the
            // before and after snapshots do not differ by a DAD that finished in between.
            await runCommand(toolCommand(h.ns, "sysctl", ["-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]));
            await runCommand(
                ipBatchCommand(underlay, [
                    ["link", "add", `u${i}`, "type", "veth", "peer", "name", "eth0", "netns", h.ns],
                    ["link", "set", `u${i}`, "master", "ubr", "up"],
                ]),
            );
            await runCommand(
                ipBatchCommand(h.ns, [
                    ["link", "set", "lo", "up"],
                    ["addr", "add", `${h.underlay}/24`, "dev", "eth0"],
                    ["link", "set", "eth0", "up"],
                    ["link", "add", "br0", "type", "bridge"],
                    ["link", "set", "br0", "up"],
                    ["link", "add", "ve", "type", "veth", "peer", "name", "eth0", "netns", h.container],
                    ["link", "set", "ve", "master", "br0", "mtu", "1450", "up"],
                ]),
            );
            await runCommand(
                ipBatchCommand(h.container, [
                    ["link", "set", "lo", "up"],
                    ["link", "set", "eth0", "mtu", "1450", "up"],
                    ["addr", "add", `${h.address}/24`, "dev", "eth0"],
                ]),
            );
        }
    });

    const args = (i: number): Props => ({
        logicalName: `vx${i}`,
        name: "vx42",
        vni: 42,
        localAddress: hosts[i].underlay,
        remotes: [hosts[1 - i].underlay],
        master: "br0",
        mtu: 1450,
        netns: hosts[i].ns,
    });

    it("joins two bridges across the underlay: pings, the MTU, drift, remotes in place, delete", async () => {
        const before = await Promise.all(hosts.map((h) => snapshot(h.ns)));
        expect(await ping(hosts[0].container, hosts[1].address, 1)).toBe(false); // two separate bridges

        const made = [await created(provider, args(0)), await created(provider, args(1))];
        expect(made[0].outs).toMatchObject({ vni: 42, dstPort: 4789, mtu: 1450, up: true, remotes: ["192.0.2.12"] });
        const link = (await runJson<Props[]>(toolCommand(hosts[0].ns, "ip", ["-j", "-d", "link", "show", "vx42"])))[0];
        expect(link.linkinfo.info_data).toMatchObject({ id: 42, port: 4789, local: "192.0.2.11", learning: false });
        expect(link.master).toBe("br0");
        expect(await remotes(hosts[0].ns, "vx42")).toEqual(["192.0.2.12"]);

        expect(await ping(hosts[0].container, hosts[1].address)).toBe(true);
        expect(await pingDf(hosts[0].container, hosts[1].address, 1450 - 28)).toBe(true); // a full-size packet at the network's MTU
        expect(await pingDf(hosts[0].container, hosts[1].address, 1450 - 27)).toBe(false);
        expect((await provider.read!(made[0].id, made[0].outs)).props).not.toHaveProperty("drift");

        // Drift: the FDB entry removed by hand. Read says so, diff asks for an update, update repairs it.
        await runCommand(bridgeCommand(hosts[0].ns, ["fdb", "del", "00:00:00:00:00:00", "dev", "vx42", "dst", "192.0.2.12"]));
        expect(await ping(hosts[0].container, hosts[1].address, 1)).toBe(false);
        const read = (await provider.read!(made[0].id, made[0].outs)).props as Props;
        expect(read.drift).toEqual(["remotes"]);
        expect(read.remotes).toEqual([]);
        const checked = (await provider.check!(read, args(0))).inputs as Props;
        expect(await provider.diff!(made[0].id, read, checked)).toMatchObject({ changes: true, replaces: [] });
        const repaired = (await provider.update!(made[0].id, read, checked)).outs as Props;
        expect(repaired).not.toHaveProperty("drift");
        expect(await ping(hosts[0].container, hosts[1].address)).toBe(true);

        // Remotes change in place: one more (a third host), then back.
        const three = await updated(provider, made[0].id, repaired, { ...args(0), remotes: ["192.0.2.12", "192.0.2.13"] });
        expect((await remotes(hosts[0].ns, "vx42")).sort()).toEqual(["192.0.2.12", "192.0.2.13"]);
        const two = await updated(provider, made[0].id, three, args(0));
        expect(await remotes(hosts[0].ns, "vx42")).toEqual(["192.0.2.12"]);
        expect(await ping(hosts[0].container, hosts[1].address)).toBe(true);

        await provider.delete!(made[0].id, two);
        await provider.delete!(made[1].id, made[1].outs);
        await provider.delete!(made[1].id, made[1].outs); // gone is success
        expect(await Promise.all(hosts.map((h) => snapshot(h.ns)))).toEqual(before);
    });

    it("refuses a link of that name that is not its own, and leaves it", async () => {
        await runCommand(ipBatchCommand(hosts[0].ns, [["link", "add", "vx42", "type", "vxlan", "id", "7", "dstport", "4789"]]));
        await expect(created(provider, args(0))).rejects.toThrow(/already exists .* is not this resource's/);
        const link = (await runJson<Props[]>(toolCommand(hosts[0].ns, "ip", ["-j", "-d", "link", "show", "vx42"])))[0];
        expect(link.linkinfo.info_data.id).toBe(7);
    });

    it("checks its arguments: VNI range, addresses, families, duplicates", async () => {
        const failures = async (news: Props) => ((await provider.check!({}, { ...args(0), ...news })).failures ?? []).map((f) => f.property);
        expect(await failures({ vni: 0 })).toEqual(["vni"]);
        expect(await failures({ vni: 16777216 })).toEqual(["vni"]);
        expect(await failures({ remotes: ["192.0.2.300"] })).toEqual(["remotes[0]"]);
        expect(await failures({ remotes: ["fd00::2"] })).toEqual(["remotes[0]"]);
        expect(await failures({ remotes: ["192.0.2.12", "192.0.2.12"] })).toEqual(["remotes[1]"]);
        expect(await failures({ dstPort: 70000 })).toEqual(["dstPort"]);
        expect(await failures({ master: "br 0" })).toEqual(["master"]);
        expect(await failures({ localAddress: "224.0.0.1" })).toEqual(["localAddress"]);
        expect(await failures({})).toEqual([]);
    });
});
