/**
 * The kernel test sandbox: each kernel test gets its own throwaway "host", a network namespace
 * with loopback up and an uplink veth to a second namespace that plays the internet on TEST-NET
 * addresses. Nothing here touches the machine's own root namespace.
 *
 *   [<prefix>-host]  uplink 203.0.113.2/24 ──veth── wan 203.0.113.1/24  [<prefix>-inet]
 *                    default via 203.0.113.1                 198.51.100.1/32 on its loopback
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { ETC_NETNS, ipBatchCommand, ipCommand, netnsAdd, netnsDelete, netnsList, runCommand, runJson, toolCommand } from "../../providers/host";

/** Addresses of the sandbox's fake internet. */
export const INTERNET = {
    /** The internet side of the uplink. */
    gateway: "203.0.113.1",
    /** The host side of the uplink. */
    uplinkAddress: "203.0.113.2",
    uplinkCidr: "203.0.113.2/24",
    /** An address deeper in the internet, on a dummy link in the internet namespace. */
    server: "198.51.100.1",
} as const;

/** The run id shared by every test file of one `vitest` run (set by global-setup.ts). */
export function runId(): string {
    const id = process.env.OVERLAY_TEST_RUN_ID;
    if (!id) throw new Error("OVERLAY_TEST_RUN_ID is not set: run the tests through vitest (test/support/global-setup.ts)");
    return id;
}

/** True when the tests may touch the kernel (root, or CAP_NET_ADMIN in practice). */
export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Why kernel tests are skipped, for the suite's title. */
export const SKIP_REASON = "kernel tests need root (CAP_NET_ADMIN and CAP_SYS_ADMIN for ip netns): run npm test as root";

/** A throwaway host for one test. */
export interface Sandbox {
    /** Prefix of every namespace this sandbox makes; unique per test and run. */
    readonly prefix: string;
    /** The namespace that plays the host. */
    readonly hostNs: string;
    /** The namespace that plays the internet. */
    readonly internetNs: string;
    /** The host's uplink interface (in hostNs). */
    readonly uplink: string;
    /** A name for another namespace of this test: `<prefix>-<suffix>`. */
    ns(suffix: string): string;
    /** Removes everything this sandbox made; safe to call twice. */
    destroy(): Promise<void>;
}

let counter = 0;

