/**
 * The Route provider: one route (`ip route add DEST via GW dev DEV metric M table T`). It owns the
 * route exactly as it added it, through the very link it went out of (the link's identity is kept,
 * as for addresses), and deletes only a route that matches it in every field on that link.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, definedResults, diffProperties, inNetns, leftBehind, pick, type Props } from "./common";
import { ipCommand, runCommand } from "./host/command";
import { isHostError } from "./host/errors";
import { type RouteInfo, linkGet, linkIdentity, routeList } from "./host/ip";
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
} from "./host/validate";

/** Inputs after `check`. */
export interface RouteInputs {
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

const rules = { replace: ["destination", "gateway", "device", "netns", "metric", "table"], update: [], deleteBeforeReplace: true } as const;
const INPUT_KEYS = ["logicalName", "destination", "gateway", "device", "netns", "metric", "table"] as const;

/** The route's family: from the destination, else the gateway; a bare `default` is IPv4. */
export function routeFamily(r: Pick<RouteInputs, "destination" | "gateway">): 4 | 6 {
    return (r.destination !== "default" ? familyOf(r.destination) : undefined) ?? (r.gateway ? familyOf(r.gateway) : undefined) ?? 4;
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
function selector(r: RouteInputs): string[] {
    return [
        r.destination,
        ...(r.gateway !== undefined ? ["via", r.gateway] : []),
        ...(r.device !== undefined ? ["dev", r.device] : []),
        ...(r.metric !== undefined ? ["metric", String(r.metric)] : []),
        ...(r.table !== undefined ? ["table", String(r.table)] : []),
    ];
}

/** The resource id: `netns/table/destination`. */
function idOf(r: RouteInputs): string {
    return `${r.netns ?? ""}/${r.table ?? "main"}/${r.destination}`;
}

function subject(r: RouteInputs): string {
    return `route to ${r.destination}${r.table !== undefined ? ` in table ${r.table}` : ""}`;
}

/** True when a kernel route is exactly this one. */
export function routeMatches(r: RouteInputs, k: RouteInfo): boolean {
    const family = routeFamily(r);
    const metric = r.metric ?? (family === 6 ? 1024 : 0);
    const destination = kernelDestination(r.destination);
    return (
        (k.dst === destination || (destination !== "default" && sameAddress(k.dst.split("/")[0], destination.split("/")[0]) && k.dst.split("/")[1] === destination.split("/")[1])) &&
        (r.gateway === undefined || (k.gateway !== undefined && sameAddress(k.gateway, r.gateway))) &&
        (r.device === undefined || k.dev === r.device) &&
        (k.metric ?? 0) === metric &&
        (k.type === undefined || k.type === "unicast")
    );
}

async function findRoute(r: RouteInputs): Promise<RouteInfo | undefined> {
    const routes = await routeList(r.netns, routeFamily(r), r.table).catch((err) => {
        if (isHostError(err, "noNamespace")) return [];
        throw err;
    });
    return routes.find((k) => routeMatches(r, k));
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
async function presence(r: RouteOutputs): Promise<{ state: "ours" | "gone" | "otherLink"; found?: RouteInfo }> {
    const found = await findRoute(r);
    if (!found) return { state: "gone" };
    if (r.deviceIdentity !== undefined && (await deviceIdentityOf(r.netns, found)) !== r.deviceIdentity) return { state: "otherLink", found };
    return { state: "ours", found };
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(_olds: Props, news: Props) {
        const inputs = pick(news, INPUT_KEYS);
        const known = (v: unknown) => v !== undefined && !isUnknown(v);
        const failures: (CheckFailure | undefined)[] = [
            inputs.destination === undefined || inputs.destination === "default" ? undefined : checkNetworkCidr("destination", inputs.destination),
            inputs.gateway === undefined ? undefined : checkUnicastAddress("gateway", inputs.gateway),
            inputs.device === undefined ? undefined : checkInterfaceName("device", inputs.device),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
            inputs.metric === undefined ? undefined : checkInteger("metric", inputs.metric, 0, 4294967295, "route metric"),
            inputs.table === undefined || inputs.table === "main" ? undefined : checkInteger("table", inputs.table, 1, 4294967295, "routing table id (or 'main')"),
        ];
        if (inputs.destination === undefined) failures.push({ property: "destination", reason: "destination is required: a network in CIDR form (10.1.0.0/24) or 'default'" });
        if (inputs.gateway === undefined && inputs.device === undefined) {
            failures.push({ property: "gateway", reason: "a route needs a gateway or a device (or both)" });
        }
        if (known(inputs.destination) && inputs.destination !== "default" && known(inputs.gateway)) {
            const [d, g] = [familyOf(inputs.destination), familyOf(inputs.gateway)];
            if (d && g && d !== g) {
                failures.push({ property: "gateway", reason: `gateway '${inputs.gateway}' is IPv${g} but destination '${inputs.destination}' is IPv${d}; use a gateway of the same family` });
            }
        }
        return checkResult(inputs, failures);
    },

    async diff(_id: string, olds: Props, news: Props) {
        return diffProperties(olds, news, rules);
    },

    /**
     * Equivalent to: `ip -n $netns -4|-6 route add $destination [via $gateway] [dev $device] [metric $m] [table $t]`,
     * then a read of the link it goes out of.
     */
    async create(props: Props) {
        const r = props as RouteInputs;
        const family = routeFamily(r);
        await runCommand({ ...ipCommand(r.netns, [family === 4 ? "-4" : "-6", "route", "add", ...selector(r)]), subject: subject(r) });
        const deviceIdentity = await deviceIdentityOf(r.netns, r.device !== undefined ? { dst: r.destination, dev: r.device } : await findRoute(r));
        const outs: RouteOutputs = { ...r, family, deviceIdentity };
        return { id: idOf(r), outs };
    },

    /** Equivalent to: `ip -n $netns -j route show table $t`, looking for exactly this route on the same link. */
    async read(id: string, props: Props) {
        const r = props as RouteOutputs;
        if ((await presence(r)).state !== "ours") return {};
        return { id: id || idOf(r), props: { ...props, family: routeFamily(r) }, inputs: pick(props, INPUT_KEYS) };
    },

    /** Equivalent to: `ip -n $netns route del $destination via ... dev ... metric ... table ...`, when it is there on its link. */
    async delete(_id: string, props: Props) {
        const r = props as RouteOutputs;
        const { state, found } = await presence(r);
        if (state === "otherLink") leftBehind(subject(r), `device "${found?.dev}" ${inNetns(r.netns)} is not the link it was made on (it was deleted and made again)`);
        if (state !== "ours" || !found) return;
        // Delete with every field the kernel reports, so no other route with the same prefix can match.
        const exact: RouteInputs = { ...r, gateway: r.gateway ?? found.gateway, device: r.device ?? found.dev, metric: found.metric ?? 0 };
        try {
            await runCommand({ ...ipCommand(r.netns, [routeFamily(r) === 4 ? "-4" : "-6", "route", "del", ...selector(exact)]), subject: subject(r) });
        } catch (err) {
            if (isHostError(err, "notFound", "noDevice", "noNamespace")) return;
            throw err;
        }
    },
});
