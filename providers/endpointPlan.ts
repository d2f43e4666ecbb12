/**
 * The Endpoint's plan, pure: its inputs and outputs, the check of its inputs, the `ip` steps that
 * bring the host from what is observed to what is declared, where each step runs, which step a
 * failed batch line was, and what drifted. The provider (endpoint.ts) observes and runs.
 * @module
 */
import { autoName, chooseName, type DiffRules, identityDigits, inNetns, logicalNameOf, pick, type Props } from "./common";
import type { LinkAddrs, LinkInfo, RouteInfo } from "./host";
import { checkLeaseRequest, type Leased, parseSubnet } from "./ipam";
import type { MarkedInputs } from "./provider";
import { type LinkShape, checkShape } from "./trafficPlan";
import {
    type CheckFailure,
    checkBoolean,
    checkInterfaceName,
    checkMtu,
    checkNamespaceName,
    checkNewInterfaceName,
    checkRecordName,
    isUnknown,
    parseAddress,
    sameAddress,
} from "./validate";

/** Inputs after `check`. */
export interface EndpointInputs extends MarkedInputs {
    logicalName: string;
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
    /** Shaping and impairment of the link, in both directions (each end's outgoing traffic). */
    link?: LinkShape;
}

/** Outputs: the inputs plus what was leased and what the kernel reports. */
export interface EndpointOutputs extends EndpointInputs, Leased {
    /** The inside end's MAC address. */
    mac: string;
    /** The folder of the lease records. */
    leaseScope: string;
    /** What refresh found changed out of band, in words; empty when the endpoint is as made. */
    drift: string[];
    /**
     * The namespace this endpoint made, as `inode@mtime` of its `/run/netns` entry (see
     * `namespaceInstance` in providers/host): a delete that finds the same one there deletes it
     * without reading it first. Absent in states from before it was kept.
     */
    namespaceInstance?: string;
}

export const INPUT_KEYS = [
    "logicalName",
    "mark",
    "namespace",
    "bridge",
    "netns",
    "hostInterface",
    "interfaceName",
    "subnet",
    "gateway",
    "address",
    "pool",
    "reserved",
    "defaultRoute",
    "mtu",
    "link",
] as const;

/** `reserved` is only read when an address is searched for (at create): a change of it changes nothing. */
export const DIFF_RULES: DiffRules = {
    replace: ["namespace", "netns", "hostInterface", "interfaceName", "subnet", "address", "pool"],
    update: ["bridge", "gateway", "defaultRoute", "mtu", "link"],
    optional: ["mtu"],
    deleteBeforeReplace: true,
};

/** One `ip` step with the words that name what it works on, for error messages. */
export interface Step {
    argv: string[];
    subject: string;
    netns?: string;
}

/**
 * The steps of one endpoint, by where they run: `add` (`netns add`) and `host` on the bridge's
 * side, `inside` in the endpoint's namespace.
 */
export interface Plan {
    add: Step[];
    inside: Step[];
    host: Step[];
}

/** What is on the host of one endpoint. */
export interface Observed {
    /** The namespace exists and is ours: its loopback carries the mark, or a create of ours made it and was cut off before marking it. */
    namespace: boolean;
    /** The namespace's loopback carries the mark. */
    marked?: boolean;
    inside?: LinkInfo & Partial<LinkAddrs>;
    host?: LinkInfo;
    route?: RouteInfo;
}

/** Nothing of the endpoint is on the host. */
export const NOTHING: Observed = { namespace: false };

/** The words naming an endpoint in messages. */
export function subject(endpoint: Pick<EndpointInputs, "namespace">): string {
    return `endpoint "${endpoint.namespace}"`;
}

/**
 * The host end's default name: `<pulumi name>-h-<4 hex digits>` when that fits in 15 bytes
 * whole; otherwise Docker's form, `veth` and 11 random hex digits. A shortened readable name
 * would leave many endpoints with long names differing only in 16 random bits (a collision in
 * 7% of stacks of 100).
 */
export function hostInterfaceName(logicalName: string, identity?: unknown): string {
    const readable = autoName(`${logicalName}-h`, 15, identity, "hostInterface");
    return readable.slice(0, -5) === `${logicalName}-h`.toLowerCase() ? readable : `veth${identityDigits(identity, "hostInterface", 11)}`;
}

/** The outputs of the lease kept among the inputs, so that a preview of an update knows them. */
export const LEASE_KEYS = ["ip", "cidr", "family"] as const;

/**
 * The lease's address when the inputs decide it: given by hand, or kept from the old inputs
 * (where read puts it) while subnet, pool and address are unchanged. A preview of an update shows
 * a dynamic resource's inputs only: with the address among them, the NAT rules of published ports
 * keep a known `toAddress` and preview as unchanged, not as replacements.
 */