/** Builds a new sandbox. Call `destroy()` in afterEach, whatever happened. */
export async function createSandbox(): Promise<Sandbox> {
    const prefix = `${runId()}${(counter++).toString(36)}${randomBytes(1).toString("hex")}`;
    const hostNs = `${prefix}-host`;
    const internetNs = `${prefix}-inet`;
    const sandbox: Sandbox = {
        prefix,
        hostNs,
        internetNs,
        uplink: "uplink",
        ns: (suffix) => `${prefix}-${suffix}`,
        destroy: () => removeNamespaces(prefix),
    };
    try {
        await netnsAdd(hostNs);
        await netnsAdd(internetNs);
        // No duplicate address detection in the sandbox: addresses are final at once, so that
        // before/after snapshots do not differ by a DAD that finished in between.
        for (const ns of [hostNs, internetNs]) {
            await runCommand(toolCommand(ns, "sysctl", ["-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]));
        }
        await runCommand(
            ipBatchCommand(hostNs, [
                ["link", "set", "lo", "up"],
                ["link", "add", "uplink", "type", "veth", "peer", "name", "wan", "netns", internetNs],
                ["addr", "add", INTERNET.uplinkCidr, "dev", "uplink"],
                ["link", "set", "uplink", "up"],
                ["route", "add", "default", "via", INTERNET.gateway],
            ]),
        );
        await runCommand(
            ipBatchCommand(internetNs, [
                ["link", "set", "lo", "up"],
                ["addr", "add", `${INTERNET.gateway}/24`, "dev", "wan"],
                ["link", "set", "wan", "up"],
                // The kernel may lack the dummy module; a /32 on loopback serves as a far host.
                ["addr", "add", `${INTERNET.server}/32`, "dev", "lo"],
            ]),
        );
    } catch (err) {
        await removeNamespaces(prefix);
        throw err;
    }
    return sandbox;
}

/** Deletes every namespace whose name starts with the prefix, and their /etc/netns folders (names). */
export async function removeNamespaces(prefix: string): Promise<void> {
    for (const name of netnsList().filter((n) => n.startsWith(prefix))) {
        await netnsDelete(name);
    }
    if (!existsSync(ETC_NETNS)) return;
    for (const name of readdirSync(ETC_NETNS).filter((n) => n.startsWith(prefix))) rmSync(path.join(ETC_NETNS, name), { recursive: true, force: true });
}

/**
 * The first address a name resolves to inside a namespace, through /etc/netns/NS/hosts (files
 * only, no DNS: an unknown name answers at once), or undefined.
 */
export async function resolveName(netns: string, name: string): Promise<string | undefined> {
    const result = await runCommand({ argv: ["ip", "netns", "exec", netns, "getent", "-s", "files", "hosts", name] }).catch(() => undefined);
    return result?.stdout.trim().split(/\s+/)[0];
}

/** Pings once from a namespace; true when a reply came back. */
export async function ping(netns: string, address: string, timeoutSeconds = 2): Promise<boolean> {
    try {
        await runCommand(toolCommand(netns, "ping", ["-c", "1", "-W", String(timeoutSeconds), "-n", "-q", address]));
        return true;
    } catch {
        return false;
    }
}

/** Everything a test compares before and after: links, addresses, routes, iptables rules, sysctls. */
export interface HostSnapshot {
    links: unknown[];
    addresses: unknown[];
    routes: unknown[];
    iptables: string;
    /** `nft -j list ruleset`, normalized by {@link normalizeNftRuleset}. */
    nftables: unknown[];
    sysctls: Record<string, string>;
}

/** The tables iptables-nft makes on first use; empty, they mean the same as none. */
const XTABLES = new Set(["ip filter", "ip nat", "ip mangle", "ip raw", "ip security", "ip6 filter", "ip6 nat", "ip6 mangle", "ip6 raw", "ip6 security"]);

/**
 * The items of an `nft -j list ruleset` without what changes by itself: the metainfo, handles,
 * counters' numbers; and without the empty tables iptables-nft leaves behind (iptables-save covers
 * those), so that a table made and removed by a test is the same as none.
 */
export function normalizeNftRuleset(json: unknown): unknown[] {
    type Item = Record<string, Record<string, unknown>>;
    const items = ((json as { nftables?: Item[] }).nftables ?? []).filter((item) => !item.metainfo);
    const tableOf = (item: Item) => {
        const body = Object.values(item)[0];
        return `${body.family} ${body.table ?? body.name}`;
    };
    const withRules = new Set(items.filter((item) => item.rule).map(tableOf));
    const strip = (value: unknown): unknown => {
        if (Array.isArray(value)) return value.map(strip);
        if (value === null || typeof value !== "object") return value;
        const entries = Object.entries(value as object).filter(([key]) => key !== "handle");
        return Object.fromEntries(entries.map(([key, v]) => (key === "counter" ? [key, null] : [key, strip(v)])));
    };
    return items.filter((item) => !(XTABLES.has(tableOf(item)) && !withRules.has(tableOf(item)))).map(strip);
}

/**
 * The rules of an `iptables-save` dump, each prefixed with its table, plus chains whose policy is
 * not ACCEPT and user chains. Counters are dropped, and so are tables that hold nothing: the
 * kernel creates a table on first use, and an empty table means the same as none.
 */
export function normalizeIptablesSave(dump: string): string {
    let table = "";
    const kept: string[] = [];
    for (const line of dump.split("\n")) {
        if (line.startsWith("*")) table = line.slice(1);
        else if (line.startsWith("-A ") || (line.startsWith(":") && !/^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT/.test(line))) {
            kept.push(`${table} ${line.replace(/ \[\d+:\d+\]$/, "")}`);
        }
    }
    return kept.join("\n");
}

/** Sysctls the snapshot records. */
export const SNAPSHOT_SYSCTLS = ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.conf.all.rp_filter"];

/**
 * Reads a namespace's state for before/after comparison. Counters, timers and ifindex-dependent
 * fields are dropped: they change without anything being changed.
 */
export async function snapshot(netns: string): Promise<HostSnapshot> {
    type Row = Record<string, unknown>;
    const strip = (row: Row, keys: string[]): Row => Object.fromEntries(Object.entries(row).filter(([k]) => !keys.includes(k)));
    const links = await runJson<Row[]>(ipCommand(netns, ["-j", "-d", "link", "show"]));
    const addrs = await runJson<Row[]>(ipCommand(netns, ["-j", "addr", "show"]));
    const routes4 = await runJson<Row[]>(ipCommand(netns, ["-4", "-j", "route", "show", "table", "all"]));
    const routes6 = await runJson<Row[]>(ipCommand(netns, ["-6", "-j", "route", "show", "table", "all"]));
    const iptables = normalizeIptablesSave((await runCommand(toolCommand(netns, "iptables-save", []))).stdout);
    const nftables = normalizeNftRuleset(JSON.parse((await runCommand(toolCommand(netns, "nft", ["-j", "list", "ruleset"]))).stdout || "{}"));
    const sysctls: Record<string, string> = {};
    for (const key of SNAPSHOT_SYSCTLS) {
        sysctls[key] = (await runCommand(toolCommand(netns, "sysctl", ["-n", key]))).stdout.trim();
    }
    return {
        links: links.map((l) => ({
            ifname: l.ifname,
            kind: (l.linkinfo as Row | undefined)?.info_kind,
            flags: l.flags,
            mtu: l.mtu,
            address: l.address,
            ifalias: l.ifalias,
            master: l.master,
        })),
        addresses: addrs.map((l) => ({
            ifname: l.ifname,
            addr: (l.addr_info as Row[]).map((a) => strip(a, ["valid_life_time", "preferred_life_time"])),
        })),
        routes: [...routes4, ...routes6],
        iptables,
        nftables,
        sysctls,
    };
}
