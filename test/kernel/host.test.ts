import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { expect, it } from "vitest";
import {
    HostCommandError,
    addrList,
    ipBatchCommand,
    ipCommand,
    linkGet,
    linkIsUp,
    netnsAdd,
    netnsDelete,
    netnsExists,
    netnsList,
    routeList,
    runCommand,
    toolCommand,
} from "../../providers/host";
import { INTERNET, ping } from "../support/sandbox";
import { describeKernel, useSandbox } from "../support/kernel";

describeKernel("host command layer on the kernel", () => {
    const sb = useSandbox();

    it("the sandbox reaches its fake internet and nothing else", async () => {
        expect(await ping(sb.hostNs, INTERNET.gateway)).toBe(true);
        expect(await ping(sb.hostNs, INTERNET.server)).toBe(true);
        const routes = await routeList(sb.hostNs, 4);
        expect(routes.find((r) => r.dst === "default")).toMatchObject({ gateway: INTERNET.gateway, dev: "uplink" });
    });

    it("creates, lists and deletes a namespace", async () => {
        const name = sb.ns("extra");
        expect(netnsExists(name)).toBe(false);
        await netnsAdd(name);
        expect(netnsList()).toContain(name);
        const { stdout } = await runCommand(ipCommand(undefined, ["netns", "list"]));
        expect(stdout.split("\n").map((l) => l.split(" ")[0])).toContain(name);
        await netnsDelete(name);
        expect(netnsExists(name)).toBe(false);
        await netnsDelete(name); // already gone: success
    });

    it("deletes namespaces asked for together in shared batches; a failed line fails its own delete only", async () => {
        const names = Array.from({ length: 24 }, (_, i) => sb.ns(`g${i}`));
        await runCommand(
            ipBatchCommand(
                undefined,
                names.map((name) => ["netns", "add", name]),
            ),
        );
        const log = path.join(mkdtempSync(path.join(tmpdir(), "po-log-")), "commands.jsonl");
        const saved = process.env.PULUMI_OVERLAY_COMMAND_LOG;
        // A namespace entry that `ip netns delete` cannot remove (a folder, not a file).
        const stuck = sb.ns("g-stuck");
        mkdirSync(`/run/netns/${stuck}`);
        try {
            process.env.PULUMI_OVERLAY_COMMAND_LOG = log;
            const order = [...names.slice(0, 12), stuck, ...names.slice(12)];
            const outcomes = await Promise.allSettled(order.map((name) => netnsDelete(name)));
            expect(outcomes.filter((o) => o.status === "rejected")).toHaveLength(1);
            const refused = outcomes[12];
            expect(refused.status).toBe("rejected");
            expect(String((refused as PromiseRejectedResult).reason)).toContain(`network namespace "${stuck}"`);
            for (const name of names) expect(netnsExists(name), name).toBe(false);
            // Fewer processes than deletes; each namespace asked for (a batch's input lists the
            // lines after a failed one, which ip does not reach; the next batch has them again).
            const entries = readFileSync(log, "utf8")
                .trim()
                .split("\n")
                .map((line) => JSON.parse(line) as { argv: string[]; input?: string });
            expect(entries.length).toBeLessThan(order.length);
            expect(entries.some((e) => e.argv.includes("-batch") && (e.input ?? "").split("\n").filter(Boolean).length > 1)).toBe(true);
            const asked = entries.flatMap((e) =>
                e.input !== undefined
                    ? e.input
                          .split("\n")
                          .filter(Boolean)
                          .map((l) => l.split(" ")[2])
                    : [e.argv[3]],
            );
            for (const name of names) expect(asked, name).toContain(name);
            for (const name of names.slice(0, 12))
                expect(
                    asked.filter((n) => n === name),
                    name,
                ).toHaveLength(1);
        } finally {
            if (saved === undefined) delete process.env.PULUMI_OVERLAY_COMMAND_LOG;
            else process.env.PULUMI_OVERLAY_COMMAND_LOG = saved;
            rmSync(path.dirname(log), { recursive: true, force: true });
            rmSync(`/run/netns/${stuck}`, { recursive: true, force: true });
        }
    });

    it("creates, reads and deletes a link in one batch process", async () => {
        await runCommand(
            ipBatchCommand(sb.hostNs, [
                ["link", "add", "br-test", "mtu", "1400", "type", "bridge"],
                ["link", "set", "br-test", "alias", "pulumi-overlay:test bridge", "up"],
                ["addr", "add", "10.9.0.1/24", "dev", "br-test"],
            ]),
        );
        const link = await linkGet(sb.hostNs, "br-test");
        expect(link).toMatchObject({ ifname: "br-test", mtu: 1400, ifalias: "pulumi-overlay:test bridge" });
        expect(link?.linkinfo?.info_kind).toBe("bridge");
        expect(linkIsUp(link!)).toBe(true);
        expect(await addrList(sb.hostNs, "br-test")).toContainEqual(expect.objectContaining({ family: "inet", local: "10.9.0.1", prefixlen: 24 }));
        await runCommand(ipCommand(sb.hostNs, ["link", "del", "br-test"]));
        expect(await linkGet(sb.hostNs, "br-test")).toBeUndefined();
        expect(await addrList(sb.hostNs, "br-test")).toBeUndefined();
    });

    it("names a missing namespace", async () => {
        const ghost = sb.ns("ghost");
        const err = await runCommand(ipCommand(ghost, ["link", "show"])).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HostCommandError);
        expect((err as HostCommandError).kind).toBe("noNamespace");
        expect((err as HostCommandError).message).toMatch(new RegExp(`^network namespace "${ghost}" does not exist`));
        const viaExec = await runCommand(toolCommand(ghost, "sysctl", ["-n", "net.ipv4.ip_forward"])).catch((e: unknown) => e);
        expect((viaExec as HostCommandError).kind).toBe("noNamespace");
    });

    it("names an object that already exists", async () => {
        const err = await runCommand({ ...ipCommand(sb.hostNs, ["link", "add", "uplink", "type", "bridge"]), subject: 'bridge "uplink"' }).catch(
            (e: unknown) => e,
        );
        expect((err as HostCommandError).kind).toBe("exists");
        expect((err as HostCommandError).message).toMatch(new RegExp(`^bridge "uplink" already exists in network namespace "${sb.hostNs}"`));
        const nsErr = await netnsAdd(sb.hostNs).catch((e: unknown) => e);
        expect((nsErr as HostCommandError).kind).toBe("exists");
        expect((nsErr as HostCommandError).message).toContain(`network namespace "${sb.hostNs}" already exists`);
        // The existing link is untouched.
        expect((await linkGet(sb.hostNs, "uplink"))?.linkinfo?.info_kind).toBe("veth");
    });

    it("names a missing device in its namespace", async () => {
        const err = await runCommand(ipCommand(sb.hostNs, ["link", "set", "nosuch0", "up"])).catch((e: unknown) => e);
        expect((err as HostCommandError).kind).toBe("noDevice");
        expect((err as HostCommandError).message).toMatch(new RegExp(`^device "nosuch0" does not exist in network namespace "${sb.hostNs}"`));
    });

    it("names the package of a program that is not installed", async () => {
        const err = await runCommand(toolCommand(sb.hostNs, "no-such-tool-xyz", [])).catch((e: unknown) => e);
        expect((err as HostCommandError).kind).toBe("missingBinary");
        const direct = await runCommand({ argv: ["no-such-tool-xyz"] }).catch((e: unknown) => e);
        expect((direct as HostCommandError).kind).toBe("missingBinary");
    });

    it("passes shell metacharacters as plain arguments", async () => {
        const marker = `/tmp/${sb.prefix}-pwned`;
        await runCommand(ipCommand(sb.hostNs, ["link", "set", "uplink", "alias", `$(touch ${marker}); touch ${marker}`]));
        expect((await linkGet(sb.hostNs, "uplink"))?.ifalias).toBe(`$(touch ${marker}); touch ${marker}`);
        expect(existsSync(marker)).toBe(false);
    });
});
