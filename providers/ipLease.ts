/**
 * The IpLease provider: one address taken from a pool, the way CNI's host-local IPAM does it.
 * The lease is a record on the host (host/store.ts), claimed with an exclusive create, so two
 * leases never get the same address; the address stays the lease's for as long as the resource
 * lives, so adding or removing other leases never renumbers it.
 * @module
 */
import { pick, type Props } from "./common";
import { RecordDir } from "./host";
import { checkLeaseRequest, claimAddress, leasedByMark, leasePool, releaseLease } from "./ipam";
import { type MarkedInputs, type Read, defineProvider, markOf } from "./provider";
import { checkNamespaceName, checkRecordName } from "./validate";

/** Inputs after `check`. */
export interface IpLeaseInputs extends MarkedInputs {
    logicalName: string;
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

export const provider = defineProvider<IpLeaseInputs, IpLeaseOutputs>({
    rules: { replace: ["subnet", "pool", "address", "netns"], update: ["gateway", "reserved"], deleteBeforeReplace: true },
    marked: true,

    async check(_olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS);
        const failures = [
            checkRecordName("pool", inputs.pool),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
            ...checkLeaseRequest(inputs),
        ];
        return { inputs: inputs as IpLeaseInputs, failures };
    },

    /** Claims the asked-for address, or the lowest free host address of the subnet. */
    async create(lease) {
        const mark = markOf(lease);
        const pool = leasePool(lease.netns, lease.pool);
        // A record holding this lease's mark: a create of it that was cut off claimed it.
        const { ip, cidr, family } = leasedByMark(pool, lease.subnet, mark) ?? claimAddress(pool, lease, mark);
        return { id: `${lease.pool}/${ip}`, outs: { ...lease, ip, cidr, family, scope: pool.dir, mark } };
    },

    /** The lease is there while its record carries this lease's mark. */
    async read(id, props) {
        if (props.ip === undefined) return findByMark(props);
        if (RecordDir.at(props.scope).read(props.ip) !== props.mark) return {};
        return { id, props, inputs: pick(props, INPUT_KEYS) };
    },

    /** A new gateway leaves the lease as it is (unless the lease holds that address: then it is refused). */
    async update(_id, olds, news) {
        // Neither a new gateway nor new reservations renumber a lease that exists.
        if (news.gateway === olds.ip) {
            throw new Error(`gateway ${news.gateway} is leased to ${olds.logicalName}; choose another gateway, or give that attachment another address`);
        }
        return { outs: { ...olds, ...news } };
    },

    /** Releases the record, if it is still this lease's. */
    async delete(_id, props) {
        releaseLease(RecordDir.at(props.scope), props.ip, props.mark);
    },
});

/**
 * Finds a lease by its mark alone, for an engine that lost a create's result in a crash: the
 * pool's records are scanned for the one holding this lease's mark.
 */
function findByMark(lease: IpLeaseInputs): Read<IpLeaseInputs, IpLeaseOutputs> {
    if (!lease.mark) return {};
    const pool = leasePool(lease.netns, lease.pool);
    const found = leasedByMark(pool, lease.subnet, lease.mark);
    if (!found) return {};
    const outs: IpLeaseOutputs = { ...lease, ...found, scope: pool.dir, mark: lease.mark };
    return { id: `${lease.pool}/${found.ip}`, props: outs, inputs: pick(outs, INPUT_KEYS) };
}
