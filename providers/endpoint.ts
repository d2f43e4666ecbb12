/**
 * The Endpoint provider: a network namespace plugged into a bridge, made whole by one host
 * process. The namespace, a veth pair with one end on the bridge and the other inside, the inside
 * end's address (leased from a pool, as the IpLease provider does) and its default route: what
 * CNI's bridge plugin does on ADD, plus the namespace. One resource per container instead of
 * four (namespace, veth, address, route) is what makes a large stack cheap: Pulumi's own work per
 * resource outweighs the kernel's (docs/performance.md).
 *
 * Everything carries the ownership mark: the namespace's loopback alias, both veth ends' alias,
 * and the lease record.
 * @module
 */
import { randomBytes } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { autoName, checkResult, chooseName, inNetns, definedResults, diffProperties, leftBehind, logicalNameOf, markOf, pick, type Props } from "./common";
import { ipBatchCommand, parseJsonLines, runCommand } from "./host/command";
import { HostCommandError, isHostError } from "./host/errors";
import { type LinkAddrs, type LinkInfo, type RouteInfo, inOtherNetns, linkDeleteIfMarked, linkGet, linkIsUp, namespaceState, netnsDelete, netnsExists, routeList } from "./host/ip";
import { RecordDir, namespaceJournal, writeBatchFile } from "./host/store";
import { type CheckFailure, checkBoolean, checkInterfaceName, checkMtu, checkNamespaceName, checkNewInterfaceName, checkRecordName, isUnknown } from "./host/validate";
import { type Leased, addressesInUse, checkLeaseRequest, claimAddress, leasePool, leasedByMark } from "./ipLease";
import { parseSubnet } from "./ipam";

/** Inputs after `check`. */
export interface EndpointInputs {
    logicalName: string;
    /** The ownership mark, chosen by check (see common.ts: definedResults). */
    mark?: string;
    /** The namespace the endpoint makes. */
    namespace: string;
    /** The bridge the host end joins. */
    bridge: string;
    /** The namespace of the bridge (the host side); undefined: the root namespace. */
    netns?: string;
    /** The host end's name. */
    hostInterface: string;
    /** The inside end's name. */
    interfaceName: string;
    /** The subnet the address is leased from. */
    subnet: string;
    /** The default route's gateway; never leased. */
    gateway: string;
    /** An address asked for by hand; omitted: the lowest free one. */
    address?: string;
    /** The lease pool (default: the bridge's name). */
    pool: string;
    /** Addresses a free-address search leaves alone. */
    reserved?: string[];
    /** Whether to add the default route via the gateway. */
    defaultRoute: boolean;
    /** MTU of both ends; undefined: the kernel's default, left as it is. */
    mtu?: number;
}

/** Outputs: the inputs plus what was leased and what the kernel reports. */
export interface EndpointOutputs extends EndpointInputs, Leased {
    /** The inside end's MAC address. */
    mac: string;
    /** The folder of the lease records. */
    leaseScope: string;
    /** What refresh found changed out of band, in words; empty when the endpoint is as made. */
    drift: string[];
}

const INPUT_KEYS = ["logicalName", "mark", "namespace", "bridge", "netns", "hostInterface", "interfaceName", "subnet", "gateway", "address", "pool", "reserved", "defaultRoute", "mtu"] as const;
// `reserved` is only read when an address is searched for (at create): a change of it changes nothing.
const rules = {
    replace: ["namespace", "netns", "hostInterface", "interfaceName", "subnet", "address", "pool"],
    update: ["bridge", "gateway", "defaultRoute", "mtu"],
    optional: ["mtu"],
    deleteBeforeReplace: true,
} as const;

/** One `ip` step with the words that name what it works on, for error messages. */
interface Step {
    argv: string[];
    subject: string;
    netns?: string;
}

/** What is on the host of one endpoint. */
interface Observed {
    /** The namespace exists and is ours: its loopback carries the mark, or a create of ours made it and was cut off before marking it. */
    namespace: boolean;
    /** The namespace's loopback carries the mark. */
    marked?: boolean;
    inside?: LinkInfo & Partial<LinkAddrs>;
    host?: LinkInfo;
    route?: RouteInfo;
}

const NOTHING: Observed = { namespace: false };

function subject(e: EndpointInputs): string {
    return `endpoint "${e.namespace}"`;
}

/**
 * The steps that bring an endpoint from what is observed to what is declared. Steps that set a
 * value (`link set`, `addr replace`, `route replace`) are idempotent and always run; a missing
 * namespace or veth pair is added.
 */
