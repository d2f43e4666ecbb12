import { describe, expect, it } from "vitest";
import {
    UNKNOWN,
    checkAddress,
    checkInterfaceCidr,
    checkInterfaceName,
    checkMtu,
    checkNamespaceName,
    checkNetworkCidr,
    checkNewInterfaceName,
    checkRecordName,
    checkUnicastAddress,
    sameAddress,
    checkSysctlKey,
    checkSysctlValue,
    familyOf,
} from "../../../providers/validate";

describe("checkInterfaceName", () => {
    it.each(["br0", "eth0.100", "veth-c1", "a", "x".repeat(15), "_x", "9z", "help", "up"])("accepts %j", (name) => {
        expect(checkInterfaceName("name", name)).toBeUndefined();
    });
    it("names the property, the value, the length and the rule", () => {
        expect(checkInterfaceName("name", "averyveryverylongname")).toEqual({
            property: "name",
            reason: "name 'averyveryverylongname' is 21 bytes; interface names are 1 to 15 of ASCII letters, digits, '_', '.' and '-', not starting with '.' or '-'",
        });
    });
    it.each([
        ["", /empty/],
        [".", /starts with '\.'/],
        ["..", /starts with '\.'/],
        ["a/b", /holds '\/'/],
        ["a:b", /holds ':'/],
        ["a b", /holds a space/],
        ["a\tb", /"a\\tb" holds U\+0009/],
        ["a\nb", /holds U\+000A/],
        ["a\0b", /holds U\+0000/],
        ["a\u0001b", /holds U\+0001/],
        ["-x", /starts with '-'/],
        ["'x", /holds '''.*quoting/],
        ['"x', /holds '"'/],
        ["abc+", /trailing '\+' as a wildcard/],
        ["!x", /negation/],
        ["x%d", /name template/],
        ["a#b", /comment/],
        ["\u00fc", /holds U\+00FC/],
        ["a\u00a0b", /holds U\+00A0/],
        ["all", /per-interface settings/],
        ["default", /per-interface settings/],
        [42, /must be a string/],
    ])("refuses %j", (name, reason) => {
        const failure = checkInterfaceName("peer.name", name);
        expect(failure?.property).toBe("peer.name");
        expect(failure?.reason).toMatch(reason);
    });
    it("refuses lo for an interface to create, but not as a device to use", () => {
        expect(checkNewInterfaceName("peer.name", "lo")?.reason).toMatch(/loopback/);
        expect(checkInterfaceName("device", "lo")).toBeUndefined();
    });
    it("lets a value that is unknown during preview through", () => {
        expect(checkInterfaceName("name", UNKNOWN)).toBeUndefined();
    });
});

describe("checkNamespaceName", () => {
    it.each(["lab", "c1", "pot1-host", "x".repeat(255), "with.dots", "_x"])("accepts %j", (name) => {
        expect(checkNamespaceName("netns", name)).toBeUndefined();
    });
    it.each([
        ["", /empty/],
        [".", /starts with '\.'/],
        ["..", /starts with '\.'/],
        ["../etc", /starts with '\.'/],
        ["a/b", /holds '\/'/],
        ["a b", /holds a space/],
        ["x".repeat(256), /256 bytes/],
        ["-n", /starts with '-'/],
        ["'x''sh''-c''id>f'", /holds '''/],
        ["all", /every namespace/],
    ])("refuses %j", (name, reason) => {
        expect(checkNamespaceName("netns", name)?.reason).toMatch(reason);
    });
});

describe("checkRecordName", () => {
    it("keeps a pool one folder inside the state directory", () => {
        expect(checkRecordName("pool", "br0")).toBeUndefined();
        expect(checkRecordName("pool", "..")?.reason).toMatch(/starts with '\.'/);
        expect(checkRecordName("pool", "a/b")?.reason).toMatch(/holds '\/'/);
        expect(checkRecordName("pool", "x".repeat(65))?.reason).toMatch(/65 bytes/);
    });
});

