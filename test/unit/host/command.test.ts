import { describe, expect, it } from "vitest";
import { SharedReads, ipBatchCommand, ipCommand, quoteBatchArg, runCommand, toolCommand } from "../../../providers/host";

describe("argument vectors", () => {
    it("targets a namespace with ip -n, or none for the root namespace", () => {
        expect(ipCommand("lab", ["link", "show"]).argv).toEqual(["ip", "-n", "lab", "link", "show"]);
        expect(ipCommand(undefined, ["link", "show"]).argv).toEqual(["ip", "link", "show"]);
        expect(ipCommand("lab", ["link"]).netns).toBe("lab");
    });
    it("runs tools without -n through ip netns exec", () => {
        expect(toolCommand("lab", "iptables", ["-w", "-t", "nat", "-S"]).argv).toEqual(["ip", "netns", "exec", "lab", "iptables", "-w", "-t", "nat", "-S"]);
        expect(toolCommand(undefined, "sysctl", ["-n", "net.ipv4.ip_forward"]).argv).toEqual(["sysctl", "-n", "net.ipv4.ip_forward"]);
    });
    it("keeps metacharacters as plain arguments", () => {
        const cmd = ipCommand("lab", ["link", "set", "x", "alias", "$(reboot); `id` | && >"]);
        expect(cmd.argv.at(-1)).toBe("$(reboot); `id` | && >");
    });
    it("builds one ip -batch process for several steps", () => {
        const cmd = ipBatchCommand("lab", [
            ["link", "add", "br0", "type", "bridge"],
            ["link", "set", "br0", "alias", "pulumi-overlay:lab bridge", "up"],
        ]);
        expect(cmd.argv).toEqual(["ip", "-n", "lab", "-batch", "-"]);
        expect(cmd.input).toBe('link add br0 type bridge\nlink set br0 alias "pulumi-overlay:lab bridge" up\n');
    });
    it("quotes batch arguments so that ip's batch parser reads them back whole, or refuses them", () => {
        expect(quoteBatchArg("br0")).toBe("br0");
        expect(quoteBatchArg('a"b')).toBe('a"b'); // a quote inside a word is plain text to the parser
        expect(quoteBatchArg("a\\b")).toBe("a\\b");
        expect(quoteBatchArg("")).toBe('""');
        expect(quoteBatchArg("a b")).toBe('"a b"');
        expect(quoteBatchArg("'x''sh''-c''id>f'")).toBe(`"'x''sh''-c''id>f'"`); // a leading quote starts quoting
        expect(quoteBatchArg('"x y')).toBe(`'"x y'`);
        expect(quoteBatchArg("x\\")).toBe('"x\\"'); // bare, a trailing backslash would join the next line
        for (const bad of ["a\nlink del eth0", "a#b", "a\rb", "a\0", `'a "b'`]) {
            expect(() => quoteBatchArg(bad), JSON.stringify(bad)).toThrow(/cannot be passed to ip -batch/);
        }
    });
});

describe("shared reads", () => {
    it("share a read until a command that may change the kernel runs, and never keep a failed one", async () => {
        const reads = new SharedReads<number>();
        let made = 0;
        const read = async () => ++made;
        expect(await Promise.all([reads.get("a", read), reads.get("a", read), reads.get("b", read)])).toEqual([1, 1, 2]);
        await runCommand({ argv: ["true"], readOnly: true });
        expect(await reads.get("a", read)).toBe(1); // a read-only command changes nothing
        await runCommand({ argv: ["true"] });
        expect(await reads.get("a", read)).toBe(3);
        await expect(reads.get("c", async () => Promise.reject(new Error("no")))).rejects.toThrow("no");
        expect(await reads.get("c", read)).toBe(4);
    });
});