function steps(e: EndpointInputs, mark: string, lease: Leased, seen: Observed, removeRoute: boolean): { add: Step[]; inside: Step[]; host: Step[] } {
    const mtu = e.mtu !== undefined ? ["mtu", String(e.mtu)] : [];
    const add: Step[] = [];
    const inside: Step[] = [];
    if (!seen.namespace) add.push({ argv: ["netns", "add", e.namespace], subject: `network namespace "${e.namespace}"` });
    if (!seen.marked) inside.push({ argv: ["link", "set", "dev", "lo", "alias", mark, "up"], subject: `network namespace "${e.namespace}"`, netns: e.namespace });
    if (!seen.inside || !seen.host) {
        // The inside end without its host end (moved away by hand): deleting it deletes the pair.
        if (seen.inside) inside.push({ argv: ["link", "delete", "dev", e.interfaceName], subject: `interface "${e.interfaceName}"`, netns: e.namespace });
        // The host end is made from inside, straight into the host side's namespace: by name, or
        // for the root namespace by the pid of this process, which lives there.
        const hostRef = e.netns ?? String(process.pid);
        inside.push({
            argv: ["link", "add", "name", e.interfaceName, ...mtu, "type", "veth", "peer", "name", e.hostInterface, "netns", hostRef],
            // Inside, only this endpoint's own end can stand in the way, and it was deleted above:
            // a name taken is the host end's.
            subject: `interface "${e.hostInterface}"`,
            netns: e.netns,
        });
    }
    const at = { subject: `interface "${e.interfaceName}"`, netns: e.namespace };
    inside.push({ argv: ["link", "set", "dev", e.interfaceName, ...mtu, "alias", mark, "up"], ...at });
    inside.push({ argv: ["addr", "replace", lease.cidr, "dev", e.interfaceName, ...(lease.family === 6 ? ["nodad"] : [])], subject: `address ${lease.cidr} on "${e.interfaceName}"`, netns: e.namespace });
    if (e.defaultRoute) {
        inside.push({ argv: ["route", "replace", "default", "via", e.gateway, "dev", e.interfaceName], subject: `default route via ${e.gateway}`, netns: e.namespace });
    } else if (removeRoute) {
        inside.push({ argv: ["route", "del", "default", "via", e.gateway, "dev", e.interfaceName], subject: `default route via ${e.gateway}`, netns: e.namespace });
    }
    inside.push({ argv: ["link", "show", "dev", e.interfaceName], ...at });
    const hostAt = { subject: `interface "${e.hostInterface}"`, netns: e.netns };
    const host: Step[] = [
        { argv: ["link", "set", "dev", e.hostInterface, ...mtu, "alias", mark, "master", e.bridge, "up"], ...hostAt },
        { argv: ["link", "show", "dev", e.hostInterface], ...hostAt },
    ];
    return { add, inside, host };
}

/**
 * Runs the steps in one `ip -batch` process in the root namespace: `netns add` first when the
 * namespace is missing, then the inside steps as a nested `ip -batch` in the namespace (`netns
 * exec`), then the host steps (nested too when the host side is a named namespace). Returns the
 * two ends as shown at the end. A failure names the step's object.
 */
async function run(e: EndpointInputs, plan: { add: Step[]; inside: Step[]; host: Step[] }): Promise<{ inside: LinkInfo; host: LinkInfo }> {
    const opts = ["-j", "-d"];
    const insideFile = writeBatchFile(plan.inside.map((s) => s.argv));
    const hostFile = e.netns === undefined ? undefined : writeBatchFile(plan.host.map((s) => s.argv));
    const outer = [
        ...plan.add.map((s) => s.argv),
        inOtherNetns(e.namespace, ["-batch", insideFile.path], opts),
        ...(hostFile ? [inOtherNetns(e.netns!, ["-batch", hostFile.path], opts)] : plan.host.map((s) => s.argv)),
    ];
    const files = Object.fromEntries([insideFile, ...(hostFile ? [hostFile] : [])].map((f) => [f.path, f.text]));
    try {
        const { stdout } = await runCommand({ ...ipBatchCommand(undefined, outer, subject(e), opts), files });
        const [inside, host] = parseJsonLines<LinkInfo[]>(stdout).slice(-2).map((rows) => rows[0]);
        if (!inside || !host) throw new Error(`${subject(e)}: its veth ends were not found right after they were configured`);
        return { inside, host };
    } catch (err) {
        throw isHostError(err) ? namedFailure(err, plan, insideFile.path, hostFile?.path) : err;
    } finally {
        insideFile.remove();
        hostFile?.remove();
    }
}

