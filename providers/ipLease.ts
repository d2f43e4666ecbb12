/**
 * The IpLease provider: one address taken from a pool, the way CNI's host-local IPAM does it.
 * The lease is a record on the host (host/store.ts), claimed with an exclusive create, so two
 * leases never get the same address; the address stays the lease's for as long as the resource
 * lives, so adding or removing other leases never renumbers it.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, definedResults, diffProperties, markOf, pick, type Props } from "./common";
import { runJson } from "./host/command";
import { isHostError } from "./host/errors";
import { ipCommand } from "./host/command";
import { namespaceState } from "./host/ip";
import { RecordDir, netnsIdentity } from "./host/store";
import { type CheckFailure, checkNamespaceName, checkRecordName, isUnknown, parseAddress } from "./host/validate";
import { type Subnet, defaultGateway, explicitAddressProblem, hostAddresses, offsetOf, parseSubnet } from "./ipam";

/** Inputs after `check`. */
export interface IpLeaseInputs {
    logicalName: string;
    /** The ownership mark, chosen by check (see common.ts: definedResults). */
    mark?: string;
    /** The subnet to take the address from. */
    subnet: string;
    /** The subnet's gateway, never leased (default: the first host address). */
    gateway: string;
    /** The pool's name: leases of one pool (in one namespace) never collide. */
    pool: string;
    /** An address asked for by hand; omitted: the lowest free one. */
    address?: string;
    /** Addresses a free-address search leaves alone (the ones other leases ask for by hand). */
    reserved?: string[];
    /** The namespace the pool belongs to (the network's host side). */
    netns?: string;
}

/** Outputs. */
export interface IpLeaseOutputs extends IpLeaseInputs {
    /** The leased address, e.g. `10.0.0.2`. */
    ip: string;
    /** The address with the subnet's prefix length, e.g. `10.0.0.2/24`. */
    cidr: string;
    family: 4 | 6;
    /** The folder on the host where the pool's leases are recorded. */
    scope: string;
    /** The lease record's content: the ownership mark. */
    mark: string;
}

const INPUT_KEYS = ["logicalName", "subnet", "gateway", "pool", "address", "reserved", "netns", "mark"] as const;
const rules = { replace: ["subnet", "pool", "address", "netns"], update: ["gateway", "reserved"], deleteBeforeReplace: true } as const;

/** The folder of a pool's leases: one file per leased address. */
export function leasePool(netns: string | undefined, pool: string): RecordDir {
    return new RecordDir("ipam", netnsIdentity(netns), pool);
}

/** What a lease asks for: the subnet, its gateway, and an address by hand or the reservations to skip. */
export interface LeaseRequest {
    subnet: string;
    gateway: string;
    address?: string;
    reserved?: string[];
}

/**
 * Checks the lease part of a resource's inputs (`subnet`, `gateway`, `address`), and fills in the
 * default gateway (the subnet's first host address). Pure.
 */
export function checkLeaseRequest(inputs: Props): CheckFailure[] {
    if (inputs.subnet === undefined) return [{ property: "subnet", reason: "subnet is required, e.g. 10.0.0.0/24" }];
    if (typeof inputs.subnet !== "string") return [{ property: "subnet", reason: `subnet must be a string, got ${JSON.stringify(inputs.subnet)}` }];
    if (isUnknown(inputs.subnet)) return [];
    const subnet = parseSubnet(inputs.subnet);
    if (typeof subnet === "string") return [{ property: "subnet", reason: `subnet ${subnet}` }];
    inputs.gateway ??= defaultGateway(subnet);
    const failures: CheckFailure[] = [];
    const gatewayProblem = isUnknown(inputs.gateway) ? undefined : explicitAddressProblem(subnet, "", inputs.gateway);
    if (gatewayProblem) failures.push({ property: "gateway", reason: `gateway: ${gatewayProblem}` });
    if (inputs.address !== undefined && !isUnknown(inputs.address)) {
        const problem = explicitAddressProblem(subnet, inputs.gateway, inputs.address);
        if (problem) failures.push({ property: "address", reason: `address: ${problem}` });
    }
    if (inputs.reserved !== undefined && !isUnknown(inputs.reserved)) {
        if (!Array.isArray(inputs.reserved)) failures.push({ property: "reserved", reason: "reserved must be a list of addresses" });
        else {
            inputs.reserved.forEach((address: unknown, i: number) => {
                if (isUnknown(address)) return;
                if (typeof address !== "string" || !parseAddress(address)) failures.push({ property: `reserved[${i}]`, reason: `reserved[${i}] ${JSON.stringify(address)} is not an IP address` });
                else if (offsetOf(subnet, address) === undefined) failures.push({ property: `reserved[${i}]`, reason: `reserved[${i}] ${address} is outside the subnet ${inputs.subnet}` });
            });
        }
    }
    return failures;
}

