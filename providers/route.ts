/**
 * The Route provider: one route (`ip route add DEST via GW dev DEV metric M table T`). It owns the
 * route exactly as it added it, through the very link it went out of (the link's identity is kept,
 * as for addresses), and deletes only a route that matches it in every field on that link.
 * @module
 */
import { inNetns, leftBehind, pick, type Props } from "./common";
import { ipCommand, linkGet, linkIdentity, netnsIdentity, RecordDir, type RouteInfo, routeList, runCommand, runDelete } from "./host";
import { type MarkedInputs, defineProvider, markOf } from "./provider";
import {
    type CheckFailure,
    checkInteger,
    checkInterfaceName,
    checkNamespaceName,
    checkNetworkCidr,
    familyOf,
    checkUnicastAddress,
    isUnknown,
    parseAddress,
    parseCidr,
    sameAddress,
} from "./validate";

/** Inputs after `check`. */
export interface RouteInputs extends MarkedInputs {
    logicalName: string;
    /** A network in CIDR form, a host address, or "default". */
    destination: string;
    gateway?: string;
    device?: string;
    netns?: string;
    metric?: number;
    /** A routing table id (1 to 2^32-1), or "main". */
    table?: number | "main";
}

/** Outputs. */
export interface RouteOutputs extends RouteInputs {
    family: 4 | 6;
    /** The link the route goes out of, as made (see {@link linkIdentity}); absent in stacks made before 0.2. */
    deviceIdentity?: string;
}

const INPUT_KEYS = ["logicalName", "destination", "gateway", "device", "netns", "metric", "table", "mark"] as const;

/**
 * The records of the routes this project added in a namespace, one per route, holding the adding
 * resource's mark, written before the add (as for addresses): a create cut off by a crash is
 * recognised by its repeat and taken over.
 */
function routeRecords(route: Pick<RouteInputs, "netns">): RecordDir {
    return new RecordDir("routes", netnsIdentity(route.netns));
}

function recordName(route: RouteInputs): string {
    return [route.table ?? "main", route.destination, route.gateway ?? "", route.device ?? "", route.metric ?? ""].join(" ");
}

/** Forgets this resource's record of the route. */
function forget(route: RouteInputs): void {
    const records = routeRecords(route);
    if (route.mark !== undefined && records.read(recordName(route)) === route.mark) records.release(recordName(route));
}

/** The route's family: from the destination, else the gateway; a bare `default` is IPv4. */
export function routeFamily(route: Pick<RouteInputs, "destination" | "gateway">): 4 | 6 {
    return (route.destination !== "default" ? familyOf(route.destination) : undefined) ?? (route.gateway ? familyOf(route.gateway) : undefined) ?? 4;
}

/** The destination as `ip -j route` prints it: "default", a bare host address, or network/len. */
export function kernelDestination(destination: string): string {
    if (destination === "default") return "default";
    const cidr = parseCidr(destination);
    if (!cidr) return parseAddress(destination)?.toString() ?? destination;
    if (cidr.prefixLength === 0) return "default";
    if (cidr.prefixLength === (cidr.family === 4 ? 32 : 128)) return cidr.address.toString();
    return `${cidr.address.toString()}/${cidr.prefixLength}`;
}

/** The route selector arguments shared by add and del. */
function selector(route: RouteInputs): string[] {
    return [
        route.destination,
        ...(route.gateway !== undefined ? ["via", route.gateway] : []),
        ...(route.device !== undefined ? ["dev", route.device] : []),
        ...(route.metric !== undefined ? ["metric", String(route.metric)] : []),
        ...(route.table !== undefined ? ["table", String(route.table)] : []),
    ];
}

/** The resource id: `netns/table/destination`. */
function idOf(route: RouteInputs): string {
    return `${route.netns ?? ""}/${route.table ?? "main"}/${route.destination}`;
}

function subject(route: RouteInputs): string {
    return `route to ${route.destination}${route.table !== undefined ? ` in table ${route.table}` : ""}`;
}

/** True when a kernel route is exactly this one. */
export function routeMatches(route: RouteInputs, k: RouteInfo): boolean {
    const family = routeFamily(route);
    const metric = route.metric ?? (family === 6 ? 1024 : 0);
    const destination = kernelDestination(route.destination);
    return (
        (k.dst === destination ||
            (destination !== "default" && sameAddress(k.dst.split("/")[0], destination.split("/")[0]) && k.dst.split("/")[1] === destination.split("/")[1])) &&
        (route.gateway === undefined || (k.gateway !== undefined && sameAddress(k.gateway, route.gateway))) &&
        (route.device === undefined || k.dev === route.device) &&
        (k.metric ?? 0) === metric &&
        (k.type === undefined || k.type === "unicast")
    );
}

async function findRoute(route: RouteInputs): Promise<RouteInfo | undefined> {
    return (await routeList(route.netns, routeFamily(route), route.table)).find((k) => routeMatches(route, k));
}