function leaseKnownFromInputs(olds: Partial<EndpointInputs & Leased>, inputs: Props): Partial<Leased> {
    const subnet = typeof inputs.subnet === "string" && !isUnknown(inputs.subnet) ? parseSubnet(inputs.subnet) : undefined;
    if (!subnet || typeof subnet === "string") return {};
    if (typeof inputs.address === "string" && !isUnknown(inputs.address)) {
        return { ip: inputs.address, cidr: `${inputs.address}/${subnet.prefixLength}`, family: subnet.family };
    }
    const same = olds.subnet === inputs.subnet && olds.pool === inputs.pool && olds.address === undefined && olds.netns === inputs.netns;
    return same && typeof olds.ip === "string" ? { ip: olds.ip, cidr: olds.cidr, family: olds.family } : {};
}

/** Check: the inputs with their defaults, and every failure. */
export function checkEndpoint(olds: Partial<EndpointInputs & Leased>, news: Props): { inputs: EndpointInputs; failures: (CheckFailure | undefined)[] } {
    const inputs: Props = {
        ...pick(news, INPUT_KEYS),
        namespace: chooseName(olds, news, "namespace", 64),
        hostInterface:
            news.hostInterface ?? (typeof olds.hostInterface === "string" ? olds.hostInterface : hostInterfaceName(logicalNameOf(news), news.identity)),
        interfaceName: news.interfaceName ?? "eth0",
        defaultRoute: news.defaultRoute ?? true,
    };
    // The pool defaults to the bridge's name at create, and stays: moving to another bridge keeps the lease.
    inputs.pool ??= typeof olds.pool === "string" ? olds.pool : inputs.bridge;
    const failures: (CheckFailure | undefined)[] = [
        checkNamespaceName("namespace", inputs.namespace),
        inputs.bridge === undefined
            ? { property: "bridge", reason: "bridge is required: the name of the bridge the host end joins" }
            : checkInterfaceName("bridge", inputs.bridge),
        inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
        checkNewInterfaceName("hostInterface", inputs.hostInterface),
        checkNewInterfaceName("interfaceName", inputs.interfaceName),
        inputs.pool === undefined ? undefined : checkRecordName("pool", inputs.pool),
        inputs.mtu === undefined ? undefined : checkMtu("mtu", inputs.mtu),
        checkBoolean("defaultRoute", inputs.defaultRoute),
    ];
    if (inputs.hostInterface === inputs.bridge && !isUnknown(inputs.bridge)) {
        failures.push({
            property: "hostInterface",
            reason: `hostInterface '${inputs.hostInterface}' is the bridge's own name; give the host end another name`,
        });
    }
    failures.push(...checkLeaseRequest(inputs));
    if (inputs.link !== undefined && !isUnknown(inputs.link)) failures.push(...checkShape(inputs.link, "link."));
    Object.assign(inputs, leaseKnownFromInputs(olds, inputs));
    return { inputs: inputs as EndpointInputs, failures };
}

/**
 * The steps that bring an endpoint from what is observed to what is declared. Steps that set a
 * value (`link set`, `addr replace`, `route replace`) are idempotent and always run; a missing
 * namespace or veth pair is added.
 */
/**
 * The inside end's MAC address, from its IP address as Docker does (`02:42` and the IPv4 address's
 * four bytes; the last four bytes of an IPv6 one): unique within a subnet, and the same when the
 * endpoint is made again, so that its neighbours' ARP caches (and bridges' forwarding tables, on
 * other hosts too) stay right across a re-create. Locally administered, unicast. Pure.
 */
