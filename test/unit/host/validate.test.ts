import { describe, expect, it } from "vitest";
import {
    UNKNOWN,
    checkAddress,
    checkInterfaceCidr,
    checkInterfaceName,
    checkMtu,
    checkNamespaceName,
    checkNetworkCidr,
    checkSysctlKey,
    checkSysctlValue,
    familyOf,
} from "../../../providers/host";

describe("checkInterfaceName", () => {
    it.each(["br0", "eth0.100", "veth-c1", "a", "x".repeat(15), "ü".repeat(7)])("accepts %j", (name) => {
        expect(checkInterfaceName("name", name)).toBeUndefined();
    });
    it("names the property, the length and the limit", () => {
        expect(checkInterfaceName("name", "averyveryverylongname")).toEqual({
            property: "name",
            reason: "name 'averyveryverylongname' is 21 bytes; Linux interface names are at most 15",
        });
    });
    it("counts bytes, not characters", () => {
        expect(checkInterfaceName("name", "ü".repeat(8))?.reason).toMatch(/16 bytes/);
    });
    it.each([
        ["", /empty/],
        [".", /not allowed/],
        ["..", /not allowed/],
        ["a/b", /'\/'/],
        ["a:b", /contains ":"/],
        ["a b", /contains " "/],
        ["a\tb", /contains "\\t"/],
        ["a\nb", /contains "\\n"/],
        ["a\0b", /contains "\\u0000"/],
        ["-x", /starts with '-'/],
        [42, /must be a string/],
    ])("refuses %j", (name, reason) => {
        const failure = checkInterfaceName("peer.name", name);
        expect(failure?.property).toBe("peer.name");
        expect(failure?.reason).toMatch(reason);
    });
    it("lets a value that is unknown during preview through", () => {
        expect(checkInterfaceName("name", UNKNOWN)).toBeUndefined();
    });
});

describe("checkNamespaceName", () => {
    it.each(["lab", "c1", "pot1-host", "x".repeat(255), "with.dots"])("accepts %j", (name) => {
        expect(checkNamespaceName("netns", name)).toBeUndefined();
    });
    it.each([
        ["", /empty/],
        [".", /not allowed/],
        ["..", /not allowed/],
        ["../etc", /'\/'/],
        ["a b", /whitespace/],
        ["x".repeat(256), /at most 255/],
        ["-n", /starts with '-'/],
    ])("refuses %j", (name, reason) => {
        expect(checkNamespaceName("netns", name)?.reason).toMatch(reason);
    });
});

describe("addresses and CIDRs", () => {
    it.each(["10.0.0.1", "203.0.113.1", "::1", "fd00::1", "2001:db8::"])("accepts address %j", (a) => {
        expect(checkAddress("gateway", a)).toBeUndefined();
    });
    it.each(["10.1", "10.0.0.256", "10.0.0.1/24", "fe80::1%eth0", "host.example", "", "1.2.3.4 ", "0x0a000001"])("refuses address %j", (a) => {
        expect(checkAddress("gateway", a)?.reason).toMatch(/^gateway .* is not an IPv4 or IPv6 address/);
    });
    it.each(["10.0.0.2/24", "10.0.0.0/8", "fd00::2/64", "0.0.0.0/0", "::/0"])("accepts interface CIDR %j", (c) => {
        expect(checkInterfaceCidr("address", c)).toBeUndefined();
    });
    it.each(["10.0.0.2", "10.0.0.2/33", "fd00::2/129", "10.0.0.2/", "/24", "10.0.0.2/24/1", "10.0.0.2/0x8"])("refuses interface CIDR %j", (c) => {
        expect(checkInterfaceCidr("address", c)?.property).toBe("address");
    });
    it("refuses a network with host bits set and says which network was meant", () => {
        expect(checkNetworkCidr("destination", "10.0.0.7/24")?.reason).toBe(
            "destination '10.0.0.7/24' has host bits set; the network is 10.0.0.0/24",
        );
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
    it.each(["ip_forward", "net..ipv4", "net/../../etc/passwd", "net.ipv4.ip_forward;reboot", "net.ipv4.ip forward", "", "net.ipv4.ip_forward=1"])(
        "refuses sysctl key %j",
        (key) => expect(checkSysctlKey("key", key)?.reason).toMatch(/^key .* is not a sysctl key/),
    );
    it("checks sysctl values", () => {
        expect(checkSysctlValue("value", 1)).toBeUndefined();
        expect(checkSysctlValue("value", "4096 87380 6291456")).toBeUndefined();
        expect(checkSysctlValue("value", "1\n0")?.property).toBe("value");
        expect(checkSysctlValue("value", "")?.property).toBe("value");
        expect(checkSysctlValue("value", true)?.property).toBe("value");
    });
});
