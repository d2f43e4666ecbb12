/**
 * The Endpoint provider: a network namespace plugged into a bridge, made whole by one host
 * process. The namespace, a veth pair with one end on the bridge and the other inside, the inside
 * end's address (leased from a pool, as the IpLease provider does) and its default route: what
 * CNI's bridge plugin does on ADD, plus the namespace. One resource per container instead of
 * four (namespace, veth, address, route) is what makes a large stack cheap: Pulumi's own work per
 * resource outweighs the kernel's (docs/performance.md).
 *
 * Everything carries the ownership mark: the namespace's loopback alias, both veth ends' alias,
 * and the lease record. What the steps are is decided in endpointPlan.ts; this module observes
 * the host and runs them.
 * @module
 */
import { diffProperties, leftBehind, pick } from "./common";
import {
    currentConnection,
    HostCommandError,
    inOtherNetns,
    ipBatchSharingMounts,
    isHostError,
    type LinkInfo,
    linkDeleteIfMarked,
    linkGet,
    noteLinkGoing,
    untilLinksGone,
    namespaceInstance,
    namespaceJournal,
    namespaceState,
    netnsDelete,
    netnsExists,
    parseJsonLines,
    remoteSessionPid,
    RecordDir,
    routeList,
    runCommand,
    writeBatchFile,
} from "./host";
import { qdiscsOf, reshape } from "./trafficControl";
import { type LinkShape, shapeDrift } from "./trafficPlan";
import {
    DIFF_RULES,
    type EndpointInputs,
    type EndpointOutputs,
    INPUT_KEYS,
    LEASE_KEYS,
    NOTHING,
    type Observed,
    type Plan,
    checkEndpoint,
    driftOf,
    failedStep,
    outputsOf,
    planSteps,
    subject,
} from "./endpointPlan";
import { type Leased, addressesInUse, claimAddress, leasePool, leasedByMark, parseSubnet, releaseLease } from "./ipam";
import { defineProvider, markOf } from "./provider";

export type { EndpointInputs, EndpointOutputs } from "./endpointPlan";
export { hostInterfaceName } from "./endpointPlan";

/** A process of the host's root network namespace: this provider here, the SSH session on a remote host. */
async function rootNamespacePid(): Promise<string> {
    return currentConnection() ? String(await remoteSessionPid()) : String(process.pid);
}

/**
 * Runs a plan in one `ip -batch` process on the bridge's side (entered with `nsenter --net` when
 * that is a named namespace, see {@link ipBatchSharingMounts}): `netns add` first when the
 * namespace is missing, then the inside steps as a nested `ip -batch` in the namespace (`netns
 * exec`), then the host steps. Returns the two ends as shown at the end. A failure names the
 * step's object.
 */
async function run(endpoint: EndpointInputs, plan: Plan): Promise<{ inside: LinkInfo; host: LinkInfo }> {
    const options = ["-j", "-d"];
    const insideFile = writeBatchFile(plan.inside.map((step) => step.argv));
    const outer = [
        ...plan.add.map((step) => step.argv),
        inOtherNetns(endpoint.namespace, ["-batch", insideFile.path], options),
        ...plan.host.map((step) => step.argv),
    ];
    try {
        const { stdout } = await runCommand({
            ...ipBatchSharingMounts(endpoint.netns, outer, subject(endpoint), options),
            files: { [insideFile.path]: insideFile.text },
        });
        const [inside, host] = parseJsonLines<LinkInfo[]>(stdout)
            .slice(-2)
            .map((rows) => rows[0]);
        if (!inside || !host) throw new Error(`${subject(endpoint)}: its veth ends were not found right after they were configured`);
        return { inside, host };
    } catch (err) {
        throw isHostError(err) ? namedFailure(err, plan, insideFile.path) : err;
    } finally {
        insideFile.remove();
    }
}