/** The same failure, its message naming the step that failed (found by the batch line numbers ip reports). */
function namedFailure(err: HostCommandError, plan: { add: Step[]; inside: Step[]; host: Step[] }, insideFile: string, hostFile?: string): HostCommandError {
    const nested = (file: string) => {
        const line = new RegExp(`Command failed ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+)`).exec(err.stderr);
        return line ? Number(line[1]) : undefined;
    };
    const insideLine = nested(insideFile);
    const hostLine = hostFile ? nested(hostFile) : undefined;
    let step: Step | undefined;
    if (insideLine !== undefined) step = plan.inside[insideLine - 1];
    else if (hostLine !== undefined) step = plan.host[hostLine - 1];
    else if (err.batchLine !== undefined) step = plan.add[err.batchLine - 1] ?? plan.host[err.batchLine - plan.add.length - 2];
    if (!step) return err;
    return new HostCommandError({ command: err.command, netns: step.netns, exitCode: err.exitCode, stderr: err.stderr, cause: err.cause, subject: step.subject });
}

/**
 * Reads what is on the host of an endpoint: the namespace (if ours), both veth ends, the default
 * route; with `insideOnly`, only the namespace and the inside end (all a delete needs).
 */
async function observe(e: EndpointInputs, mark: string, family: 4 | 6, insideOnly = false): Promise<Observed> {
    if (!netnsExists(e.namespace)) return NOTHING;
    const state = await namespaceState(e.namespace).catch((err) => {
        if (isHostError(err, "noNamespace")) return undefined;
        throw err;
    });
    const loAlias = state?.links.find((l) => l.ifname === "lo")?.ifalias;
    const marked = loAlias === mark;
    if (!state || !(marked || (loAlias === undefined && namespaceJournal.cutOff(e.namespace, mark)))) return NOTHING;
    const inside = state.links.find((l) => l.ifname === e.interfaceName && l.ifalias === mark);
    if (insideOnly) return { namespace: true, marked, inside };
    const host = await linkGet(e.netns, e.hostInterface).catch((err) => {
        if (isHostError(err, "noNamespace")) return undefined;
        throw err;
    });
    const routes = family === 4 ? state.routes4.filter((r) => (r.table ?? "main") === "main") : await routeList(e.namespace, 6);
    const route = routes.find((r) => r.dst === "default" && r.dev === e.interfaceName);
    return { namespace: true, marked, inside, host: host?.ifalias === mark ? host : undefined, route };
}

/** What differs between the host and the declaration, in words (empty: nothing). */
function driftOf(e: EndpointInputs, lease: Leased, seen: Observed, leaseHeld: boolean): string[] {
    if (!seen.namespace) return [`namespace "${e.namespace}" is gone`];
    const drift: string[] = [];
    if (!leaseHeld) drift.push(`the lease record of ${lease.ip} is gone`);
    if (!seen.inside || !seen.host) {
        drift.push(`the veth pair "${e.hostInterface}" - "${e.interfaceName}" is gone`);
        return drift;
    }
    if (!linkIsUp(seen.inside)) drift.push(`"${e.interfaceName}" is down`);
    if (!linkIsUp(seen.host)) drift.push(`"${e.hostInterface}" is down ${inNetns(e.netns)}`);
    if (seen.host.master !== e.bridge) drift.push(`"${e.hostInterface}" is not a port of bridge "${e.bridge}"`);
    if (e.mtu !== undefined && (seen.inside.mtu !== e.mtu || seen.host.mtu !== e.mtu)) drift.push(`the MTU is not ${e.mtu}`);
    const [ip, len] = lease.cidr.split("/");
    if (!seen.inside.addr_info?.some((a) => a.local === ip && a.prefixlen === Number(len))) drift.push(`"${e.interfaceName}" lacks its address ${lease.cidr}`);
    if (e.defaultRoute && seen.route?.gateway !== e.gateway) drift.push(`the default route via ${e.gateway} is gone`);
    return drift;
}

function outputsOf(e: EndpointInputs, lease: Leased, scope: string, mac: string, drift: string[]): EndpointOutputs {
    return { ...(pick(e, INPUT_KEYS) as EndpointInputs), ...lease, mac, leaseScope: scope, drift };
}

