/**
 * The Bridge provider: a Linux bridge (`ip link add NAME type bridge`), marked with an alias.
 * @module
 */
import { randomBytes } from "node:crypto";
import { chooseName, inNetns, leftBehind, pick, type Props } from "./common";
import { linkBatchShow, linkDeleteIfMarked, linkFindMarked, linkGet, type LinkInfo, linkIsUp, untilLinksGone } from "./host";
import { type MarkedInputs, defineProvider, markOf, markOfResource } from "./provider";
import { checkBoolean, checkMac, checkMtu, checkNamespaceName, checkNewInterfaceName } from "./validate";

/** Inputs after `check`. */
export interface BridgeInputs extends MarkedInputs {
    logicalName: string;
    name: string;
    netns?: string;
    mtu?: number;
    up: boolean;
    stp: boolean;
    /** The MAC address asked for; omitted: a random locally administered one, fixed at create. */
    mac?: string;
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

const INPUT_KEYS = ["logicalName", "name", "netns", "mtu", "up", "stp", "mac", "mark"] as const;

/** The resource id: `netns/name`, or the name in the root namespace. */
function idOf(bridge: Pick<BridgeInputs, "netns" | "name">): string {
    return bridge.netns ? `${bridge.netns}/${bridge.name}` : bridge.name;
}

function subject(name: string): string {
    return `bridge "${name}"`;
}

/** The outputs from what the kernel reports. */
function outputsOf(inputs: BridgeInputs, mark: string, link: LinkInfo): BridgeOutputs {
    return {
        ...inputs,
        mtu: link.mtu,
        up: linkIsUp(link),
        stp: Number(link.linkinfo?.info_data?.stp_state ?? 0) !== 0,
        mac: link.address ?? "",
        ifindex: link.ifindex,
        alias: mark,
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
    return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join(":");
}

/** `link set` arguments for the properties that change in place. */
function setSteps(bridge: BridgeInputs): string[][] {
    const mtu = bridge.mtu !== undefined ? ["mtu", String(bridge.mtu)] : [];
    const mac = bridge.mac !== undefined ? ["address", bridge.mac] : [];
    return [["link", "set", "dev", bridge.name, ...mtu, ...mac, bridge.up ? "up" : "down", "type", "bridge", "stp_state", bridge.stp ? "1" : "0"]];
}

/** Runs steps in one `ip -batch` process that ends by showing the bridge, and returns it. */
async function applyAndShow(bridge: BridgeInputs, steps: string[][]): Promise<LinkInfo> {
    const [link] = await linkBatchShow(bridge.netns, steps, [bridge.name], subject(bridge.name));
    return link;
}

export const provider = defineProvider<BridgeInputs, BridgeOutputs>({
    rules: { replace: ["name", "netns"], update: ["mtu", "up", "stp", "mac"], optional: ["mtu", "mac"], deleteBeforeReplace: true },
    marked: true,

    async check(olds, news: Props) {
        const inputs = { ...pick(news, INPUT_KEYS), name: chooseName(olds, news), up: news.up ?? true, stp: news.stp ?? false } as BridgeInputs;
        return {
            inputs,
            failures: [
                checkNewInterfaceName("name", inputs.name),
                inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
                inputs.mtu === undefined ? undefined : checkMtu("mtu", inputs.mtu),
                checkBoolean("up", inputs.up),
                checkBoolean("stp", inputs.stp),
                inputs.mac === undefined ? undefined : checkMac("mac", inputs.mac),
            ],
        };
    },

    /**
     * Equivalent to: `ip -n $netns link add $name address $randomMac type bridge stp_state 0|1;
     * ip -n $netns link set $name alias $mark; ip -n $netns link set $name [mtu $mtu] up`, in one
     * `ip -batch` process. The explicit address keeps the bridge's MAC from following its ports
     * (see {@link randomMac}); the MTU is set after the add, as a change, since only an MTU set
     * that way is kept when a port with a larger one joins (given to `link add`, the kernel
     * raises it to the first port's).
     */
    async create(inputs) {
        const mark = markOf(inputs);
        // A bridge of this name carrying this resource's mark was made by a create of it that was
        // cut off (the CLI creates again after a crash): taken over, once it is what is declared.
        const made = await linkGet(inputs.netns, inputs.name);
        if (made?.ifalias === mark) {
            if (made.linkinfo?.info_kind !== "bridge")
                throw new Error(
                    `${subject(made.ifname)} ${inNetns(inputs.netns)} carries this resource's mark but is a ${made.linkinfo?.info_kind} link; remove it by hand`,
                );
            return { id: idOf(inputs), outs: outputsOf(inputs, mark, await applyAndShow(inputs, setSteps(inputs))) };
        }
        const add = ["link", "add", "name", inputs.name, "address", inputs.mac ?? randomMac(), "type", "bridge", "stp_state", inputs.stp ? "1" : "0"];
        const mtu = inputs.mtu !== undefined ? ["mtu", String(inputs.mtu)] : [];
        let link: LinkInfo;
        try {
            // The mark is its own step right after the add, so a failed create can tell what it made.
            link = await applyAndShow(inputs, [
                add,
                ["link", "set", "dev", inputs.name, "alias", mark],
                ["link", "set", "dev", inputs.name, ...mtu, inputs.up ? "up" : "down"],
            ]);
        } catch (err) {
            await linkDeleteIfMarked(inputs.netns, inputs.name, mark);
            throw err;
        }
        if (link.linkinfo?.info_kind !== "bridge") {
            throw new Error(`${subject(inputs.name)} ${inNetns(inputs.netns)} came out as a ${link.linkinfo?.info_kind} link`);
        }
        return { id: idOf(inputs), outs: outputsOf(inputs, mark, link) };
    },

    /**
     * Equivalent to: `ip -n $netns -j -d link show dev $name`. A bridge renamed by hand is still
     * found by its mark, and reported under its new name (the next up replaces it).
     */
    async read(id, props) {
        const mark = markOfResource(props);
        const link = mark === undefined ? undefined : await linkFindMarked(props.netns, props.name, mark);
        if (!link) return {};
        const outs = outputsOf({ ...props, name: link.ifname }, mark!, link);
        return { id: id || idOf(props), props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Equivalent to: `ip -n $netns link set dev $name [mtu $mtu] up|down type bridge stp_state 0|1`. */
    async update(_id, olds, news) {
        const link = await applyAndShow(news, setSteps(news));
        return { outs: outputsOf(news, olds.alias, link) };
    },

    /** Equivalent to: `ip -n $netns link delete dev $name`, only when its alias is our mark. */
    async delete(_id, props) {
        const mark = markOfResource(props);
        // Ports whose other ends' namespaces were just deleted (endpoints) are gone first: a destroy
        // leaves no veth behind.
        await untilLinksGone(props.netns);
        if (mark !== undefined && (await linkDeleteIfMarked(props.netns, props.name, mark)) === "notOurs") {
            leftBehind(subject(props.name), `it does not carry this resource's mark ${inNetns(props.netns)}`);
        }
    },
});
