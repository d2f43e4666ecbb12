/**
 * Typed reads of kernel state, from `ip -j` JSON, and the namespace operations of `ip netns`.
 * Noun+verb names after vishvananda/netlink: `linkGet`, `addrList`, `routeList`, `netnsAdd`.
 * @module
 */
import { readFileSync } from "node:fs";
import { hostFiles } from "./files";
import { ipBatchCommand } from "./batch";
import { type HostCommand, SharedReads, ipCommand, parseIpJson, parseJsonLines, runCommand, runDelete, runRead } from "./command";
import { inNetnsWords, isHostError } from "./errors";
import { currentConnection, hostKey } from "./remote";

/** Where `ip netns add` keeps the named namespaces. */
export const NETNS_RUN_DIR = "/run/netns";

/** A link as `ip -j -d link show` reports it (the fields this project reads). */
export interface LinkInfo {
    ifindex: number;
    ifname: string;
    flags: string[];
    mtu: number;
    operstate?: string;
    /** The MAC address. */
    address?: string;
    /** The interface alias (`ip link set DEV alias TEXT`); absent when none is set. */
    ifalias?: string;
    /** Name of the bridge this link is a port of. */
    master?: string;
    linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
    link_netnsid?: number;
    /** How the kernel makes the link's IPv6 link-local address (`ip link set DEV addrgenmode`); `none`: it makes none. With `-d`. */
    inet6_addr_gen_mode?: string;
}

/** One address of a link, as in `ip -j addr show`'s `addr_info`. */
export interface AddrInfo {
    family: "inet" | "inet6";
    local: string;
    prefixlen: number;
    scope?: string;
    label?: string;
}

/** A link with its addresses, as `ip -j addr show` reports it. */
export interface LinkAddrs extends LinkInfo {
    addr_info: AddrInfo[];
}

/** A route as `ip -j route show` reports it. */
export interface RouteInfo {
    type?: string;
    /** Destination prefix, or "default". Host routes carry no `/len`. */
    dst: string;
    gateway?: string;
    dev?: string;
    protocol?: string;
    scope?: string;
    metric?: number;
    table?: string;
    flags?: string[];
}

/** True when the link is administratively up (`ip link set DEV up`). */
export function linkIsUp(link: LinkInfo): boolean {
    return link.flags.includes("UP");
}

/** A namespace's links, addresses and IPv4 routes, read together. */
export interface NamespaceState {
    /** True when the namespace does not exist (then it has no links and no routes). */
    gone: boolean;
    links: (LinkInfo & Partial<LinkAddrs>)[];
    routes4: RouteInfo[];
}

const GONE: NamespaceState = { gone: true, links: [], routes4: [] };

const states = new SharedReads<NamespaceState>();

/**
 * Reads a namespace's links (with details and addresses) and IPv4 routes of every table in one
 * `ip -batch` process, shared by the reads that come within a second and before any command that
 * may change the kernel ({@link SharedReads}). A namespace that does not exist reads as `gone`,
 * with nothing in it: callers never catch a missing namespace themselves. `ip -d addr show` lists
 * every link with the details `ip -d link show` gives, and its addresses: one listing, not two
 * (half the output to carry and parse with 1000 ports on a bridge). The namespace is entered with
 * nsenter (see {@link ipBatchSharingMounts}): a refresh reads every endpoint's namespace, and
 * `ip -n` would copy every mount of the host for each.
 * Equivalent to: `nsenter --net=/run/netns/$netns ip -j -d -batch -` of `addr show`, `route show table all`.
 */
export function namespaceState(netns: string | undefined): Promise<NamespaceState> {
    if (netns !== undefined && !netnsExists(netns)) return Promise.resolve(GONE);
    return states.get(netns ?? "", async () => {
        const cmd = ipBatchSharingMounts(
            netns,
            [
                ["addr", "show"],
                ["route", "show", "table", "all"],
            ],
            undefined,
            ["-j", "-d"],
        );
        const output = await runRead(cmd);
        if (!output) return GONE;
        const [links, routes4] = parseJsonLines<unknown[]>(output.stdout) as [LinkAddrs[], RouteInfo[]];
        // `route show table all` also lists IPv6 routes (all of them, not only the main table's).
        const ipv4 = routes4.filter((r) => !r.dst.includes(":") && !(r.gateway ?? "").includes(":"));
        return { gone: false, links: links.map((l) => ({ ...l, addr_info: l.addr_info ?? [] })), routes4: ipv4 };
    });
}