describe("addresses and CIDRs", () => {
    it.each(["10.0.0.1", "203.0.113.1", "::1", "fd00::1", "2001:db8::"])("accepts address %j", (a) => {
        expect(checkAddress("gateway", a)).toBeUndefined();
    });
    it.each(["10.1", "10.0.0.256", "10.0.0.1/24", "fe80::1%eth0", "host.example", "", "1.2.3.4 ", "0x0a000001"])("refuses address %j", (a) => {
        expect(checkAddress("gateway", a)?.reason).toMatch(/^gateway .* is not an IPv4 or IPv6 address/);
    });
    it.each(["10.0.0.2/24", "10.0.0.0/8", "fd00::2/64", "::ffff:10.0.0.1/120", "10.0.0.1/0"])("accepts interface CIDR %j", (c) => {
        expect(checkInterfaceCidr("address", c)).toBeUndefined();
    });
    it.each([
        "10.0.0.2",
        "10.0.0.2/33",
        "fd00::2/129",
        "10.0.0.2/",
        "/24",
        "10.0.0.2/24/1",
        "10.0.0.2/0x8",
        "10.0.0.2/010",
        "010.0.0.2/24",
        "::ffff:010.0.0.1/120",
    ])("refuses interface CIDR %j (numbers ip would read otherwise among them)", (c) => {
        expect(checkInterfaceCidr("address", c)?.reason).toMatch(/^address .* is not an address with a prefix length/);
    });
    it.each([
        ["0.0.0.0/0", /unspecified/],
        ["::/0", /unspecified/],
        ["224.0.0.1/4", /multicast/],
        ["ff02::1/64", /multicast/],
        ["255.255.255.255/32", /broadcast/],
    ])("refuses %j as an address a host holds", (c, reason) => {
        expect(checkInterfaceCidr("address", c)?.reason).toMatch(reason);
    });
    it("refuses a gateway that is not unicast", () => {
        expect(checkUnicastAddress("gateway", "0.0.0.0")?.reason).toMatch(/unspecified/);
        expect(checkUnicastAddress("gateway", "10.0.0.1")).toBeUndefined();
    });
    it("compares addresses as the kernel prints them and as they are written", () => {
        expect(sameAddress("::ffff:10.0.0.1", "::ffff:a00:1")).toBe(true);
        expect(sameAddress("fd00::0001", "fd00::1")).toBe(true);
        expect(sameAddress("10.0.0.1", "::ffff:10.0.0.1")).toBe(false);
    });
    it("refuses a network with host bits set and says which network was meant", () => {
        expect(checkNetworkCidr("destination", "10.0.0.7/24")?.reason).toBe("destination '10.0.0.7/24' has host bits set; the network is 10.0.0.0/24");
        expect(checkNetworkCidr("destination", "fd00::1/64")?.reason).toMatch(/the network is fd00::\/64/);
    });
    it.each(["10.0.0.0/24", "198.51.100.7", "fd00::/64", "0.0.0.0/0", "10.0.0.128/25"])("accepts network %j", (c) => {
        expect(checkNetworkCidr("destination", c)).toBeUndefined();
    });
    it("tells the family", () => {
        expect(familyOf("10.0.0.1")).toBe(4);
        expect(familyOf("10.0.0.0/24")).toBe(4);
        expect(familyOf("fd00::/64")).toBe(6);
        expect(familyOf("nonsense")).toBeUndefined();
    });
});

describe("numbers and sysctls", () => {
    it("checks MTU bounds", () => {
        expect(checkMtu("mtu", 1500)).toBeUndefined();
        expect(checkMtu("mtu", 67)?.reason).toBe("mtu 67 is not a valid MTU: an integer from 68 to 65535");
        expect(checkMtu("mtu", 1500.5)?.property).toBe("mtu");
        expect(checkMtu("mtu", "1500")?.property).toBe("mtu");
    });
    it.each(["net.ipv4.ip_forward", "net.ipv4.conf.br0.forwarding", "net/ipv4/conf/eth0.100/forwarding", "net.ipv6.conf.all.disable_ipv6"])(
        "accepts sysctl key %j",
        (key) => expect(checkSysctlKey("key", key)).toBeUndefined(),
    );
    it.each([
        "ip_forward",
        "net..ipv4",
        "net/../../etc/passwd",
        "net.ipv4.ip_forward;reboot",
        "net.ipv4.ip forward",
        "",
        "net.ipv4.ip_forward=1",
        "-p/etc/x.conf",
        "net.-p",
        "net/-p/x",
    ])("refuses sysctl key %j", (key) => expect(checkSysctlKey("key", key)?.reason).toMatch(/^key .* (is not a sysctl key|mixes)/));
    it("refuses a key that mixes slashes and dots, saying so", () => {
        expect(checkSysctlKey("key", "net/ipv4.ip_forward")?.reason).toMatch(/mixes '\/' and '\.'/);
    });
    it("with netns, refuses keys that are not per network namespace", () => {
        for (const key of ["kernel.hostname", "vm.swappiness", "fs.file-max", "kernel/core_pattern"]) {
            expect(checkSysctlKey("key", key, "lab")?.reason, key).toMatch(/not per network namespace/);
            expect(checkSysctlKey("key", key)).toBeUndefined();
        }
        expect(checkSysctlKey("key", "net.ipv4.ip_forward", "lab")).toBeUndefined();
    });
    it("checks sysctl values", () => {
        expect(checkSysctlValue("value", 1)).toBeUndefined();
        expect(checkSysctlValue("value", "4096 87380 6291456")).toBeUndefined();
        expect(checkSysctlValue("value", "1\n0")?.property).toBe("value");
        expect(checkSysctlValue("value", "")?.property).toBe("value");
        expect(checkSysctlValue("value", true)?.property).toBe("value");
    });
});
