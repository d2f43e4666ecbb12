/**
 * IP address management: subnets, their gateway and the rules for addresses given by hand (pure),
 * and leases, kept on the host as one record per address in a pool's folder, the way CNI's
 * host-local IPAM keeps them. The IpLease and Endpoint providers take their addresses here.
 * @module
 */
import * as ipaddr from "ipaddr.js";
import type { Props } from "./common";
import { hostKey, ipCommand, namespaceState, netnsIdentity, parseIpJson, RecordDir, runRead, safeName } from "./host";
import { type CheckFailure, type Cidr, isUnknown, networkOf, parseAddress, parseCidr } from "./validate";

/** A subnet, parsed. */
export interface Subnet {
    text: string;
    family: 4 | 6;
    prefixLength: number;
    /** The network address as a big integer. */
    network: bigint;
    /** The number of addresses in the subnet. */
    size: bigint;
}

function toBigInt(address: ipaddr.IPv4 | ipaddr.IPv6): bigint {
    return address.toByteArray().reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

function fromBigInt(value: bigint, family: 4 | 6): string {
    const bytes: number[] = [];
    for (let i = 0; i < (family === 4 ? 4 : 16); i++) {
        bytes.unshift(Number(value & 0xffn));
        value >>= 8n;
    }
    return ipaddr.fromByteArray(bytes).toString();
}

/** Parses a subnet (`10.0.0.0/24`, `fd00:1::/64`); a reason when it is not one with room for hosts. */
export function parseSubnet(text: string): Subnet | string {
    const cidr: Cidr | undefined = parseCidr(text);
    if (!cidr) return `'${text}' is not a subnet in CIDR form (e.g. 10.0.0.0/24 or fd00:1::/64)`;
    const network = networkOf(cidr);
    if (network !== cidr.address.toString()) return `'${text}' has host bits set; the subnet is ${network}/${cidr.prefixLength}`;
    const bits = cidr.family === 4 ? 32 : 128;
    if (bits - cidr.prefixLength < 2)
        return `'${text}' is too small: a network needs room for a gateway and at least one host (at most /30 for IPv4, /126 for IPv6)`;
    return { text, family: cidr.family, prefixLength: cidr.prefixLength, network: toBigInt(cidr.address), size: 1n << BigInt(bits - cidr.prefixLength) };
}

/** The address at an offset from the network address. */
export function addressAt(subnet: Subnet, offset: bigint): string {
    return fromBigInt(subnet.network + offset, subnet.family);
}

/** The default gateway: the first host address. */
export function defaultGateway(subnet: Subnet): string {
    return addressAt(subnet, 1n);
}

/** Where an address falls in a subnet: its offset, or undefined when outside. */
export function offsetOf(subnet: Subnet, address: string): bigint | undefined {
    const parsed = parseAddress(address);
    if (!parsed || (parsed.kind() === "ipv4" ? 4 : 6) !== subnet.family) return undefined;
    const offset = toBigInt(parsed) - subnet.network;
    return offset >= 0n && offset < subnet.size ? offset : undefined;
}

/** True when the offset is a usable host: not the network address, nor (IPv4) the broadcast. */
function isHost(subnet: Subnet, offset: bigint): boolean {
    return offset > 0n && (subnet.family === 6 || offset < subnet.size - 1n);
}

/**
 * Why an address given by hand cannot be used in the subnet, or undefined when it can: it must be
 * inside, and not the network, broadcast or gateway address.
 */
export function explicitAddressProblem(subnet: Subnet, gateway: string, address: string): string | undefined {
    if (!parseAddress(address)) return `'${address}' is not an IP address`;
    const offset = offsetOf(subnet, address);
    if (offset === undefined) return `${address} is outside the subnet ${subnet.text}`;
    if (offset === 0n) return `${address} is the network address of ${subnet.text}`;
    if (subnet.family === 4 && offset === subnet.size - 1n) return `${address} is the broadcast address of ${subnet.text}`;
    if (parseAddress(address)!.toString() === parseAddress(gateway)?.toString()) return `${address} is the gateway of ${subnet.text}`;
    return undefined;
}

/** The most addresses a pool walks through looking for a free one (a /64 is not walked whole). */
export const MAX_POOL_WALK = 65536n;

/** The host addresses of a subnet in order (from the offset `from`), the gateway left out. */
export function* hostAddresses(subnet: Subnet, gateway: string, from = 1n): Generator<string> {
    const gatewayText = parseAddress(gateway)?.toString();
    const end = subnet.size < MAX_POOL_WALK ? subnet.size : MAX_POOL_WALK;
    for (let offset = from > 1n ? from : 1n; offset < end; offset++) {
        if (!isHost(subnet, offset)) continue;
        const address = addressAt(subnet, offset);
        if (address !== gatewayText) yield address;
    }
}

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
                if (typeof address !== "string" || !parseAddress(address))
                    failures.push({ property: `reserved[${i}]`, reason: `reserved[${i}] ${JSON.stringify(address)} is not an IP address` });
                else if (offsetOf(subnet, address) === undefined)
                    failures.push({ property: `reserved[${i}]`, reason: `reserved[${i}] ${address} is outside the subnet ${inputs.subnet}` });
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
export function claimAddress(pool: RecordDir, request: LeaseRequest, mark: string, inUse: ReadonlySet<string> = new Set()): Leased {
    const subnet = parseSubnet(request.subnet) as Subnet;
    const leased = (ip: string): Leased => ({ ip, cidr: `${ip}/${subnet.prefixLength}`, family: subnet.family });
    if (request.address !== undefined) {
        if (!pool.claim(request.address, mark)) {
            throw new Error(
                `address ${request.address} in ${request.subnet} is already leased (by ${pool.read(request.address)}); choose another, or leave address out to get a free one`,
            );
        }
        noteRecord(pool, request.address, mark);
        return leased(request.address);
    }
    let tried = 0;
    const reserved = new Set(request.reserved ?? []);
    // Where the last search of this process ended: every address below was taken then. The first
    // search lists the pool's records once, so that it does not try each leased address in turn
    // (on a remote host each try is a round trip); later ones start where the last one ended,
    // which keeps a large up from walking 1, 2, ... N addresses for its Nth lease.
    const floorKey = `${hostKey()} ${pool.dir} ${subnet.text}`;
    const floor = searchFloors.get(floorKey);
    const taken = floor === undefined ? new Set(pool.list()) : new Set<string>();
    for (const candidate of hostAddresses(subnet, request.gateway, floor)) {
        tried += 1;
        if (reserved.has(candidate) || inUse.has(candidate) || taken.has(safeName(candidate))) continue;
        if (pool.claim(candidate, mark)) {
            noteRecord(pool, candidate, mark);
            searchFloors.set(floorKey, offsetOf(subnet, candidate)! + 1n);
            return leased(candidate);
        }
    }
    // Addresses below the floor may have been released by another process meanwhile: look again from the start.
    if (floor !== undefined) {
        searchFloors.delete(floorKey);
        return claimAddress(pool, request, mark, inUse);
    }
    throw new Error(
        `subnet ${request.subnet} has no free address: all ${tried} host addresses (the gateway ${request.gateway} aside) are leased; use a larger subnet or remove an attachment`,
    );
}

/**
 * Per pool and subnet, the offset below which this process's last free-address search found
 * every address taken (see {@link claimAddress}); forgotten when this process releases an
 * address of the pool. An address another process releases meanwhile is found again by a new
 * provider process, or when the search runs out of addresses above the floor.
 */
const searchFloors = new Map<string, bigint>();

/**
 * Releases a lease: removes the pool's record of the address when it still holds `mark`.
 * Equivalent to: `rm $pool/$ip` if its content is `$mark`.
 */
export function releaseLease(pool: RecordDir, ip: string, mark: string): void {
    if (pool.read(ip) !== mark) return;
    pool.release(ip);
    for (const key of [...searchFloors.keys()]) if (key.startsWith(`${hostKey()} ${pool.dir} `)) searchFloors.delete(key);
}

/** The address whose record holds this mark, for a create whose result was lost; undefined when none does. */
export function leasedByMark(pool: RecordDir, subnetText: string, mark: string): Leased | undefined {
    const subnet = parseSubnet(subnetText);
    if (typeof subnet === "string") return undefined;
    const ip = recordWithMark(pool, mark);
    return ip === undefined ? undefined : { ip, cidr: `${ip}/${subnet.prefixLength}`, family: subnet.family };
}

/** Per pool, the records this process has read: name -> text, and text -> name. */
interface PoolIndex {
    texts: Map<string, string>;
    names: Map<string, string>;
}

const poolIndexes = new Map<string, PoolIndex>();

/** Tells the index of a pool (when this process has one) about a record this process just made. */
function noteRecord(pool: RecordDir, name: string, text: string): void {
    const index = poolIndexes.get(`${hostKey()} ${pool.dir}`);
    if (!index) return;
    const before = index.texts.get(name);
    if (before !== undefined) index.names.delete(before);
    index.texts.set(name, text);
    index.names.set(text, name);
}

/**
 * The record that holds `text`. Each record is read once per process: at the first look the
 * folder's records, after that only those not seen before (a name the listing shows that the
 * index does not know), and a hit is read again to confirm it. Reading every record at every
 * create made a create of the 1000th endpoint read 999 files (O(N^2) for a large up). Lease
 * records are only made new (claim) and removed (release), never rewritten; a name released and
 * claimed again by another process between two looks keeps its old text here, which matters only
 * for a mark of that other process (this process's own claims are noted as they are made).
 */
function recordWithMark(pool: RecordDir, text: string): string | undefined {
    const key = `${hostKey()} ${pool.dir}`;
    let index = poolIndexes.get(key);
    if (!index) {
        index = { texts: new Map(), names: new Map() };
        for (const [name, content] of pool.readAll()) {
            index.texts.set(name, content);
            index.names.set(content, name);
        }
        poolIndexes.set(key, index);
    } else {
        const listed = new Set(pool.list());
        for (const name of [...index.texts.keys()]) {
            if (listed.has(name)) continue;
            index.names.delete(index.texts.get(name)!);
            index.texts.delete(name);
        }
        for (const name of listed) {
            if (index.texts.has(name)) continue;
            const content = pool.read(name);
            if (content === undefined) continue;
            index.texts.set(name, content);
            index.names.set(content, name);
        }
    }
    const name = index.names.get(text);
    if (name === undefined || pool.read(name) === text) return name;
    index.names.delete(text);
    index.texts.delete(name);
    return undefined;
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
    const key = `${hostKey()} ${netnsIdentity(netns)} ${bridge} ${pool.dir}`;
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
    for (const address of host.links.find((link) => link.ifname === bridge)?.addr_info ?? [])
        if (inSubnet(address.local)) used.add(parseAddress(address.local)!.toString());
    const held = new Set(pool.readAll().values());
    const strays = host.links.filter(
        (link) => link.master === bridge && !(link.ifalias !== undefined && held.has(link.ifalias)) && link.link_netnsid !== undefined,
    );
    if (strays.length === 0) return used;
    const listed = await runRead(ipCommand(netns, ["-j", "netns", "list-id"]));
    const names = new Map((listed ? parseIpJson<{ nsid: number; name?: string }[]>(listed.stdout || "[]") : []).map((n) => [n.nsid, n.name]));
    for (const port of strays) {
        const name = names.get(port.link_netnsid!);
        if (name === undefined) continue; // a namespace without a name (a container's): nothing to read it by
        const inside = await namespaceState(name);
        for (const link of inside.links)
            for (const address of link.addr_info ?? []) if (inSubnet(address.local)) used.add(parseAddress(address.local)!.toString());
    }
    return used;
}
