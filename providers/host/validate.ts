/**
 * Pure validators that the providers' `check` methods call. Each returns undefined when the value
 * is fine, or a {@link CheckFailure} whose reason names the property, the value and the rule.
 * They never touch the host, and they accept Pulumi's unknown placeholder (a value not yet known
 * during preview) as valid: it is checked again when it is known.
 * @module
 */
import * as ipaddr from "ipaddr.js";

/** A refused input: the property and the rule it breaks (Pulumi's `CheckFailure`). */
export interface CheckFailure {
    /** The input property, e.g. `name` or `peer.name`. */
    property: string;
    /** What is wrong and which rule it breaks, naming the property and the value. */
    reason: string;
}

/** The value Pulumi passes to dynamic providers for an input that is unknown during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when the value is Pulumi's unknown placeholder. */
export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN;
}

/** Linux's IFNAMSIZ less the terminating NUL. */
export const MAX_INTERFACE_NAME_BYTES = 15;

function show(value: unknown): string {
    return typeof value === "string" ? `'${value}'` : JSON.stringify(value) ?? String(value);
}

/** Failure unless the value is a string (or unknown). */
export function checkString(property: string, value: unknown): CheckFailure | undefined {
    if (isUnknown(value) || typeof value === "string") return undefined;
    return { property, reason: `${property} must be a string, got ${show(value)}` };
}

/**
 * A Linux interface name: 1 to 15 bytes, no `/`, `:`, whitespace or NUL, not `.` or `..`
 * (the kernel's dev_valid_name, plus `:` which ifconfig-era tools read as an alias), no
 * leading `-`, which command-line tools would read as an option, and no `"`, `#` or `\`, which
 * `ip -batch` cannot carry.
 */