/**
 * Reads one link with its details, or undefined when it does not exist (from {@link namespaceState}).
 * Equivalent to: `ip -n $netns -j -d link show dev $name`.
 */
export async function linkGet(netns: string | undefined, name: string): Promise<LinkInfo | undefined> {
    const link = (await namespaceState(netns)).links.find((l) => l.ifname === name);
    if (!link) return undefined;
    const { addr_info: _addresses, ...info } = link;
    return info;
}

/**
 * Lists the addresses of one device, or undefined when the device does not exist.
 * Equivalent to: `ip -n $netns -j addr show dev $device`.
 */
export async function addrList(netns: string | undefined, device: string): Promise<AddrInfo[] | undefined> {
    return (await namespaceState(netns)).links.find((l) => l.ifname === device)?.addr_info;
}

/**
 * Lists the routes of one family in one table (default: main).
 * Equivalent to: `ip -n $netns -4|-6 -j route show table $table`.
 */
export async function routeList(netns: string | undefined, family: 4 | 6, table?: string | number): Promise<RouteInfo[]> {
    const wanted = String(table ?? "main");
    if (family === 4) {
        // `table all` names every table but main on each route, by name where it has one (255: `local`).
        const number = tableNumber(wanted);
        return (await namespaceState(netns)).routes4.filter((r) => tableNumber(r.table ?? "main") === number).map(({ table: _table, ...r }) => r);
    }
    const output = await runRead(ipCommand(netns, ["-6", "-j", "route", "show", "table", wanted]));
    return output === undefined || output.stdout.trim() === "" ? [] : parseIpJson<RouteInfo[]>(output.stdout);
}

/**
 * A link's identity: its namespace (by inode, `root` for the root namespace) and its ifindex. A
 * link deleted and made again under the same name, or a namespace made again, has another: what
 * was put on the old one (an address, a route) is not on this one, and is never touched there.
 */
export function linkIdentity(netns: string | undefined, link: Pick<LinkInfo, "ifindex">): string {
    if (netns === undefined) return `root#${link.ifindex}`;
    const info = hostFiles().stat(`${NETNS_RUN_DIR}/${netns}`);
    return info ? `${info.ino}#${link.ifindex}` : `gone#${link.ifindex}`;
}

const TABLE_NUMBERS: Record<string, string> = { unspec: "0", default: "253", main: "254", local: "255" };

/**
 * A routing table's number from what `ip` prints or takes: a number as it is, the kernel's own
 * names (`local` is 255, `main` 254, `default` 253), or a name from /etc/iproute2/rt_tables.
 */