/** Deletes what the endpoint made: the veth pair (deleting the inside end deletes both, at once) and the namespace. */
async function remove(e: EndpointInputs, withPair: boolean): Promise<void> {
    const steps = [...(withPair ? [inOtherNetns(e.namespace, ["link", "delete", "dev", e.interfaceName])] : []), ["netns", "delete", e.namespace]];
    try {
        await runCommand(ipBatchCommand(undefined, steps, `network namespace "${e.namespace}"`));
    } catch (err) {
        if (isHostError(err, "noDevice", "noNamespace")) return netnsDelete(e.namespace);
        throw err;
    }
}

function releaseIfOurs(pool: RecordDir, ip: string, mark: string): void {
    if (pool.read(ip) === mark) pool.release(ip);
}

/**
 * The host end's default name: `<pulumi name>-h-<4 hex digits>` when that fits in 15 bytes
 * whole; otherwise Docker's form, `veth` and 11 random hex digits. A shortened readable name
 * would leave many endpoints with long names differing only in 16 random bits (a collision in
 * 7% of stacks of 100).
 */
export function hostInterfaceName(logicalName: string): string {
    const readable = autoName(`${logicalName}-h`);
    return readable.slice(0, -5) === `${logicalName}-h`.toLowerCase() ? readable : `veth${randomBytes(6).toString("hex").slice(0, 11)}`;
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(olds: Props, news: Props) {
        const inputs: Props = {
            ...pick(news, INPUT_KEYS),
            namespace: chooseName(olds, news, "namespace", 64),
            hostInterface: news.hostInterface ?? (typeof olds.hostInterface === "string" ? olds.hostInterface : hostInterfaceName(logicalNameOf(news))),
            interfaceName: news.interfaceName ?? "eth0",
            defaultRoute: news.defaultRoute ?? true,
        };
        // The pool defaults to the bridge's name at create, and stays: moving to another bridge keeps the lease.
        inputs.pool ??= typeof olds.pool === "string" ? olds.pool : inputs.bridge;
        const failures: (CheckFailure | undefined)[] = [
            checkNamespaceName("namespace", inputs.namespace),
            inputs.bridge === undefined ? { property: "bridge", reason: "bridge is required: the name of the bridge the host end joins" } : checkInterfaceName("bridge", inputs.bridge),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
            checkNewInterfaceName("hostInterface", inputs.hostInterface),
            checkNewInterfaceName("interfaceName", inputs.interfaceName),
            inputs.pool === undefined ? undefined : checkRecordName("pool", inputs.pool),
            inputs.mtu === undefined ? undefined : checkMtu("mtu", inputs.mtu),
            checkBoolean("defaultRoute", inputs.defaultRoute),
        ];
        if (inputs.hostInterface === inputs.bridge && !isUnknown(inputs.bridge)) {
            failures.push({ property: "hostInterface", reason: `hostInterface '${inputs.hostInterface}' is the bridge's own name; give the host end another name` });
        }
        return checkResult(inputs, [...failures, ...checkLeaseRequest(inputs)]);
    },

    async diff(_id: string, olds: Props, news: Props) {
        const result = diffProperties(olds, news, rules);
        // What refresh found changed out of band is repaired by an update.
        if (!result.changes && Array.isArray(olds.drift) && olds.drift.length > 0) return { ...result, changes: true };
        return result;
    },

    /**
     * Equivalent to: `ip netns add $namespace; ip -n $namespace link set lo alias $mark up;
     * ip -n $namespace link add $interfaceName type veth peer name $hostInterface netns $netns;
     * ip -n $namespace link set $interfaceName alias $mark up; ip -n $namespace addr add $cidr dev
     * $interfaceName; ip -n $namespace route add default via $gateway; ip -n $netns link set
     * $hostInterface alias $mark master $bridge up`, as one `ip -batch` process (the namespaces'
     * steps as nested batches), after leasing the address.
     */
    async create(props: Props) {
        const e = props as EndpointInputs;
        const mark = markOf(e);
        const pool = leasePool(e.netns, e.pool);
        // A lease with this mark is this endpoint's from a create whose result was lost.
        const inUse = e.address === undefined ? await addressesInUse(e.netns, e.bridge, pool, e.subnet) : undefined;
        const lease = leasedByMark(pool, e.subnet, mark) ?? claimAddress(pool, e, mark, inUse);
        // A namespace this endpoint made before a crash (marked, or cut off before its mark) is taken up again.
        const seen = netnsExists(e.namespace) ? await observe(e, mark, lease.family) : NOTHING;
        if (!seen.namespace) namespaceJournal.begin(e.namespace, mark);
        try {
            const { inside } = await run(e, steps(e, mark, lease, seen, false));
            namespaceJournal.end(e.namespace);
            return { id: e.namespace, outs: outputsOf(e, lease, pool.dir, inside.address ?? "", []) };
        } catch (err) {
            // Undo what this create made: the namespace unless `netns add` itself failed (then it
            // was someone else's, or never made), and with it the veth pair; then the lease.
            const addFailed = !seen.namespace && isHostError(err) && (err.batchLine === undefined || err.batchLine <= 1);
            // When `netns add` failed, the namespace is someone else's unless it carries our mark.
            const ours = !addFailed || (netnsExists(e.namespace) && (await observe(e, mark, lease.family).catch(() => NOTHING)).marked === true);
            if (ours && netnsExists(e.namespace)) await remove(e, true).catch(() => netnsDelete(e.namespace));
            namespaceJournal.end(e.namespace);
            releaseIfOurs(pool, lease.ip, mark);
            throw err;
        }
    },

    /**
     * Reads the namespace, both ends, the address, the default route and the lease. The endpoint
     * is there while its namespace or its lease is (what is missing is reported as drift, and the
     * next update makes it again); with neither, it is gone.
     */
    async read(id: string, props: Props) {
        const o = props as EndpointOutputs;
        const mark = o.mark;
        if (!mark) return {};
        const pool = o.leaseScope ? RecordDir.at(o.leaseScope) : leasePool(o.netns, o.pool);
        const lease: Leased | undefined = o.ip !== undefined ? { ip: o.ip, cidr: o.cidr, family: o.family } : leasedByMark(pool, o.subnet, mark);
        const seen = await observe(o, mark, lease?.family ?? (parseSubnet(o.subnet) as { family: 4 | 6 }).family);
        const leaseHeld = lease !== undefined && pool.read(lease.ip) === mark;
        if (!lease || (!seen.namespace && !leaseHeld)) return {};
        const outs = outputsOf(o, lease, pool.dir, seen.inside?.address ?? o.mac ?? "", driftOf(o, lease, seen, leaseHeld));
        return { id: id || o.namespace, props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Makes the host match the declaration again: a new bridge, gateway or MTU, and whatever drifted. */
    async update(_id: string, olds: Props, news: Props) {
        const o = olds as EndpointOutputs;
        const e = { ...(news as EndpointInputs), mark: o.mark };
        const lease: Leased = { ip: o.ip, cidr: o.cidr, family: o.family };
        if (e.gateway === lease.ip) {
            throw new Error(`gateway ${e.gateway} is the address of ${subject(e)}; choose another gateway, or give that endpoint another address`);
        }
        const seen = await observe(e, o.mark!, lease.family);
        if (!seen.namespace && netnsExists(e.namespace)) {
            throw new Error(`network namespace "${e.namespace}" exists but was not made by ${subject(e)}; remove it, or give the endpoint another namespace`);
        }
        const pool = RecordDir.at(o.leaseScope);
        const holder = pool.read(lease.ip);
        if (holder !== o.mark && !pool.claim(lease.ip, o.mark!)) {
            throw new Error(`${subject(e)}: its address ${lease.ip} is now leased by ${holder}; replace the endpoint (change its address) or remove the other lease`);
        }
        // A host end without its inside end (its namespace just went, and the kernel removes the
        // pair in the background) is in the way of the new pair.
        if (!seen.inside) await linkDeleteIfMarked(e.netns, e.hostInterface, o.mark!);
        const { inside } = await run(e, steps(e, o.mark!, lease, seen, o.defaultRoute && !e.defaultRoute));
        return { outs: outputsOf(e, lease, o.leaseScope, inside.address ?? "", []) };
    },

    /** Equivalent to: `ip -n $namespace link delete $interfaceName; ip netns delete $namespace`, when they carry the mark; then the lease is released. */
    async delete(_id: string, props: Props) {
        const o = props as EndpointOutputs;
        const seen = await observe(o, o.mark!, o.family, true);
        if (seen.namespace) await remove(o, seen.inside !== undefined);
        else if (netnsExists(o.namespace)) leftBehind(`network namespace "${o.namespace}"`, "its loopback does not carry this endpoint's mark");
        namespaceJournal.end(o.namespace);
        if (o.leaseScope && o.ip) releaseIfOurs(RecordDir.at(o.leaseScope), o.ip, o.mark!);
    },
}, { marked: true });