export function checkInterfaceName(property: string, value: unknown): CheckFailure | undefined {
    const notString = checkString(property, value);
    if (notString || isUnknown(value)) return notString;
    const name = value as string;
    const bytes = Buffer.byteLength(name, "utf8");
    if (bytes === 0) return { property, reason: `${property} is empty; Linux interface names are 1 to 15 bytes` };
    if (bytes > MAX_INTERFACE_NAME_BYTES) {
        return { property, reason: `${property} ${show(name)} is ${bytes} bytes; Linux interface names are at most 15` };
    }
    if (name === "." || name === "..") return { property, reason: `${property} ${show(name)} is not allowed as an interface name` };
    if (name.startsWith("-")) return { property, reason: `${property} ${show(name)} starts with '-', which tools read as an option` };
    const bad = /[/:\s\0"#\\]/.exec(name);
    if (bad) {
        return { property, reason: `${property} ${show(name)} contains ${JSON.stringify(bad[0])}; interface names may not contain '/', ':', whitespace, NUL, '"', '#' or '\\'` };
    }
    return undefined;
}

/**
 * A network namespace name as `ip netns add` accepts it (a file name under /run/netns): 1 to 255
 * bytes, no `/` or NUL, not `.` or `..`. Whitespace is refused too: `ip netns list` output cannot
 * carry it unambiguously, and so is a leading `-`.
 */
export function checkNamespaceName(property: string, value: unknown): CheckFailure | undefined {
    const notString = checkString(property, value);
    if (notString || isUnknown(value)) return notString;
    const name = value as string;
    const bytes = Buffer.byteLength(name, "utf8");
    if (bytes === 0) return { property, reason: `${property} is empty; network namespace names are 1 to 255 bytes` };
    if (bytes > 255) return { property, reason: `${property} is ${bytes} bytes; network namespace names are at most 255` };
    if (name === "." || name === "..") return { property, reason: `${property} ${show(name)} is not allowed as a network namespace name` };
    if (name.startsWith("-")) return { property, reason: `${property} ${show(name)} starts with '-', which tools read as an option` };
    const bad = /[/\s\0"#\\]/.exec(name);
    if (bad) {
        return { property, reason: `${property} ${show(name)} contains ${JSON.stringify(bad[0])}; network namespace names may not contain '/', whitespace, NUL, '"', '#' or '\\'` };
    }
    return undefined;
}

/** Parses a plain IP address strictly (four-part dotted decimal for v4); undefined if it is not one. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
    if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
    if (!text.includes("%") && ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
    return undefined;
}

/** A parsed CIDR: the address as written and its prefix length. */
export interface Cidr {
    address: ipaddr.IPv4 | ipaddr.IPv6;
    prefixLength: number;
    family: 4 | 6;
}

/** Parses `ADDRESS/PREFIX` strictly; undefined if it is not one. */
export function parseCidr(text: string): Cidr | undefined {
    const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
    if (!match) return undefined;
    const address = parseAddress(match[1]);
    const prefixLength = Number(match[2]);
    if (!address) return undefined;
    const family = address.kind() === "ipv4" ? 4 : 6;
    if (prefixLength > (family === 4 ? 32 : 128)) return undefined;
    return { address, prefixLength, family };
}

/** The family (4 or 6) of an address or CIDR string, or undefined when it is neither. */
export function familyOf(text: string): 4 | 6 | undefined {
    const cidr = parseCidr(text);
    if (cidr) return cidr.family;
    const address = parseAddress(text);
    return address ? (address.kind() === "ipv4" ? 4 : 6) : undefined;
}

/** An IP address without prefix, v4 or v6. */
export function checkAddress(property: string, value: unknown): CheckFailure | undefined {
    const notString = checkString(property, value);
    if (notString || isUnknown(value)) return notString;
    if (parseAddress(value as string)) return undefined;
    return { property, reason: `${property} ${show(value)} is not an IPv4 or IPv6 address (e.g. 10.0.0.1 or fd00::1)` };
}

/** An interface address in CIDR form, v4 or v6, host bits allowed (e.g. `10.0.0.2/24`). */
export function checkInterfaceCidr(property: string, value: unknown): CheckFailure | undefined {
    const notString = checkString(property, value);
    if (notString || isUnknown(value)) return notString;
    if (parseCidr(value as string)) return undefined;
    return { property, reason: `${property} ${show(value)} is not an address with a prefix length (e.g. 10.0.0.2/24 or fd00::2/64)` };
}

/**
 * A network prefix in CIDR form with no host bits set (e.g. `10.0.0.0/24`), as routes and NAT
 * rules take it; a bare address counts as a host prefix (/32 or /128).
 */
export function checkNetworkCidr(property: string, value: unknown): CheckFailure | undefined {
    const notString = checkString(property, value);
    if (notString || isUnknown(value)) return notString;
    const text = value as string;
    if (parseAddress(text)) return undefined;
    const cidr = parseCidr(text);
    if (!cidr) return { property, reason: `${property} ${show(value)} is not a network in CIDR form (e.g. 10.0.0.0/24)` };
    const network = networkOf(cidr);
    if (network !== cidr.address.toString()) {
        return { property, reason: `${property} ${show(value)} has host bits set; the network is ${network}/${cidr.prefixLength}` };
    }
    return undefined;
}

/** The network address of a CIDR, as text. */
export function networkOf(cidr: Cidr): string {
    const bytes = cidr.address.toByteArray();
    let bitsLeft = cidr.prefixLength;
    const masked = bytes.map((byte) => {
        const keep = Math.max(0, Math.min(8, bitsLeft));
        bitsLeft -= 8;
        return byte & ((0xff << (8 - keep)) & 0xff);
    });
    return ipaddr.fromByteArray(masked).toString();
}

/** An integer within bounds, e.g. an MTU or a port. */
export function checkInteger(property: string, value: unknown, min: number, max: number, what: string): CheckFailure | undefined {
    if (isUnknown(value)) return undefined;
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return undefined;
    return { property, reason: `${property} ${show(value)} is not a valid ${what}: an integer from ${min} to ${max}` };
}

/** An MTU: the kernel accepts 68 (the IPv4 minimum) up to 65535 on the links this project makes. */
export function checkMtu(property: string, value: unknown): CheckFailure | undefined {
    return checkInteger(property, value, 68, 65535, "MTU");
}

/** A boolean flag. */
export function checkBoolean(property: string, value: unknown): CheckFailure | undefined {
    if (isUnknown(value) || typeof value === "boolean") return undefined;
    return { property, reason: `${property} must be true or false, got ${show(value)}` };
}

/** One of a fixed set of strings. */
export function checkOneOf(property: string, value: unknown, allowed: readonly string[]): CheckFailure | undefined {
    if (isUnknown(value) || (typeof value === "string" && allowed.includes(value))) return undefined;
    return { property, reason: `${property} ${show(value)} must be one of ${allowed.map((a) => `'${a}'`).join(", ")}` };
}

/**
 * A sysctl key in dotted form (`net.ipv4.ip_forward`, `net.ipv4.conf.br0.forwarding`) or slash
 * form (`net/ipv4/conf/eth0.100/forwarding`, for interface names that hold dots). Segments are
 * letters, digits, `_`, `-` (and `.` in slash form); no empty or `..` segments, so a key can never
 * leave /proc/sys.
 */
export function checkSysctlKey(property: string, value: unknown): CheckFailure | undefined {
    const notString = checkString(property, value);
    if (notString || isUnknown(value)) return notString;
    const key = value as string;
    const slashForm = key.includes("/");
    const segments = key.split(slashForm ? "/" : ".");
    const segmentRule = slashForm ? /^[A-Za-z0-9_.@-]+$/ : /^[A-Za-z0-9_@-]+$/;
    if (segments.length < 2 || segments.some((s) => !segmentRule.test(s) || s === "." || s === "..")) {
        return { property, reason: `${property} ${show(key)} is not a sysctl key like net.ipv4.ip_forward (letters, digits, '_', '-' between dots)` };
    }
    return undefined;
}

/** A sysctl value: a string or number without line breaks or NUL, 1 to 4096 characters. */
export function checkSysctlValue(property: string, value: unknown): CheckFailure | undefined {
    if (isUnknown(value)) return undefined;
    if (typeof value === "number" && Number.isFinite(value)) return undefined;
    if (typeof value === "string" && value.trim() !== "" && value.length <= 4096 && !/[\n\r\0]/.test(value)) return undefined;
    return { property, reason: `${property} ${show(value)} must be a number or a one-line string, like 1 or "4096 87380 6291456"` };
}

/** Collects the failures of several checks, skipping the passes. */
export function failures(...results: (CheckFailure | undefined)[]): CheckFailure[] {
    return results.filter((r): r is CheckFailure => r !== undefined);
}