export function tableNumber(table: string | number): string {
    const text = String(table);
    if (/^\d+$/.test(text)) return String(Number(text));
    if (TABLE_NUMBERS[text]) return TABLE_NUMBERS[text];
    for (const file of ["/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables"]) {
        try {
            for (const line of readFileSync(file, "utf8").split("\n")) {
                const [id, name] = line.replace(/#.*/, "").trim().split(/\s+/);
                if (name === text && /^(0x[0-9a-f]+|\d+)$/i.test(id)) return String(Number(id));
            }
        } catch {
            // no such file: the next one, or the name stays as it is
        }
    }
    return text;
}

/** The named network namespaces of the host, from `/run/netns` (what `ip netns list` prints, without a process here). */
export function netnsList(): string[] {
    return hostFiles().list(NETNS_RUN_DIR).sort();
}

/** True when the named network namespace exists on the host. */
export function netnsExists(name: string): boolean {
    return hostFiles().stat(`${NETNS_RUN_DIR}/${name}`) !== undefined;
}

/**
 * Creates a named network namespace.
 * Equivalent to: `ip netns add $name`.
 */
export async function netnsAdd(name: string): Promise<void> {
    await runCommand({ ...ipCommand(undefined, ["netns", "add", name]), subject: `network namespace "${name}"` });
}

/**
 * Deletes a named network namespace; a namespace already gone is success. On this machine,
 * deletes asked for while others are under way (at most {@link DELETE_GROUPS} groups at once)
 * wait and then go together in one `ip -batch` (group commit): a delete is a few microseconds of
 * the kernel's work and milliseconds of starting a process (from a shell, 100 deletes 8 at a
 * time took 90 ms, in one batch 5 ms).
 * Equivalent to: `ip netns delete $name`, or `ip -batch -` of `netns delete` lines.
 */
export async function netnsDelete(name: string): Promise<void> {
    if (!netnsExists(name)) return;
    // On a remote host, one command each, in the caller's session.
    if (currentConnection()) return deleteOneNamespace(name);
    return new Promise<void>((resolve, reject) => {
        namespaceDeletes.waiting.push({ name, resolve, reject });
        if (namespaceDeletes.running < DELETE_GROUPS) void deleteWaitingNamespaces();
    });
}

/** A delete waiting for its turn (see {@link netnsDelete}). */
interface WaitingDelete {
    name: string;
    resolve(): void;
    reject(err: unknown): void;
}

/** This machine's namespace deletes: those waiting, and how many groups are under way. */
const namespaceDeletes = { waiting: [] as WaitingDelete[], running: 0 };

/**
 * At most this many groups of deletes under way at once. With one, a delete slowed down (an
 * unmount among 1000 namespaces, on busy cores) held every other; in the destroy of 1000
 * attachments (two runs each) one group took 12.4-12.8 s, two 11.8-12.1 s, four 11.5-12.5 s;
 * at 100, all within 0.73-0.86 s.
 */
const DELETE_GROUPS = 2;

function deleteOneNamespace(name: string): Promise<void> {
    return runCommand({ ...ipCommand(undefined, ["netns", "delete", name]), subject: `network namespace "${name}"` }).then(() => {});
}

/** Settles a waiting delete with the outcome of `work`. */
function settle(waiting: WaitingDelete, work: Promise<void>): Promise<void> {
    return work.then(waiting.resolve, waiting.reject);
}

/** Runs waiting deletes, a group at a time, until none is left (one of at most {@link DELETE_GROUPS} such loops). */
async function deleteWaitingNamespaces(): Promise<void> {
    namespaceDeletes.running += 1;
    try {
        while (namespaceDeletes.waiting.length > 0) {
            const group = namespaceDeletes.waiting.splice(0);
            namespaceDeletes.waiting.unshift(...(await deleteGroup(group)));
        }
    } finally {
        namespaceDeletes.running -= 1;
    }
}

/**
 * Deletes a group in one `ip -batch` and settles each delete; returns those after a failed line,
 * which the batch did not reach. A failed line's namespace, unless gone meanwhile (deleted twice),
 * is deleted again on its own, so that its error names it as a lone delete's would.
 */
async function deleteGroup(group: WaitingDelete[]): Promise<WaitingDelete[]> {
    const oneByOne = async (deletes: WaitingDelete[]) => {
        for (const d of deletes) await settle(d, netnsExists(d.name) ? deleteOneNamespace(d.name) : Promise.resolve());
    };
    if (group.length === 1) {
        await oneByOne(group);
        return [];
    }
    let command: HostCommand;
    try {
        command = ipBatchCommand(
            undefined,
            group.map((d) => ["netns", "delete", d.name]),
            `${group.length} network namespaces`,
        );
    } catch {
        // A name ip's batch parser cannot carry.
        await oneByOne(group);
        return [];
    }
    try {
        await runCommand(command);
        for (const d of group) d.resolve();
        return [];
    } catch (err) {
        const line = isHostError(err) ? err.batchLine : undefined;
        if (line === undefined || line < 1 || line > group.length) {
            await oneByOne(group);
            return [];
        }
        for (const d of group.slice(0, line - 1)) d.resolve();
        await oneByOne([group[line - 1]]);
        return group.slice(line);
    }
}

/**
 * Which namespace a name stands for now: the inode of its `/run/netns` entry and the time that
 * inode was made (`inode@mtime`), or undefined when there is none. Inode numbers come back once
 * a namespace is gone; with the time, a namespace made again under the same name, by anyone,
 * is another instance. A stat, no process (one round trip on a remote host).
 * Equivalent to: `stat -L -c %i@%.3Y /run/netns/$name`.
 */
export function namespaceInstance(name: string): string | undefined {
    const info = hostFiles().stat(`${NETNS_RUN_DIR}/${name}`);
    return info ? `${info.ino}@${info.mtimeMs}` : undefined;
}

/**
 * Deletes a link; a link or namespace already gone is success.
 * Equivalent to: `ip -n $netns link delete dev $name`.
 */
export async function linkDelete(netns: string | undefined, name: string): Promise<void> {
    await runDelete(ipCommand(netns, ["link", "delete", "dev", name]));
}

/**
 * Finds the link a resource made: the link of that name when it carries the mark, else the one
 * link that carries it under another name (renamed by hand: `ip link set dev br0 name br1`);
 * undefined when none does.
 */
export async function linkFindMarked(netns: string | undefined, name: string, alias: string): Promise<LinkInfo | undefined> {
    const { links } = await namespaceState(netns);
    const link = links.find((l) => l.ifname === name && l.ifalias === alias) ?? links.find((l) => l.ifalias === alias);
    if (!link) return undefined;
    const { addr_info: _addresses, ...info } = link;
    return info;
}

/**
 * Deletes a link only when it carries the given alias (the mark its creator left), under its name
 * or renamed; a link that is gone, or that is not ours, is left as it is. Returns what it found.
 */
export async function linkDeleteIfMarked(netns: string | undefined, name: string, alias: string): Promise<"deleted" | "gone" | "notOurs"> {
    const marked = await linkFindMarked(netns, name, alias);
    if (marked) {
        await linkDelete(netns, marked.ifname);
        return "deleted";
    }
    return (await linkGet(netns, name)) ? "notOurs" : "gone";
}

/** A link the kernel is removing in the background, and when to stop waiting for it. */
interface Going {
    mark: string;
    deadline: number;
    gone: Promise<void>;
    settle: () => void;
}

/** The links going from one namespace of one host, and the one loop that watches them. */
interface Watch {
    links: Map<string, Going>;
    /** Callers awaiting some of the links: the loop reads often while there are any. */
    waiting: number;
    polling: boolean;
    wake?: () => void;
}

const watches = new Map<string, Watch>();

/** How long the kernel gets to remove a link of a deleted namespace before it is deleted by hand. */
export const LINK_GOING_MS = 3000;

/**
 * Notes a link the kernel is removing in the background: the host end of a veth pair whose other
 * end's namespace was deleted goes when the kernel cleans that namespace up, tens of milliseconds
 * later, many namespaces at once (far cheaper than deleting each pair, which waits for the
 * kernel's grace periods pair by pair). One loop per namespace watches the noted links (one read
 * every 100 ms, every 10 ms while someone awaits them, see {@link untilLinksGone}); a link still
 * there after {@link LINK_GOING_MS} (a process keeps the other namespace alive) is deleted, with
 * its pair, when it carries `mark`.
 * Equivalent to: `while ip -n $netns link show dev $name; do sleep 0.1; done`, then
 * `ip -n $netns link delete dev $name` if its alias is `$mark`.
 */
export function noteLinkGoing(netns: string | undefined, name: string, mark: string): void {
    const key = `${hostKey()}|${netns ?? ""}`;
    const watch = watches.get(key) ?? { links: new Map<string, Going>(), waiting: 0, polling: false };
    watches.set(key, watch);
    if (!watch.links.has(name)) {
        let settle!: () => void;
        const gone = new Promise<void>((resolve) => {
            settle = resolve;
        });
        watch.links.set(name, { mark, deadline: Date.now() + LINK_GOING_MS, gone, settle });
    }
    if (!watch.polling) void watchLinks(netns, key, watch);
}

/**
 * Resolves once the links noted going from a namespace ({@link noteLinkGoing}) are gone: the
 * named ones, or all. Costs nothing when none is noted.
 */
export async function untilLinksGone(netns: string | undefined, names?: readonly string[]): Promise<void> {
    const watch = watches.get(`${hostKey()}|${netns ?? ""}`);
    if (!watch) return;
    const waits = [...watch.links].filter(([name]) => names === undefined || names.includes(name)).map(([, going]) => going.gone);
    if (waits.length === 0) return;
    watch.waiting += 1;
    watch.wake?.();
    try {
        await Promise.all(waits);
    } finally {
        watch.waiting -= 1;
    }
}

async function watchLinks(netns: string | undefined, key: string, watch: Watch): Promise<void> {
    watch.polling = true;
    const settle = (name: string) => {
        watch.links.get(name)?.settle();
        watch.links.delete(name);
    };
    try {
        while (watch.links.size > 0) {
            await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, watch.waiting > 0 ? 10 : 100);
                // The watch alone keeps no process alive; a caller awaiting it does.
                if (watch.waiting === 0) timer.unref();
                watch.wake = () => {
                    clearTimeout(timer);
                    resolve();
                };
            });
            watch.wake = undefined;
            const output = await runRead(ipCommand(netns, ["-j", "-br", "link", "show"]));
            const present = new Set(output ? parseIpJson<{ ifname: string }[]>(output.stdout).map((link) => link.ifname) : []);
            for (const [name, going] of [...watch.links]) {
                if (!present.has(name)) settle(name);
                else if (Date.now() >= going.deadline) {
                    await linkDeleteIfMarked(netns, name, going.mark).catch(() => undefined);
                    settle(name);
                }
            }
        }
    } catch {
        // The namespace cannot be read (a remote session that ended): nothing more can be done here.
        for (const name of [...watch.links.keys()]) settle(name);
    } finally {
        watch.polling = false;
        if (watch.links.size === 0) watches.delete(key);
    }
}