/** The same failure, its message naming the step that failed (see {@link failedStep}). */
function namedFailure(err: HostCommandError, plan: Plan, insideFile: string): HostCommandError {
    const line = new RegExp(`Command failed ${insideFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+)`).exec(err.stderr);
    const step = failedStep(plan, { outerLine: err.batchLine, insideLine: line ? Number(line[1]) : undefined });
    if (!step) return err;
    return new HostCommandError({
        command: err.command,
        netns: step.netns,
        exitCode: err.exitCode,
        stderr: err.stderr,
        cause: err.cause,
        subject: step.subject,
    });
}

/**
 * Reads what is on the host of an endpoint: the namespace (if ours), both veth ends, the default
 * route; with `insideOnly`, only the namespace and the inside end (all a delete needs).
 */
async function observe(endpoint: EndpointInputs, mark: string, family: 4 | 6, insideOnly = false): Promise<Observed> {
    const state = await namespaceState(endpoint.namespace);
    const loAlias = state.links.find((link) => link.ifname === "lo")?.ifalias;
    const marked = loAlias === mark;
    if (state.gone || !(marked || (loAlias === undefined && namespaceJournal.cutOff(endpoint.namespace, mark)))) return NOTHING;
    const inside = state.links.find((link) => link.ifname === endpoint.interfaceName && link.ifalias === mark);
    if (insideOnly) return { namespace: true, marked, inside };
    const host = await linkGet(endpoint.netns, endpoint.hostInterface);
    const routes = family === 4 ? state.routes4.filter((route) => (route.table ?? "main") === "main") : await routeList(endpoint.namespace, 6);
    const route = routes.find((candidate) => candidate.dst === "default" && candidate.dev === endpoint.interfaceName);
    return { namespace: true, marked, inside, host: host?.ifalias === mark ? host : undefined, route };
}

/** The two ends of the endpoint's veth pair: the host end (in `netns`) and the inside end. */
function linkEnds(endpoint: EndpointInputs): [string | undefined, string][] {
    return [
        [endpoint.netns, endpoint.hostInterface],
        [endpoint.namespace, endpoint.interfaceName],
    ];
}

/**
 * Shapes the link in both directions: each end's outgoing traffic (the host end's is what the
 * container receives), as Mininet's links do; with no `link`, removes a shape of ours.
 * Equivalent to: `tc -n $netns qdisc replace dev $hostInterface root ...` and the same inside.
 */
async function shapeLink(endpoint: EndpointInputs, old: LinkShape | undefined): Promise<void> {
    for (const [netns, device] of linkEnds(endpoint)) await reshape(netns, device, old, endpoint.link, `the link of ${subject(endpoint)}`);
}

/** What differs between the link's qdiscs and its declared shape, in words. */
async function linkDrift(endpoint: EndpointInputs): Promise<string[]> {
    if (!endpoint.link) return [];
    const drift: string[] = [];
    for (const [netns, device] of linkEnds(endpoint)) drift.push(...shapeDrift(device, endpoint.link, (await qdiscsOf(netns, device)) ?? []));
    return drift;
}

/**
 * Deletes what the endpoint made: the namespace, and with it the veth pair, which the kernel
 * removes in the background when it cleans the namespace up, many namespaces at once (deleting
 * each pair first waits for the kernel's grace periods, pair by pair: twice the time of a
 * destroy). The host end is noted going ({@link noteLinkGoing}): a create or update of the same
 * host end, and the delete of the bridge, wait for it; one still there after a while (a process
 * keeps the namespace alive) is deleted when it carries the mark. With `wait` (the undo of a
 * failed create, which leaves the host as it found it), and on a remote host, the delete itself
 * waits.
 */
async function remove(endpoint: EndpointInputs, mark: string, withPair: boolean, wait = false): Promise<void> {
    await netnsDelete(endpoint.namespace);
    if (!withPair) return;
    noteLinkGoing(endpoint.netns, endpoint.hostInterface, mark);
    if (wait || currentConnection()) await untilLinksGone(endpoint.netns, [endpoint.hostInterface]);
}

