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

/** A value for a message: strings in quotes, with what is not printable ASCII escaped as JSON does. */
function show(value: unknown): string {
    if (typeof value !== "string") return JSON.stringify(value) ?? String(value);
    return /^[\x20-\x7e]*$/.test(value) ? `'${value}'` : JSON.stringify(value);
}

/** Failure unless the value is a string (or unknown). */
export function checkString(property: string, value: unknown): CheckFailure | undefined {
    if (isUnknown(value) || typeof value === "string") return undefined;
    return { property, reason: `${property} must be a string, got ${show(value)}` };
}

/**
 * The characters a kernel object's name may hold: ASCII letters, digits, `_`, `.` and `-`, and
 * not first a `.` or `-`. An allow-list, because every other character means something to one of
 * the programs a name passes through: whitespace, quotes and `#` to ip's batch parser, `+` (a
 * wildcard) and `!` (negation) to iptables and nftables, `%` (a name template such as `eth%d`)
 * to the kernel, `/` and `:` to the kernel and ifconfig, a leading `-` to every option parser,
 * control characters to `ip -j` (invalid JSON), and bytes above 0x7f include ones the kernel
 * reads as spaces (0xA0, inside many UTF-8 characters).
 */
const NAME_RULE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Why one character may not stand in a name, for messages. */
function whyNotInName(name: string): string {
    if (name.startsWith("-")) return "starts with '-', which tools read as an option";
    if (name.startsWith(".")) return "starts with '.'";
    const bad = [...name].find((c) => !/[A-Za-z0-9_.-]/.test(c))!;
    const shown = bad === " " ? "a space" : /[\x21-\x7e]/.test(bad) ? `'${bad}'` : `U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
    const meaning: Record<string, string> = {
        "+": "iptables and nftables read a trailing '+' as a wildcard",
        "!": "iptables reads '!' as negation",
        "%": "the kernel reads '%d' as a name template",
        "'": "ip's batch parser reads a leading quote as quoting",
        '"': "ip's batch parser reads a leading quote as quoting",
        "#": "ip's batch parser reads '#' as a comment",
        "/": "it separates paths",
        ":": "it marks an alias to ifconfig-era tools",
        "*": "it is a pattern to many tools",
    };
    return `holds ${shown}${meaning[bad] ? ` (${meaning[bad]})` : ""}`;
}

/** Failure unless `name` is 1 to `maxBytes` of the allowed characters ({@link NAME_RULE}). */
function checkName(property: string, value: unknown, what: string, maxBytes: number): CheckFailure | undefined {
    const notString = checkString(property, value);
    if (notString || isUnknown(value)) return notString;
    const name = value as string;
    const rule = `${what} names are 1 to ${maxBytes} of ASCII letters, digits, '_', '.' and '-', not starting with '.' or '-'`;
    if (name === "") return { property, reason: `${property} is empty; ${rule}` };
    if (!NAME_RULE.test(name)) return { property, reason: `${property} ${show(name)} ${whyNotInName(name)}; ${rule}` };
    if (name.length > maxBytes) return { property, reason: `${property} ${show(name)} is ${name.length} bytes; ${rule}` };
    return undefined;
}

/**
 * A Linux interface name: 1 to 15 bytes (IFNAMSIZ less the NUL) of the allowed characters
 * ({@link NAME_RULE}), e.g. `br0`, `veth-c1`, `eth0.100`, and not `all` or `default`.
 */
export function checkInterfaceName(property: string, value: unknown): CheckFailure | undefined {
    const failure = checkName(property, value, "interface", MAX_INTERFACE_NAME_BYTES);
    if (failure || (value !== "all" && value !== "default")) return failure;
    // Found by the property test: the kernel refuses them ("Invalid argument").
    return {
        property,
        reason: `${property} '${value}' is not allowed: the kernel keeps 'all' and 'default' for the per-interface settings (net.ipv4.conf.${value}.*)`,
    };
}

/**
 * The name of an interface to create: an interface name ({@link checkInterfaceName}) other than
 * `lo`, the loopback that every namespace has already.
 */
export function checkNewInterfaceName(property: string, value: unknown): CheckFailure | undefined {
    const failure = checkInterfaceName(property, value);
    if (failure || value !== "lo") return failure;
    return { property, reason: `${property} 'lo' is the loopback interface every network namespace already has; choose another name` };
}

/**
 * A network namespace name (a file under /run/netns): 1 to 255 bytes of the allowed characters
 * ({@link NAME_RULE}), and not `all`, which `ip netns delete` and `ip netns exec` read as every
 * namespace on the host.
 */
export function checkNamespaceName(property: string, value: unknown): CheckFailure | undefined {
    const failure = checkName(property, value, "network namespace", 255);
    if (failure || value !== "all") return failure;
    return { property, reason: `${property} 'all' is not allowed: 'ip netns delete all' and 'ip netns exec all' mean every namespace on the host` };
}

/**
 * The name of a folder of records (an IPAM pool): 1 to 64 of the allowed characters
 * ({@link NAME_RULE}), so that it stays one folder inside the state directory.
 */
export function checkRecordName(property: string, value: unknown): CheckFailure | undefined {
    return checkName(property, value, "pool", 64);
}

/**
 * Parses a plain IP address strictly; undefined if it is not one. IPv4 is four decimal parts
 * without leading zeros (iproute2 reads `010` as octal 8), also where it ends an IPv6 address
 * (`::ffff:10.0.0.1`); IPv6 zones (`%eth0`) are refused.
 */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
    if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
    if (text.includes("%") || !/^[0-9A-Fa-f:.]+$/.test(text) || !ipaddr.IPv6.isValid(text)) return undefined;
    const dotted = /:([^:]*\.[^:]*)$/.exec(text);
    if (dotted && !ipaddr.IPv4.isValidFourPartDecimal(dotted[1])) return undefined;
    return ipaddr.IPv6.parse(text);
}

/** True when two address texts name the same address (`::ffff:10.0.0.1` and `::ffff:a00:1`). */
export function sameAddress(a: string, b: string): boolean {
    const [x, y] = [parseAddress(a), parseAddress(b)];
    return x !== undefined && y !== undefined && x.kind() === y.kind() && x.toNormalizedString() === y.toNormalizedString();
}

/** A parsed CIDR: the address as written and its prefix length. */
export interface Cidr {
    address: ipaddr.IPv4 | ipaddr.IPv6;
    prefixLength: number;
    family: 4 | 6;
}

/** Parses `ADDRESS/PREFIX` strictly; undefined if it is not one. */
export function parseCidr(text: string): Cidr | undefined {
    // No leading zeros: iproute2 reads a prefix length of `010` as octal 8.
    const match = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(text);
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

/**
 * An interface address in CIDR form, v4 or v6, host bits allowed (e.g. `10.0.0.2/24`), and a
 * unicast one: the kernel takes `0.0.0.0/0` without error and configures nothing.
 */
export function checkInterfaceCidr(property: string, value: unknown): CheckFailure | undefined {
    const notString = checkString(property, value);
    if (notString || isUnknown(value)) return notString;
    const cidr = parseCidr(value as string);
    if (!cidr) return { property, reason: `${property} ${show(value)} is not an address with a prefix length (e.g. 10.0.0.2/24 or fd00::2/64)` };
    return notUnicast(property, value as string, cidr.address);
}

/** Failure when the address is not one a host can hold: unspecified, multicast or broadcast. */
function notUnicast(property: string, text: string, address: ipaddr.IPv4 | ipaddr.IPv6): CheckFailure | undefined {
    const range = address.range();
    if (range !== "unspecified" && range !== "multicast" && range !== "broadcast") return undefined;
    return {
        property,
        reason: `${property} ${show(text)} is a${range === "unspecified" ? "n" : ""} ${range} address; it must be a unicast address a host can hold`,
    };
}

/** A unicast IP address without prefix (a gateway, a NAT target): not unspecified, multicast or broadcast. */
export function checkUnicastAddress(property: string, value: unknown): CheckFailure | undefined {
    const failure = checkAddress(property, value);
    if (failure || isUnknown(value)) return failure;
    return notUnicast(property, value as string, parseAddress(value as string)!);
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
 * ASCII letters, digits, `_` and `-`, never first a `-` (sysctl would read `-p/file` as an option);
 * dots in slash form only in an interface's place (after `conf` or `neigh`), since a key that mixes
 * the two forms names no key. With `netns`, only `net.*` keys: the others (`kernel.*`, `vm.*`,
 * `fs.*`) are not per network namespace, and setting them "in" one changes the whole machine.
 */
export function checkSysctlKey(property: string, value: unknown, netns?: unknown): CheckFailure | undefined {
    const notString = checkString(property, value);
    if (notString || isUnknown(value)) return notString;
    const key = value as string;
    const slashForm = key.includes("/");
    const segments = key.split(slashForm ? "/" : ".");
    const segment = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
    const interfacePlace = (i: number) => i >= 3 && (segments[i - 1] === "conf" || segments[i - 1] === "neigh");
    const bad = segments.findIndex((s, i) => !segment.test(s) && !(slashForm && interfacePlace(i) && NAME_RULE.test(s)));
    if (segments.length < 2 || bad >= 0) {
        const mixed = slashForm && bad >= 0 && segments[bad].includes(".");
        const why = mixed
            ? "mixes '/' and '.' (a dot belongs only to an interface's name in slash form); write net.ipv4.ip_forward or net/ipv4/ip_forward"
            : "is not a sysctl key like net.ipv4.ip_forward (ASCII letters, digits, '_' and '-' between dots, not starting with '-')";
        return { property, reason: `${property} ${show(key)} ${why}` };
    }
    if (netns !== undefined && segments[0] !== "net") {
        return {
            property,
            reason: `${property} ${show(key)} is not per network namespace: with netns set only net.* keys can be set, since this one would change the whole machine`,
        };
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

/**
 * Checks a `connection` (see the host layer's `Connection`): a host name or address and a user
 * that ssh cannot read as an option (no leading `-`, no spaces or shell characters), a port, the
 * key as text, and a host key as one known_hosts line. Unknown parts pass (a preview).
 */
export function checkConnection(value: unknown): (CheckFailure | undefined)[] {
    if (value === undefined || isUnknown(value)) return [];
    if (typeof value !== "object" || value === null || Array.isArray(value))
        return [{ property: "connection", reason: "connection must be { host, port?, user?, privateKey?, hostKey? }" }];
    const c = value as Record<string, unknown>;
    const known = (v: unknown) => v !== undefined && !isUnknown(v);
    const failures: (CheckFailure | undefined)[] = [];
    if (!isUnknown(c.host) && (typeof c.host !== "string" || !/^[A-Za-z0-9_.:[\]][A-Za-z0-9_.:%[\]-]{0,252}$/.test(c.host) || c.host.startsWith("-")))
        failures.push({
            property: "connection.host",
            reason: `host ${show(c.host)} is not a host name or address (letters, digits, '.', ':', '-', '_'; not starting with '-')`,
        });
    if (known(c.port)) failures.push(checkInteger("connection.port", c.port, 1, 65535, "port"));
    if (known(c.user) && (typeof c.user !== "string" || !/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(c.user)))
        failures.push({
            property: "connection.user",
            reason: `user ${show(c.user)} is not a user name (letters, digits, '_', '.', '-', not starting with '-' or a digit)`,
        });
    if (known(c.privateKey) && (typeof c.privateKey !== "string" || !c.privateKey.includes("PRIVATE KEY")))
        failures.push({ property: "connection.privateKey", reason: "privateKey must be the text of a private key (-----BEGIN ... PRIVATE KEY-----)" });
    if (
        known(c.hostKey) &&
        (typeof c.hostKey !== "string" ||
            !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}( [^\n\r]*)?$/.test(
                c.hostKey.trim(),
            ))
    )
        failures.push({
            property: "connection.hostKey",
            reason: "hostKey must be a public host key as in known_hosts: 'ssh-ed25519 AAAA...' (ssh-keyscan prints it)",
        });
    return failures;
}

/** Failure unless the value is a unicast MAC address written `xx:xx:xx:xx:xx:xx` (or unknown). */
export function checkMac(property: string, value: unknown): CheckFailure | undefined {
    if (isUnknown(value)) return undefined;
    if (typeof value !== "string" || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(value))
        return { property, reason: `${property} ${show(value)} is not a MAC address in lower case, e.g. '02:42:0a:00:00:01'` };
    if ((Number.parseInt(value.slice(0, 2), 16) & 1) === 1)
        return { property, reason: `${property} ${value} is a multicast address; a link needs a unicast one` };
    return undefined;
}