/** A claimed address. */
export interface Leased {
    ip: string;
    cidr: string;
    family: 4 | 6;
}

/**
 * Claims the asked-for address, or the lowest free host address of the subnet (the gateway, the
 * reserved addresses and those found in use on the host aside), by writing the mark into the
 * pool's record of that address;
 * throws a message that says what to do when the address is taken or the subnet is full.
 */
export function claimAddress(pool: RecordDir, l: LeaseRequest, mark: string, inUse: ReadonlySet<string> = new Set()): Leased {
    const subnet = parseSubnet(l.subnet) as Subnet;
    const leased = (ip: string): Leased => ({ ip, cidr: `${ip}/${subnet.prefixLength}`, family: subnet.family });
    if (l.address !== undefined) {
        if (!pool.claim(l.address, mark)) {
            throw new Error(`address ${l.address} in ${l.subnet} is already leased (by ${pool.read(l.address)}); choose another, or leave address out to get a free one`);
        }
        return leased(l.address);
    }
    let tried = 0;
    const reserved = new Set(l.reserved ?? []);
    for (const candidate of hostAddresses(subnet, l.gateway)) {
        tried += 1;
        if (reserved.has(candidate) || inUse.has(candidate)) continue;
        if (pool.claim(candidate, mark)) return leased(candidate);
    }
    throw new Error(`subnet ${l.subnet} has no free address: all ${tried} host addresses (the gateway ${l.gateway} aside) are leased; use a larger subnet or remove an attachment`);
}

/** The address whose record holds this mark, for a create whose result was lost; undefined when none does. */
export function leasedByMark(pool: RecordDir, subnetText: string, mark: string): Leased | undefined {
    const subnet = parseSubnet(subnetText);
    if (typeof subnet === "string") return undefined;
    const ip = pool.list().find((name) => pool.read(name) === mark);
    return ip === undefined ? undefined : { ip, cidr: `${ip}/${subnet.prefixLength}`, family: subnet.family };
}

const inUseOnBridge = new Map<string, Promise<Set<string>>>();

/**
 * Addresses of the subnet in use behind a bridge's ports although no record of the pool holds
 * them: a lost lease record, a pool that moved with `PULUMI_OVERLAY_STATE_DIR`, an address set by
 * hand. Each port whose mark no record of the pool holds (or that has none) is followed into its
 * namespace (`ip netns list-id` names it), and the bridge's own addresses count too. Read once
 * per pool and provider process: a stack's own new ports hold records, so what is found at the
 * first create stays true for the run, and a large up costs one read, not one per endpoint.
 * Equivalent to: `ip -n $netns -j link show master $bridge`, `ip -n $netns -j netns list-id`, and
 * `ip -n $namespace -j addr show` for each such port.
 */
export function addressesInUse(netns: string | undefined, bridge: string, pool: RecordDir, subnetText: string): Promise<Set<string>> {
    const key = `${netnsIdentity(netns)} ${bridge} ${pool.dir}`;
    let found = inUseOnBridge.get(key);
    if (!found) {
        found = findAddressesInUse(netns, bridge, pool, parseSubnet(subnetText) as Subnet);
        found.catch(() => inUseOnBridge.delete(key));
        inUseOnBridge.set(key, found);
    }
    return found;
}

/** Forgets what {@link addressesInUse} read, as a new provider process would (for tests). */
export function forgetAddressesInUse(): void {
    inUseOnBridge.clear();
}

