import type * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { UNKNOWN } from "../../../providers/validate";
import { provider as address } from "../../../providers/address";
import { provider as bridge } from "../../../providers/bridge";
import { provider as namespace } from "../../../providers/namespace";
import { provider as natRule } from "../../../providers/natRule";
import { provider as route } from "../../../providers/route";
import { provider as sysctl } from "../../../providers/sysctl";
import { provider as veth } from "../../../providers/veth";

type Case = [string, pulumi.dynamic.ResourceProvider, Record<string, unknown>, string, RegExp];

// Each bad input is refused by check, which names the property and the rule; check never runs a
// host command, so nothing can have been created.
const cases: Case[] = [
    ["namespace name with a slash", namespace, { name: "../etc" }, "name", /starts with '\.'/],
    ["namespace name with a space", namespace, { name: "a b" }, "name", /holds a space/],
    ["bridge name too long", bridge, { name: "averyveryverylongname" }, "name", /^name 'averyveryverylongname' is 21 bytes; interface names are 1 to 15 of/],
    ["bridge name '..'", bridge, { name: ".." }, "name", /starts with '\.'/],
    ["bridge MTU too small", bridge, { name: "br0", mtu: 20 }, "mtu", /from 68 to 65535/],
    ["bridge up not boolean", bridge, { name: "br0", up: "yes" }, "up", /true or false/],
    ["bridge netns with slash", bridge, { name: "br0", netns: "a/b" }, "netns", /'\/'/],
    ["veth peer name with colon", veth, { name: "v0", peer: { name: "eth0:1" } }, "peer.name", /holds ':'/],
    ["veth ends with one name in one namespace", veth, { name: "v0", peer: { name: "v0" } }, "peer.name", /same as name/],
    ["veth master with newline", veth, { name: "v0", peer: { name: "v1" }, master: "br0\nx" }, "master", /holds U\+000A/],
    ["address without prefix", address, { device: "br0", address: "10.0.0.1" }, "address", /prefix length/],
    ["address with bad octet", address, { device: "br0", address: "10.0.0.300/24" }, "address", /not an address/],
    ["address on a bad device name", address, { device: "a b", address: "10.0.0.1/24" }, "device", /holds a space/],
    ["route with host bits", route, { destination: "10.1.0.5/24", gateway: "10.0.0.1" }, "destination", /host bits set; the network is 10.1.0.0\/24/],
    ["route with neither gateway nor device", route, { destination: "10.1.0.0/24" }, "gateway", /needs a gateway or a device/],
    ["route with a gateway of the other family", route, { destination: "10.1.0.0/24", gateway: "fd00::1" }, "gateway", /IPv6 but destination .* is IPv4/],
    ["route with a bad gateway", route, { destination: "default", gateway: "10.0.0" }, "gateway", /not an IPv4 or IPv6 address/],
    ["route with a negative metric", route, { destination: "default", device: "eth0", metric: -1 }, "metric", /route metric/],
    ["route without destination", route, { gateway: "10.0.0.1" }, "destination", /required/],
    ["nat of unknown type", natRule, { type: "redirect" }, "type", /one of 'masquerade', 'snat', 'dnat'/],
    ["snat without toAddress", natRule, { type: "snat", source: "10.0.0.0/24" }, "toAddress", /needs toAddress/],
    ["dnat matching outInterface", natRule, { type: "dnat", toAddress: "10.0.0.2", outInterface: "eth0" }, "outInterface", /PREROUTING/],
    ["masquerade matching inInterface", natRule, { type: "masquerade", inInterface: "eth0" }, "inInterface", /POSTROUTING/],
    ["port without protocol", natRule, { type: "dnat", toAddress: "10.0.0.2", port: 80 }, "port", /needs a protocol/],
    ["port out of range", natRule, { type: "dnat", toAddress: "10.0.0.2", protocol: "tcp", port: 70000 }, "port", /from 1 to 65535/],
    ["mixed families", natRule, { type: "snat", source: "10.0.0.0/24", toAddress: "fd00::1" }, "toAddress", /IPv6 but source is IPv4/],
    ["masquerade with toAddress", natRule, { type: "masquerade", toAddress: "10.0.0.1" }, "toAddress", /use type 'snat'/],
    ["sysctl key escaping /proc/sys", sysctl, { key: "net/../../etc/passwd", value: 1 }, "key", /mixes/],
    ["sysctl key with shell metacharacters", sysctl, { key: "net.ipv4.ip_forward;reboot", value: 1 }, "key", /not a sysctl key/],
    ["sysctl value with a newline", sysctl, { key: "net.ipv4.ip_forward", value: "1\n0" }, "value", /one-line/],
    ["sysctl without value", sysctl, { key: "net.ipv4.ip_forward" }, "value", /required/],
    ["namespace named all", namespace, { name: "all" }, "name", /every namespace/],
    ["namespace name starting with a quote", namespace, { name: "'x''sh''-c''id>f'" }, "name", /holds '''/],
    ["bridge named like an iptables wildcard", bridge, { name: "abc+" }, "name", /wildcard/],
    ["bridge name with a kernel template", bridge, { name: "x%d" }, "name", /template/],
    ["bridge named lo", bridge, { name: "lo" }, "name", /loopback/],
    ["veth peer named lo", veth, { name: "v0", peer: { name: "lo" } }, "peer.name", /loopback/],
    ["address with a prefix ip reads as octal", address, { device: "br0", address: "10.0.0.1/010" }, "address", /not an address/],
    ["address 0.0.0.0/0", address, { device: "br0", address: "0.0.0.0/0" }, "address", /unspecified/],
    ["route via an unspecified gateway", route, { destination: "default", gateway: "0.0.0.0" }, "gateway", /unspecified/],
    ["nat out of an interface pattern", natRule, { type: "masquerade", outInterface: "up+" }, "outInterface", /wildcard/],
    ["nat into a negated interface", natRule, { type: "dnat", toAddress: "10.0.0.2", inInterface: "!eth0" }, "inInterface", /negation/],
    ["sysctl key read as an option", sysctl, { key: "-p/etc/x", value: 1 }, "key", /not starting with '-'/],
    ["sysctl key of the whole machine in a namespace", sysctl, { key: "kernel.hostname", value: "x", netns: "lab" }, "key", /not per network namespace/],
    ["sysctl key mixing slashes and dots", sysctl, { key: "net/ipv4.ip_forward", value: 1 }, "key", /mixes '\/' and '\.'/],
];

describe("check refuses bad input, naming the property", () => {
    it.each(cases)("%s", async (_title, provider, news, property, reason) => {
        const result = await provider.check!({}, { logicalName: "t", ...news });
        const failure = result.failures?.find((f) => f.property === property);
        expect(failure, JSON.stringify(result.failures)).toBeDefined();
        expect(failure!.reason).toMatch(reason);
    });
});

describe("check copes with values unknown during preview", () => {
    it.each([
        [bridge, { name: UNKNOWN, netns: UNKNOWN }],
        [veth, { name: "v0", netns: UNKNOWN, master: UNKNOWN, peer: { name: "eth0", netns: UNKNOWN } }],
        [address, { device: UNKNOWN, address: "10.0.0.2/24", netns: UNKNOWN }],
        [route, { destination: "default", gateway: UNKNOWN, netns: UNKNOWN }],
        [natRule, { type: "masquerade", source: UNKNOWN, outInterface: UNKNOWN }],
        [sysctl, { key: "net.ipv4.ip_forward", value: UNKNOWN, netns: UNKNOWN }],
    ] as const)("%#", async (provider, news) => {
        const result = await provider.check!({}, { logicalName: "t", ...news });
        expect(result.failures).toEqual([]);
    });
});

describe("check fills in defaults and normalises", () => {
    it("bridge up and stp", async () => {
        expect((await bridge.check!({}, { logicalName: "b", name: "br0" })).inputs).toEqual({
            logicalName: "b",
            name: "br0",
            up: true,
            stp: false,
            mark: expect.stringMatching(/^pulumi-overlay:b:[0-9a-f]{8}$/),
        });
    });
    it("keeps the ownership mark once chosen", async () => {
        const first = await bridge.check!({}, { logicalName: "b", name: "br0" });
        expect((await bridge.check!(first.inputs, { logicalName: "b", name: "br0" })).inputs.mark).toBe(first.inputs.mark);
    });
    it("veth peer name", async () => {
        const { inputs } = await veth.check!({}, { logicalName: "c1", peer: { netns: "c1" } });
        expect(inputs.peer.name).toMatch(/^c1-p-[0-9a-f]{4}$/);
        expect(inputs.peer.netns).toBe("c1");
    });
    it("sysctl values as the kernel prints them", async () => {
        expect((await sysctl.check!({}, { logicalName: "s", key: "net.ipv4.tcp_rmem", value: "4096\t87380   6291456" })).inputs.value).toBe(
            "4096 87380 6291456",
        );
        expect((await sysctl.check!({}, { logicalName: "s", key: "net.ipv4.ip_forward", value: 1 })).inputs.value).toBe("1");
    });
});