export function macOf(ip: string): string {
    const address = parseAddress(ip);
    const bytes = address ? address.toByteArray().slice(-4) : [0, 0, 0, 0];
    return ["02", "42", ...bytes.map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

export function planSteps(endpoint: EndpointInputs, mark: string, lease: Leased, seen: Observed, removeRoute: boolean, rootPid = String(process.pid)): Plan {
    const mtu = endpoint.mtu !== undefined ? ["mtu", String(endpoint.mtu)] : [];
    const namespaceSubject = `network namespace "${endpoint.namespace}"`;
    const add: Step[] = [];
    const inside: Step[] = [];
    if (!seen.namespace) add.push({ argv: ["netns", "add", endpoint.namespace], subject: namespaceSubject });
    if (!seen.marked) inside.push({ argv: ["link", "set", "dev", "lo", "alias", mark, "up"], subject: namespaceSubject, netns: endpoint.namespace });
    if (!seen.inside || !seen.host) {
        // The inside end without its host end (moved away by hand): deleting it deletes the pair.
        if (seen.inside)
            inside.push({
                argv: ["link", "delete", "dev", endpoint.interfaceName],
                subject: `interface "${endpoint.interfaceName}"`,
                netns: endpoint.namespace,
            });
        // The host end is made from inside, straight into the host side's namespace: by name, or
        // for the root namespace by the pid of a process that lives there (the provider here, the
        // SSH session on a remote host).
        const hostRef = endpoint.netns ?? rootPid;
        inside.push({
            argv: [
                "link",
                "add",
                "name",
                endpoint.interfaceName,
                "address",
                macOf(lease.ip),
                ...mtu,
                "type",
                "veth",
                "peer",
                "name",
                endpoint.hostInterface,
                "netns",
                hostRef,
            ],
            // Inside, only this endpoint's own end can stand in the way, and it was deleted above:
            // a name taken is the host end's.
            subject: `interface "${endpoint.hostInterface}"`,
            netns: endpoint.netns,
        });
    }
    const insideEnd = { subject: `interface "${endpoint.interfaceName}"`, netns: endpoint.namespace };
    // No IPv6 link-local address where IPv6 is not the endpoint's (before the end is first up: an
    // address made already stays), nor ever on the host end, a port of the bridge: neither talks
    // IPv6 on the bridge (duplicate address detection, router solicitations, multicast reports,
    // each flooded to every port), as in Docker's IPv4-only networks.
    const noLinkLocal = ["addrgenmode", "none"];
    inside.push({
        argv: ["link", "set", "dev", endpoint.interfaceName, ...(lease.family === 4 ? noLinkLocal : []), ...mtu, "alias", mark, "up"],
        ...insideEnd,
    });
    const nodad = lease.family === 6 ? ["nodad"] : [];
    inside.push({
        argv: ["addr", "replace", lease.cidr, "dev", endpoint.interfaceName, ...nodad],
        subject: `address ${lease.cidr} on "${endpoint.interfaceName}"`,
        netns: endpoint.namespace,
    });
    const routeSubject = { subject: `default route via ${endpoint.gateway}`, netns: endpoint.namespace };
    if (endpoint.defaultRoute) inside.push({ argv: ["route", "replace", "default", "via", endpoint.gateway, "dev", endpoint.interfaceName], ...routeSubject });
    else if (removeRoute) inside.push({ argv: ["route", "del", "default", "via", endpoint.gateway, "dev", endpoint.interfaceName], ...routeSubject });
    inside.push({ argv: ["link", "show", "dev", endpoint.interfaceName], ...insideEnd });
    const hostEnd = { subject: `interface "${endpoint.hostInterface}"`, netns: endpoint.netns };
    const host: Step[] = [
        { argv: ["link", "set", "dev", endpoint.hostInterface, ...noLinkLocal, ...mtu, "alias", mark, "master", endpoint.bridge, "up"], ...hostEnd },
        { argv: ["link", "show", "dev", endpoint.hostInterface], ...hostEnd },
    ];
    return { add, inside, host };
}

/**
 * The step a failed batch was at, from the line numbers ip reports (`Command failed FILE:LINE`).
 * The outer batch (stdin, run on the bridge's side) holds, in order: the `add` steps, one line
 * that runs the inside file, then the host steps. So an outer line past the `add` steps and the
 * inside line is host step `line - add.length - 2` (0-based), and a failure inside the file names
 * the file's line.
 */
export function failedStep(plan: Plan, failure: { outerLine?: number; insideLine?: number }): Step | undefined {
    if (failure.insideLine !== undefined) return plan.inside[failure.insideLine - 1];
    if (failure.outerLine === undefined) return undefined;
    if (failure.outerLine <= plan.add.length) return plan.add[failure.outerLine - 1];
    return plan.host[failure.outerLine - plan.add.length - 2];
}

/** What differs between the host and the declaration, in words (empty: nothing). */
export function driftOf(endpoint: EndpointInputs, lease: Leased, seen: Observed, leaseHeld: boolean): string[] {
    if (!seen.namespace) return [`namespace "${endpoint.namespace}" is gone`];
    const drift: string[] = [];
    if (!leaseHeld) drift.push(`the lease record of ${lease.ip} is gone`);
    if (!seen.inside || !seen.host) {
        drift.push(`the veth pair "${endpoint.hostInterface}" - "${endpoint.interfaceName}" is gone`);
        return drift;
    }
    if (!seen.inside.flags.includes("UP")) drift.push(`"${endpoint.interfaceName}" is down`);
    if (!seen.host.flags.includes("UP")) drift.push(`"${endpoint.hostInterface}" is down ${inNetns(endpoint.netns)}`);
    if (seen.host.master !== endpoint.bridge) drift.push(`"${endpoint.hostInterface}" is not a port of bridge "${endpoint.bridge}"`);
    if (endpoint.mtu !== undefined && (seen.inside.mtu !== endpoint.mtu || seen.host.mtu !== endpoint.mtu)) drift.push(`the MTU is not ${endpoint.mtu}`);
    const [ip, length] = lease.cidr.split("/");
    if (!seen.inside.addr_info?.some((a) => sameAddress(a.local, ip) && a.prefixlen === Number(length)))
        drift.push(`"${endpoint.interfaceName}" lacks its address ${lease.cidr}`);
    if (endpoint.defaultRoute && seen.route?.gateway !== endpoint.gateway) drift.push(`the default route via ${endpoint.gateway} is gone`);
    return drift;
}

/** The outputs: the inputs, the lease, and what the kernel reports. */
export function outputsOf(endpoint: EndpointInputs, lease: Leased, leaseScope: string, mac: string, drift: string[], instance?: string): EndpointOutputs {
    return {
        ...(pick(endpoint, INPUT_KEYS) as EndpointInputs),
        ...lease,
        mac,
        leaseScope,
        drift,
        ...(instance !== undefined ? { namespaceInstance: instance } : {}),
    };
}