async function findAddressesInUse(netns: string | undefined, bridge: string, pool: RecordDir, subnet: Subnet): Promise<Set<string>> {
    const inSubnet = (address: string) => offsetOf(subnet, address) !== undefined;
    const used = new Set<string>();
    const host = await namespaceState(netns);
    for (const a of host.links.find((l) => l.ifname === bridge)?.addr_info ?? []) if (inSubnet(a.local)) used.add(parseAddress(a.local)!.toString());
    const held = new Set(pool.list().map((ip) => pool.read(ip)));
    const strays = host.links.filter((l) => l.master === bridge && !(l.ifalias !== undefined && held.has(l.ifalias)) && l.link_netnsid !== undefined);
    if (strays.length === 0) return used;
    const names = new Map((await runJson<{ nsid: number; name?: string }[]>({ ...ipCommand(netns, ["-j", "netns", "list-id"]), readOnly: true })).map((n) => [n.nsid, n.name]));
    for (const port of strays) {
        const name = names.get(port.link_netnsid!);
        if (name === undefined) continue; // a namespace without a name (a container's): nothing to read it by
        const inside = await namespaceState(name).catch((err) => {
            if (isHostError(err, "noNamespace")) return undefined;
            throw err;
        });
        for (const link of inside?.links ?? []) for (const a of link.addr_info ?? []) if (inSubnet(a.local)) used.add(parseAddress(a.local)!.toString());
    }
    return used;
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(_olds: Props, news: Props) {
        const inputs = pick(news, INPUT_KEYS);
        const failures: (CheckFailure | undefined)[] = [checkRecordName("pool", inputs.pool), inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns)];
        return checkResult(inputs, [...failures, ...checkLeaseRequest(inputs)]);
    },

    async diff(_id: string, olds: Props, news: Props) {
        return diffProperties(olds, news, rules);
    },

    /** Claims the asked-for address, or the lowest free host address of the subnet. */
    async create(props: Props) {
        const l = props as IpLeaseInputs;
        const mark = markOf(l);
        const pool = leasePool(l.netns, l.pool);
        const { ip, cidr, family } = claimAddress(pool, l, mark);
        const outs: IpLeaseOutputs = { ...l, ip, cidr, family, scope: pool.dir, mark };
        return { id: `${l.pool}/${ip}`, outs };
    },

    /** The lease is there while its record carries this lease's mark. */
    async read(id: string, props: Props) {
        const l = props as IpLeaseOutputs;
        if (l.ip === undefined) return findByMark(l as IpLeaseInputs);
        if (RecordDir.at(l.scope).read(l.ip) !== l.mark) return {};
        return { id, props, inputs: pick(props, INPUT_KEYS) };
    },

    /** A new gateway leaves the lease as it is (unless the lease holds that address: then it is refused). */
    async update(_id: string, olds: Props, news: Props) {
        // Neither a new gateway nor new reservations renumber a lease that exists.
        if (news.gateway === olds.ip) {
            throw new Error(`gateway ${news.gateway} is leased to ${olds.logicalName}; choose another gateway, or give that attachment another address`);
        }
        return { outs: { ...olds, ...news } };
    },

    /** Releases the record, if it is still this lease's. */
    async delete(_id: string, props: Props) {
        const l = props as IpLeaseOutputs;
        const pool = RecordDir.at(l.scope);
        if (pool.read(l.ip) === l.mark) pool.release(l.ip);
    },
}, { marked: true });

/**
 * Finds a lease by its mark alone, for an engine that lost a create's result in a crash: the
 * pool's records are scanned for the one holding this lease's mark.
 */
function findByMark(l: IpLeaseInputs): pulumi.dynamic.ReadResult {
    if (!l.mark) return {};
    const pool = leasePool(l.netns, l.pool);
    const found = leasedByMark(pool, l.subnet, l.mark);
    if (!found) return {};
    const outs: IpLeaseOutputs = { ...l, ...found, scope: pool.dir, mark: l.mark };
    return { id: `${l.pool}/${found.ip}`, props: outs, inputs: pick(outs, INPUT_KEYS) };
}