/**
 * Undoes a create that failed: the namespace, unless `netns add` itself failed (then it was
 * someone else's, or never made, and stays unless it carries our mark), and with it the veth
 * pair; then the lease, and the journal record.
 */
async function undoCreate(endpoint: EndpointInputs, mark: string, lease: Leased, pool: RecordDir, hadNamespace: boolean, err: unknown): Promise<void> {
    // The outer batch's first line is `netns add` when the namespace was not there already.
    const addFailed = !hadNamespace && isHostError(err) && (err.batchLine === undefined || err.batchLine <= 1);
    const ours = !addFailed || (netnsExists(endpoint.namespace) && (await observe(endpoint, mark, lease.family).catch(() => NOTHING)).marked === true);
    if (ours && netnsExists(endpoint.namespace)) await remove(endpoint, mark, true, true);
    namespaceJournal.end(endpoint.namespace);
    releaseLease(pool, lease.ip, mark);
}

export const provider = defineProvider<EndpointInputs, EndpointOutputs>({
    rules: DIFF_RULES,
    marked: true,

    async check(olds, news) {
        return checkEndpoint(olds, news);
    },

    async diff(_id, olds, news) {
        const result = diffProperties(olds, news, DIFF_RULES);
        // What refresh found changed out of band is repaired by an update.
        if (!result.changes && Array.isArray(olds.drift) && olds.drift.length > 0) return { ...result, changes: true };
        return result;
    },

    /**
     * Equivalent to: `ip netns add $namespace; ip -n $namespace link set lo alias $mark up;
     * ip -n $namespace link add name $interfaceName type veth peer name $hostInterface netns $netns;
     * ip -n $namespace link set $interfaceName addrgenmode none alias $mark up; ip -n $namespace
     * addr add $cidr dev $interfaceName; ip -n $namespace route add default via $gateway; ip -n
     * $netns link set $hostInterface addrgenmode none alias $mark master $bridge up` (the inside
     * end's `addrgenmode none` for an IPv4 subnet only), as one `ip -batch` process on the
     * bridge's side (the namespace's steps as a nested batch), after leasing the address.
     */
    async create(endpoint) {
        const mark = markOf(endpoint);
        // The host end of an endpoint just deleted (a replacement's old half) may still be going.
        await untilLinksGone(endpoint.netns, [endpoint.hostInterface]);
        const pool = leasePool(endpoint.netns, endpoint.pool);
        // A lease with this mark is this endpoint's from a create whose result was lost.
        const inUse = endpoint.address === undefined ? await addressesInUse(endpoint.netns, endpoint.bridge, pool, endpoint.subnet) : undefined;
        const lease = leasedByMark(pool, endpoint.subnet, mark) ?? claimAddress(pool, endpoint, mark, inUse);
        // A namespace this endpoint made before a crash (marked, or cut off before its mark) is taken up again.
        const seen = netnsExists(endpoint.namespace) ? await observe(endpoint, mark, lease.family) : NOTHING;
        if (!seen.namespace) namespaceJournal.begin(endpoint.namespace, mark);
        try {
            const { inside } = await run(endpoint, planSteps(endpoint, mark, lease, seen, false, await rootNamespacePid()));
            await shapeLink(endpoint, undefined);
            namespaceJournal.end(endpoint.namespace);
            return { id: endpoint.namespace, outs: outputsOf(endpoint, lease, pool.dir, inside.address ?? "", [], namespaceInstance(endpoint.namespace)) };
        } catch (err) {
            await undoCreate(endpoint, mark, lease, pool, seen.namespace, err);
            throw err;
        }
    },

    /**
     * Reads the namespace, both ends, the address, the default route and the lease. The endpoint
     * is there while its namespace or its lease is (what is missing is reported as drift, and the
     * next update makes it again); with neither, it is gone.
     */
    async read(id, old) {
        const mark = old.mark;
        if (!mark) return {};
        const pool = old.leaseScope ? RecordDir.at(old.leaseScope) : leasePool(old.netns, old.pool);
        const lease: Leased | undefined = old.ip !== undefined ? { ip: old.ip, cidr: old.cidr, family: old.family } : leasedByMark(pool, old.subnet, mark);
        const seen = await observe(old, mark, lease?.family ?? (parseSubnet(old.subnet) as { family: 4 | 6 }).family);
        const leaseHeld = lease !== undefined && pool.read(lease.ip) === mark;
        if (!lease || (!seen.namespace && !leaseHeld)) return {};
        const drift = driftOf(old, lease, seen, leaseHeld);
        if (drift.length === 0) drift.push(...(await linkDrift(old)));
        // A namespace that is gone keeps its old instance here: it no longer matches, so a delete reads first.
        const instance = seen.marked ? namespaceInstance(old.namespace) : old.namespaceInstance;
        const outs = outputsOf(old, lease, pool.dir, seen.inside?.address ?? old.mac ?? "", drift, instance);
        // The lease's address goes back among the inputs, where check keeps it (see LEASE_KEYS).
        return { id: id || old.namespace, props: outs, inputs: pick(outs, [...INPUT_KEYS, ...LEASE_KEYS]) };
    },

    /** Makes the host match the declaration again: a new bridge, gateway or MTU, and whatever drifted. */
    async update(_id, old, news) {
        const mark = old.mark!;
        const endpoint = { ...news, mark };
        const lease: Leased = { ip: old.ip, cidr: old.cidr, family: old.family };
        if (endpoint.gateway === lease.ip) {
            throw new Error(
                `gateway ${endpoint.gateway} is the address of ${subject(endpoint)}; choose another gateway, or give that endpoint another address`,
            );
        }
        const seen = await observe(endpoint, mark, lease.family);
        if (!seen.namespace && netnsExists(endpoint.namespace)) {
            throw new Error(
                `network namespace "${endpoint.namespace}" exists but was not made by ${subject(endpoint)}; remove it, or give the endpoint another namespace`,
            );
        }
        const pool = RecordDir.at(old.leaseScope);
        const holder = pool.read(lease.ip);
        if (holder !== mark && !pool.claim(lease.ip, mark)) {
            throw new Error(
                `${subject(endpoint)}: its address ${lease.ip} is now leased by ${holder}; replace the endpoint (change its address) or remove the other lease`,
            );
        }
        // A host end without its inside end (its namespace just went, and the kernel removes the
        // pair in the background) is in the way of the new pair.
        if (!seen.inside) {
            await untilLinksGone(endpoint.netns, [endpoint.hostInterface]);
            await linkDeleteIfMarked(endpoint.netns, endpoint.hostInterface, mark);
        }
        const { inside } = await run(endpoint, planSteps(endpoint, mark, lease, seen, old.defaultRoute && !endpoint.defaultRoute, await rootNamespacePid()));
        await shapeLink(endpoint, old.link);
        return { outs: outputsOf(endpoint, lease, old.leaseScope, inside.address ?? "", [], namespaceInstance(endpoint.namespace)) };
    },

    /**
     * Equivalent to: `ip netns delete $namespace` when it carries the mark (or is the very
     * namespace this endpoint made: `namespaceInstance`, a stat instead of a read), the kernel
     * then taking the veth pair; then the lease is released.
     */
    async delete(_id, old) {
        if (old.namespaceInstance !== undefined && namespaceInstance(old.namespace) === old.namespaceInstance) {
            await remove(old, old.mark!, true);
        } else {
            const seen = await observe(old, old.mark!, old.family, true);
            if (seen.namespace) await remove(old, old.mark!, seen.inside !== undefined);
            else if (netnsExists(old.namespace)) leftBehind(`network namespace "${old.namespace}"`, "its loopback does not carry this endpoint's mark");
        }
        namespaceJournal.end(old.namespace);
        if (old.leaseScope && old.ip) releaseLease(RecordDir.at(old.leaseScope), old.ip, old.mark!);
    },
});
