/**
 * IP address management, pure: subnets, their gateway, and the rules for addresses given by hand.
 * The IpLease provider (ipLease.ts) takes addresses from these pools on the host.
 * @module
 */
import * as ipaddr from "ipaddr.js";
import { type Cidr, networkOf, parseAddress, parseCidr } from "./host/validate";

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
    if (bits - cidr.prefixLength < 2) return `'${text}' is too small: a network needs room for a gateway and at least one host (at most /30 for IPv4, /126 for IPv6)`;
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

/** The host addresses of a subnet in order, the gateway left out. */
export function* hostAddresses(subnet: Subnet, gateway: string): Generator<string> {
    const gatewayText = parseAddress(gateway)?.toString();
    const end = subnet.size < MAX_POOL_WALK ? subnet.size : MAX_POOL_WALK;
    for (let offset = 1n; offset < end; offset++) {
        if (!isHost(subnet, offset)) continue;
        const address = addressAt(subnet, offset);
        if (address !== gatewayText) yield address;
    }
}
