/**
 * The Bridge provider: a Linux bridge (`ip link add NAME type bridge`), marked with an alias.
 * @module
 */
import { randomBytes } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, chooseName, definedResults, diffProperties, inNetns, leftBehind, markOf, pick, type Props } from "./common";
import { HostCommandError } from "./host/errors";
import { type LinkInfo, linkBatchShow, linkDeleteIfMarked, linkFindMarked, linkIsUp } from "./host/ip";
import { checkBoolean, checkMtu, checkNamespaceName, checkNewInterfaceName } from "./host/validate";

/** Inputs after `check`. */
export interface BridgeInputs {
    logicalName: string;
    /** The ownership mark, chosen by check (see common.ts: definedResults). */
    mark?: string;
    name: string;
    netns?: string;
    mtu?: number;
    up: boolean;
    stp: boolean;
}

/** Outputs: the inputs with their final values plus what the kernel reports. */
export interface BridgeOutputs extends BridgeInputs {
    /** The MTU the kernel reports. */
    mtu: number;
    mac: string;
    ifindex: number;
    /** The ownership mark, set as the link's alias. */
    alias: string;
}

const rules = { replace: ["name", "netns"], update: ["mtu", "up", "stp"], optional: ["mtu"], deleteBeforeReplace: true } as const;
const INPUT_KEYS = ["logicalName", "name", "netns", "mtu", "up", "stp", "mark"] as const;

/** The resource id: `netns/name`, or the name in the root namespace. */
function idOf(b: Pick<BridgeInputs, "netns" | "name">): string {
    return b.netns ? `${b.netns}/${b.name}` : b.name;
}

function subject(name: string): string {
    return `bridge "${name}"`;
}

/** The outputs from what the kernel reports. */
function outputsOf(inputs: BridgeInputs, alias: string, link: LinkInfo): BridgeOutputs {
    return {
        ...inputs,
        mtu: link.mtu,
        up: linkIsUp(link),
        stp: Number(link.linkinfo?.info_data?.stp_state ?? 0) !== 0,
        mac: link.address ?? "",
        ifindex: link.ifindex,
        alias,
    };
}

/**
 * A random locally administered unicast MAC address. A bridge whose address is set explicitly
 * keeps it; otherwise Linux gives it the lowest address among its ports, so the gateway's MAC
 * would change each time a container comes or goes (stale ARP caches in the containers, and a
 * refresh reporting a change nobody made). Docker pins its bridges the same way.
 */
export function randomMac(): string {
    const bytes = randomBytes(6);
    bytes[0] = (bytes[0] & 0xfe) | 0x02;
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** `link set` arguments for the properties that change in place. */
function setSteps(b: BridgeInputs): string[][] {
    return [["link", "set", "dev", b.name, ...(b.mtu !== undefined ? ["mtu", String(b.mtu)] : []), b.up ? "up" : "down", "type", "bridge", "stp_state", b.stp ? "1" : "0"]];
}

/** Runs steps in one `ip -batch` process that ends by showing the bridge, and returns it. */
async function applyAndShow(b: BridgeInputs, steps: string[][]): Promise<LinkInfo> {
    const [link] = await linkBatchShow(b.netns, steps, [b.name], subject(b.name));
    return link;
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(olds: Props, news: Props) {
        const inputs: Props = { ...pick(news, INPUT_KEYS), name: chooseName(olds, news), up: news.up ?? true, stp: news.stp ?? false };
        return checkResult(inputs, [
            checkNewInterfaceName("name", inputs.name),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
            inputs.mtu === undefined ? undefined : checkMtu("mtu", inputs.mtu),
            checkBoolean("up", inputs.up),
            checkBoolean("stp", inputs.stp),
        ]);
    },

    async diff(_id: string, olds: Props, news: Props) {
        return diffProperties(olds, news, rules);
    },

    /**
     * Equivalent to: `ip -n $netns link add $name address $randomMac type bridge stp_state 0|1;
     * ip -n $netns link set $name alias $mark; ip -n $netns link set $name [mtu $mtu] up`, in one
     * `ip -batch` process. The explicit address keeps the bridge's MAC from following its ports
     * (see {@link randomMac}); the MTU is set after the add, as a change, since only an MTU set
     * that way is kept when a port with a larger one joins (given to `link add`, the kernel
     * raises it to the first port's).
     */
    async create(props: Props) {
        const b = props as BridgeInputs;
        const alias = markOf(b);
        const add = ["link", "add", "name", b.name, "address", randomMac(), "type", "bridge", "stp_state", b.stp ? "1" : "0"];
        const mtu = b.mtu !== undefined ? ["mtu", String(b.mtu)] : [];
        let link: LinkInfo;
        try {
            // The mark is its own step right after the add, so a failed create can tell what it made.
            link = await applyAndShow(b, [add, ["link", "set", "dev", b.name, "alias", alias], ["link", "set", "dev", b.name, ...mtu, b.up ? "up" : "down"]]);
        } catch (err) {
            await linkDeleteIfMarked(b.netns, b.name, alias);
            throw err;
        }
        if (link.linkinfo?.info_kind !== "bridge") {
            throw new Error(`${subject(b.name)} ${inNetns(b.netns)} came out as a ${link.linkinfo?.info_kind} link`);
        }
        return { id: idOf(b), outs: outputsOf(b, alias, link) };
    },

    /**
     * Equivalent to: `ip -n $netns -j -d link show dev $name`. A bridge renamed by hand is still
     * found by its mark, and reported under its new name (the next up replaces it).
     */
    async read(id: string, props: Props) {
        const old = props as BridgeOutputs;
        const alias = old.alias ?? old.mark;
        const link = await linkFindMarked(old.netns, old.name, alias).catch((err) => {
            if (err instanceof HostCommandError && err.kind === "noNamespace") return undefined;
            throw err;
        });
        if (!link) return {};
        const outs = outputsOf({ ...old, name: link.ifname }, alias, link);
        return { id: id || idOf(old), props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Equivalent to: `ip -n $netns link set dev $name [mtu $mtu] up|down type bridge stp_state 0|1`. */
    async update(_id: string, olds: Props, news: Props) {
        const b = { ...(news as BridgeInputs) };
        const link = await applyAndShow(b, setSteps(b));
        return { outs: outputsOf(b, olds.alias, link) };
    },

    /** Equivalent to: `ip -n $netns link delete dev $name`, only when its alias is our mark. */
    async delete(_id: string, props: Props) {
        if ((await linkDeleteIfMarked(props.netns, props.name, props.alias ?? props.mark)) === "notOurs") {
            leftBehind(subject(props.name), `it does not carry this resource's mark ${inNetns(props.netns)}`);
        }
    },
}, { marked: true });
