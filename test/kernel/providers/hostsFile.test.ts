import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { ETC_NETNS, netnsAdd, runCommand } from "../../../providers/host";
import { provider } from "../../../providers/hostsFile";
import { UNKNOWN } from "../../../providers/validate";
import { describeKernel, useSandbox } from "../../support/kernel";
import { checked, created, updated } from "../../support/lifecycle";
import { resolveName } from "../../support/sandbox";

describeKernel("HostsFile on the kernel", () => {
    const sb = useSandbox();

    it("names resolve inside the namespaces; update moves them; drift is reported; delete removes only its own files", async () => {
        const [a, b, c] = [sb.ns("a"), sb.ns("b"), sb.ns("c")];
        for (const ns of [a, b, c]) await netnsAdd(ns);
        const entries = [
            { address: "10.0.0.2", names: ["web", a] },
            { address: "10.0.0.3", names: ["db"] },
        ];
        const args = { logicalName: "names", namespaces: [a, b], entries };
        const { id, outs } = await created(provider, args);
        expect(await resolveName(a, "db")).toBe("10.0.0.3");
        expect(await resolveName(b, a)).toBe("10.0.0.2");
        expect(await resolveName(c, "db")).toBe(undefined);
        expect(await resolveName(a, "localhost")).toMatch(/^(127\.0\.0\.1|::1)$/);
        expect(readFileSync("/etc/hosts", "utf8")).not.toContain("10.0.0.3\tdb");

        // Someone edits b's file: refresh says so; the update writes it again.
        writeFileSync(path.join(ETC_NETNS, b, "hosts"), `${readFileSync(path.join(ETC_NETNS, b, "hosts"), "utf8")}10.9.9.9 evil\n`);
        const read = await provider.read!(id, outs);
        expect(read.props.drift).toEqual([`/etc/netns/${b}/hosts is missing or changed`]);
        expect((await provider.diff!(id, read.props, await checked(provider, args, read.inputs))).changes).toBe(true);

        const moved = await updated(provider, id, read.props, { ...args, namespaces: [a, c], nameservers: ["192.0.2.53"] });
        expect(moved.drift).toEqual([]);
        expect(existsSync(path.join(ETC_NETNS, b))).toBe(false);
        expect(await resolveName(c, "web")).toBe("10.0.0.2");
        const resolv = (await runCommand({ argv: ["ip", "netns", "exec", c, "cat", "/etc/resolv.conf"] })).stdout;
        expect(resolv).toContain("nameserver 192.0.2.53");

        // A namespace whose file someone else wrote is refused, and its file left as it was.
        mkdirSync(path.join(ETC_NETNS, b), { recursive: true });
        writeFileSync(path.join(ETC_NETNS, b, "hosts"), "10.1.1.1 theirs\n");
        await expect(updated(provider, id, moved, { ...args, namespaces: [a, b, c] })).rejects.toThrow(/\/hosts exists and was not written by this resource/);
        expect(readFileSync(path.join(ETC_NETNS, b, "hosts"), "utf8")).toBe("10.1.1.1 theirs\n");

        await provider.delete!(id, moved);
        expect(existsSync(path.join(ETC_NETNS, a))).toBe(false);
        expect(existsSync(path.join(ETC_NETNS, c))).toBe(false);
        expect(readFileSync(path.join(ETC_NETNS, b, "hosts"), "utf8")).toBe("10.1.1.1 theirs\n");
        expect(await provider.read!(id, moved)).toEqual({});
    });

    it("refuses names and addresses that are not, naming the property", async () => {
        const check = async (news: object) => (await provider.check!({}, { logicalName: "n", ...news })).failures?.map((f) => f.reason);
        const ns = sb.ns("a");
        expect(await check({ namespaces: [ns], entries: [{ address: "10.0.0.2", names: ["ok", "bad name\n10.6.6.6 evil"] }] })).toEqual([
            "entries[0].names[1] \"bad name\\n10.6.6.6 evil\" is not a host name (letters, digits, '-' and '.')",
        ]);
        expect((await check({ namespaces: ["../etc"], entries: [] }))?.[0]).toMatch(/^namespaces\[0\]/);
        expect((await check({ namespaces: [ns], entries: [{ address: "10.0.0.300", names: ["x"] }] }))?.[0]).toMatch(/^entries\[0\]\.address/);
        expect((await check({ namespaces: [ns], entries: [], nameservers: ["dns.example"] }))?.[0]).toMatch(/^nameservers\[0\]/);
        // At preview the addresses are not leased yet: unknown entries, lists and names pass.
        expect(
            await check({ namespaces: [ns, UNKNOWN], entries: [UNKNOWN, { address: UNKNOWN, names: [UNKNOWN] }, { address: "10.0.0.2", names: UNKNOWN }] }),
        ).toEqual([]);
        expect(await check({ namespaces: UNKNOWN, entries: UNKNOWN })).toEqual([]);
    });
});
