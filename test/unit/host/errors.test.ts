import { describe, expect, it } from "vitest";
import { HostCommandError, explainFailure, formatCommand } from "../../../providers/host";

// The stderr texts below are what iproute2 6.x, iptables 1.8 and the kernel print (C locale).
describe("explainFailure", () => {
    it("turns EPERM into a CAP_NET_ADMIN hint", () => {
        const r = explainFailure({ command: ["ip", "link", "add", "br0", "type", "bridge"], stderr: "RTNETLINK answers: Operation not permitted" });
        expect(r.kind).toBe("permission");
        expect(r.summary).toMatch(/CAP_NET_ADMIN; run as root/);
    });
    it("names the object that already exists and where", () => {
        const r = explainFailure({
            command: ["ip", "-n", "lab", "link", "add", "br0"],
            netns: "lab",
            stderr: "RTNETLINK answers: File exists",
            subject: 'bridge "br0"',
        });
        expect(r.kind).toBe("exists");
        expect(r.summary).toMatch(/^bridge "br0" already exists in network namespace "lab"/);
    });
    it("names the missing device and namespace", () => {
        const r = explainFailure({ command: ["ip", "-n", "lab", "link", "set", "veth9", "up"], netns: "lab", stderr: 'Cannot find device "veth9"' });
        expect(r.kind).toBe("noDevice");
        expect(r.summary).toMatch(/^device "veth9" does not exist in network namespace "lab"/);
        const r2 = explainFailure({ command: ["ip", "addr", "add", "10.0.0.1/24", "dev", "x"], stderr: 'Device "x" does not exist.' });
        expect(r2.kind).toBe("noDevice");
        expect(r2.summary).toMatch(/in the root network namespace/);
        const r3 = explainFailure({ command: ["ip", "link", "set", "v", "master", "br9"], stderr: 'Error: argument "br9" is wrong: Device does not exist' });
        expect(r3.summary).toMatch(/^device "br9" does not exist/);
    });
    it("names the missing namespace", () => {
        const r = explainFailure({
            command: ["ip", "-n", "ghost", "link"],
            netns: "ghost",
            stderr: 'Cannot open network namespace "ghost": No such file or directory',
        });
        expect(r.kind).toBe("noNamespace");
        expect(r.summary).toMatch(/^network namespace "ghost" does not exist/);
        // nsenter's words (util-linux 2.38), for a batch entered with nsenter --net.
        const viaNsenter = explainFailure({
            command: ["nsenter", "--net=/run/netns/ghost", "ip", "-batch", "-"],
            netns: "ghost",
            stderr: "nsenter: cannot open /run/netns/ghost: No such file or directory",
        });
        expect(viaNsenter).toEqual({
            kind: "noNamespace",
            summary: 'network namespace "ghost" does not exist: create it first (ip netns add ghost) or fix the netns property',
        });
    });
    it("names the Debian package of a missing program", () => {
        const spawnError = Object.assign(new Error("spawn iptables ENOENT"), { code: "ENOENT" });
        const r = explainFailure({ command: ["iptables", "-S"], stderr: "", cause: spawnError });
        expect(r).toEqual({
            kind: "missingBinary",
            summary: '"iptables" is not installed on this host: install the Debian package iptables (apt-get install iptables)',
        });
        const inNs = explainFailure({
            command: ["ip", "netns", "exec", "lab", "nft", "list", "ruleset"],
            netns: "lab",
            stderr: 'exec of "nft" failed: No such file or directory',
        });
        expect(inNs.summary).toMatch(/Debian package nftables/);
        const inNsenter = explainFailure({
            command: ["nsenter", "--net=/run/netns/lab", "ip", "-batch", "-"],
            netns: "lab",
            stderr: "nsenter: failed to execute ip: No such file or directory",
        });
        expect(inNsenter.summary).toBe('"ip" is not installed on this host: install the Debian package iproute2 (apt-get install iproute2)');
        const noNsenter = explainFailure({ command: ["nsenter", "--net=/run/netns/lab", "ip", "link"], stderr: "", cause: { code: "ENOENT" } });
        expect(noNsenter.summary).toMatch(/"nsenter" is not installed on this host: install the Debian package util-linux/);
        const refused = explainFailure({
            command: ["nsenter", "--net=/run/netns/lab", "ip", "link"],
            netns: "lab",
            stderr: "RTNETLINK answers: Operation not permitted",
        });
        expect(refused.summary).toMatch(/^ip was refused by the kernel in network namespace "lab"/);
        const noIp = explainFailure({ command: ["ip", "link"], stderr: "", cause: { code: "ENOENT" } });
        expect(noIp.summary).toMatch(/iproute2/);
    });
    it("keeps the tool's own words otherwise", () => {
        const r = explainFailure({
            command: ["ip", "route", "add", "10.0.0.7/24", "dev", "br0"],
            stderr: "Error: Invalid prefix for given prefix length.",
            exitCode: 1,
        });
        expect(r.kind).toBe("failed");
        expect(r.summary).toBe("ip failed in the root network namespace: Error: Invalid prefix for given prefix length.");
    });
});

describe("HostCommandError", () => {
    it("carries command, exit code, stderr and cause, and prints the command", () => {
        const cause = new Error("ip exited with 1");
        const err = new HostCommandError({ command: ["ip", "link", "set", "a b", "up"], exitCode: 1, stderr: 'Cannot find device "a b"', cause });
        expect(err).toBeInstanceOf(Error);
        expect(err.kind).toBe("noDevice");
        expect(err.exitCode).toBe(1);
        expect(err.cause).toBe(cause);
        expect(err.message).toContain("command: ip link set 'a b' up");
    });
    it("quotes for display only", () => {
        expect(formatCommand(["ip", "-n", "lab", "link", "set", "x", "alias", "it's here"])).toBe("ip -n lab link set x alias 'it'\\''s here'");
    });
});

describe("answers that mean 'already there' or 'not there'", () => {
    it.each([
        ["Error: ipv4: Address already assigned.", "exists"],
        ["RTNETLINK answers: File exists", "exists"],
        ["Error: ipv4: Address not found.", "notFound"],
        ["RTNETLINK answers: Cannot assign requested address", "notFound"],
        ["RTNETLINK answers: No such process", "notFound"],
        ["iptables: Bad rule (does a matching rule exist in that chain?).", "notFound"],
    ])("%s -> %s", (stderr, kind) => {
        expect(explainFailure({ command: ["ip", "addr", "add"], stderr }).kind).toBe(kind);
    });
});