/** A link to show at the end of a batch: by name in the batch's namespace, or in another named one. */
export type LinkRef = string | { netns: string; name: string };

/**
 * Wraps an `ip` step to run in another named namespace from inside a batch: the batch's own `ip`
 * starts it (a cheap fork of a small process, unlike a spawn from Node).
 * Equivalent to: `ip netns exec $netns ip $step`.
 */
export function inOtherNetns(netns: string, step: readonly string[], globalOptions: readonly string[] = []): string[] {
    return ["netns", "exec", netns, "ip", ...globalOptions, ...step];
}

/**
 * Builds one `ip -batch -` process (see {@link ipBatchCommand}) that runs in a named namespace
 * entered by `nsenter --net`, which enters the network namespace only. `ip -n` (and `ip netns
 * exec`) also gives its process a mount namespace of its own, a copy of every mount with `/sys`
 * mounted again: a `netns add` run there binds its namespace into that copy, out of everyone
 * else's sight, and the copy costs more the more namespaces the host has (measured here, a process
 * took 1.4 ms with 10 namespaces, 3.3 ms with 1000, 9.3 ms with 3000; through nsenter 2.0 ms
 * throughout). For steps that read nothing of `/sys` (netlink: `netns add`, `link`, `addr`,
 * `route`, nested `netns exec`). Without a namespace, the batch runs where the provider does.
 * Equivalent to: `nsenter --net=/run/netns/$netns ip -batch - <<< "$steps"`.
 */