/** The identity of the link a route of the kernel goes out of; undefined when it names none. */
async function deviceIdentityOf(netns: string | undefined, route: RouteInfo | undefined): Promise<string | undefined> {
    const link = route?.dev === undefined ? undefined : await linkGet(netns, route.dev);
    return link && linkIdentity(netns, link);
}

/**
 * This route on the host: `ours` (there, on the link it was made on), `gone`, or `otherLink` (a
 * route that matches it, on a link of that name that is another link now: someone else's).
 */
async function presence(route: RouteOutputs): Promise<{ state: "ours" | "gone" | "otherLink"; found?: RouteInfo }> {
    const found = await findRoute(route);
    if (!found) return { state: "gone" };
    if (route.deviceIdentity !== undefined && (await deviceIdentityOf(route.netns, found)) !== route.deviceIdentity) return { state: "otherLink", found };
    return { state: "ours", found };
}

export const provider = defineProvider<RouteInputs, RouteOutputs>({
    rules: { replace: ["destination", "gateway", "device", "netns", "metric", "table"], update: [], deleteBeforeReplace: true },
    marked: true,

    async check(_olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS) as RouteInputs;
        const known = (v: unknown) => v !== undefined && !isUnknown(v);
        const failures: (CheckFailure | undefined)[] = [
            inputs.destination === undefined || inputs.destination === "default" ? undefined : checkNetworkCidr("destination", inputs.destination),
            inputs.gateway === undefined ? undefined : checkUnicastAddress("gateway", inputs.gateway),
            inputs.device === undefined ? undefined : checkInterfaceName("device", inputs.device),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
            inputs.metric === undefined ? undefined : checkInteger("metric", inputs.metric, 0, 4294967295, "route metric"),
            inputs.table === undefined || inputs.table === "main"
                ? undefined
                : checkInteger("table", inputs.table, 1, 4294967295, "routing table id (or 'main')"),
        ];
        if (inputs.destination === undefined)
            failures.push({ property: "destination", reason: "destination is required: a network in CIDR form (10.1.0.0/24) or 'default'" });
        if (inputs.gateway === undefined && inputs.device === undefined) {
            failures.push({ property: "gateway", reason: "a route needs a gateway or a device (or both)" });
        }
        if (known(inputs.destination) && inputs.destination !== "default" && inputs.gateway !== undefined && known(inputs.gateway)) {
            const [destinationFamily, gatewayFamily] = [familyOf(inputs.destination), familyOf(inputs.gateway)];
            if (destinationFamily && gatewayFamily && destinationFamily !== gatewayFamily) {
                failures.push({
                    property: "gateway",
                    reason: `gateway '${inputs.gateway}' is IPv${gatewayFamily} but destination '${inputs.destination}' is IPv${destinationFamily}; use a gateway of the same family`,
                });
            }
        }
        return { inputs, failures };
    },

    /**
     * Equivalent to: `ip -n $netns -4|-6 route add $destination [via $gateway] [dev $device] [metric $m] [table $t]`,
     * then a read of the link it goes out of.
     */
    async create(inputs) {
        const family = routeFamily(inputs);
        const mark = markOf(inputs);
        const records = routeRecords(inputs);
        const cutOff = records.read(recordName(inputs)) === mark && (await findRoute(inputs)) !== undefined;
        // A create of this resource (same mark) that was cut off added it already: taken over.
        if (!cutOff) {
            records.write(recordName(inputs), mark);
            try {
                await runCommand({ ...ipCommand(inputs.netns, [family === 4 ? "-4" : "-6", "route", "add", ...selector(inputs)]), subject: subject(inputs) });
            } catch (err) {
                forget({ ...inputs, mark });
                throw err;
            }
        }
        const deviceIdentity = await deviceIdentityOf(
            inputs.netns,
            inputs.device !== undefined ? { dst: inputs.destination, dev: inputs.device } : await findRoute(inputs),
        );
        return { id: idOf(inputs), outs: { ...inputs, family, deviceIdentity } };
    },

    /** Equivalent to: `ip -n $netns -j route show table $t`, looking for exactly this route on the same link. */
    async read(id, props) {
        if ((await presence(props)).state !== "ours") return {};
        return { id: id || idOf(props), props: { ...props, family: routeFamily(props) }, inputs: pick(props, INPUT_KEYS) };
    },

    /** Equivalent to: `ip -n $netns route del $destination via ... dev ... metric ... table ...`, when it is there on its link. */
    async delete(_id, props) {
        const { state, found } = await presence(props);
        if (state === "otherLink")
            leftBehind(subject(props), `device "${found?.dev}" ${inNetns(props.netns)} is not the link it was made on (it was deleted and made again)`);
        if (state !== "ours" || !found) return forget(props);
        // Delete with every field the kernel reports, so no other route with the same prefix can match.
        const exact: RouteInputs = { ...props, gateway: props.gateway ?? found.gateway, device: props.device ?? found.dev, metric: found.metric ?? 0 };
        await runDelete({ ...ipCommand(props.netns, [routeFamily(props) === 4 ? "-4" : "-6", "route", "del", ...selector(exact)]), subject: subject(props) });
        forget(props);
    },
});