export function ipBatchSharingMounts(
    netns: string | undefined,
    steps: readonly (readonly string[])[],
    subject?: string,
    globalOptions: readonly string[] = [],
): HostCommand {
    const command = ipBatchCommand(undefined, steps, subject, globalOptions);
    if (netns === undefined) return command;
    return { ...command, argv: ["nsenter", `--net=${NETNS_RUN_DIR}/${netns}`, ...command.argv], netns };
}

/**
 * Runs `ip` steps in one `ip -j -d -batch -` process that ends by showing the given links, and
 * returns those links in order: a create or update and its read-back for the price of one process.
 */
export async function linkBatchShow(
    netns: string | undefined,
    steps: readonly (readonly string[])[],
    links: readonly LinkRef[],
    subject: string,
): Promise<LinkInfo[]> {
    const shows = links.map((link) =>
        typeof link === "string" ? ["link", "show", "dev", link] : inOtherNetns(link.netns, ["link", "show", "dev", link.name], ["-j", "-d"]),
    );
    const { stdout } = await runCommand(ipBatchCommand(netns, [...steps, ...shows], subject, ["-j", "-d"]));
    const found = parseJsonLines<LinkInfo[]>(stdout)
        .slice(-links.length)
        .map((rows) => rows[0]);
    if (found.length !== links.length || found.some((l) => !l)) {
        throw new Error(`${subject} was not found ${inNetnsWords(netns)} right after it was configured`);
    }
    return found;
}
