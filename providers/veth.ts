/**
 * The VethPair provider: a veth pair (`ip link add NAME type veth peer name PEER`) whose two ends
 * may live in different namespaces; both ends carry the ownership mark as their alias.
 * @module
 */
import { autoName, chooseName, diffProperties, inNetns, leftBehind, logicalNameOf, pick, type Props } from "./common";
import { HostCommandError, inOtherNetns, isHostError, linkBatchShow, linkDeleteIfMarked, linkFindMarked, linkGet, type LinkInfo, linkIsUp } from "./host";
import { type MarkedInputs, defineProvider, markOf, markOfResource } from "./provider";
import { type CheckFailure, checkBoolean, checkInterfaceName, checkMtu, checkNamespaceName, checkNewInterfaceName, isUnknown } from "./validate";

/** The far end of the pair. */
export interface VethPeer {
    name: string;
    netns?: string;
}

/** Inputs after `check`. */
export interface VethPairInputs extends MarkedInputs {
    /** The peer's name, as `peer.name` (an output known from the inputs). */
    peerName?: string;
    /** The peer's namespace, as `peer.netns`. */
    peerNetns?: string;
    logicalName: string;
    name: string;
    netns?: string;
    peer: VethPeer;
    /** A bridge in the first end's namespace that the first end joins. */
    master?: string;
    mtu?: number;
    up: boolean;
}

/** Outputs: the inputs with their final values plus what the kernel reports. */
export interface VethPairOutputs extends VethPairInputs {
    peerName: string;
    peerNetns?: string;
    mtu: number;
    mac: string;
    ifindex: number;
    peerMac: string;
    peerIfindex: number;
    alias: string;
    /** What refresh found changed out of band, in words (the peer moved away); the next up replaces the pair. */
    drift?: string[];
}

const rules = { replace: ["name", "netns", "peer"], update: ["master", "mtu", "up"], optional: ["mtu"], deleteBeforeReplace: true };
const INPUT_KEYS = ["logicalName", "name", "netns", "peer", "master", "mtu", "up", "mark"] as const;

function subject(pair: VethPairInputs): string {
    return `veth "${pair.name}"`;
}

function outputsOf(pair: VethPairInputs, mark: string, end: LinkInfo, peer: LinkInfo): VethPairOutputs {
    return {
        ...pair,
        peer: pick(pair.peer, ["name", "netns"]) as VethPeer,
        peerName: pair.peer.name,
        peerNetns: pair.peer.netns,
        master: end.master ?? (pair.master === undefined ? undefined : ""),
        mtu: end.mtu,
        up: linkIsUp(end) && linkIsUp(peer),
        mac: end.address ?? "",
        ifindex: end.ifindex,
        peerMac: peer.address ?? "",
        peerIfindex: peer.ifindex,
        alias: mark,
        drift: [],
    };
}

/** The resource id: `netns/name` of the first end. */
function idOf(pair: Pick<VethPairInputs, "netns" | "name">): string {
    return `${pair.netns ?? ""}/${pair.name}`;
}

function sameNetns(pair: VethPairInputs): boolean {
    return pair.netns === pair.peer.netns;
}

/** A step that marks a link as ours; run right after the add, so a failed create can tell what it made. */
function markStep(name: string, alias: string | undefined): string[][] {
    return alias ? [["link", "set", "dev", name, "alias", alias]] : [];
}

/** `link set` steps for the first end and the peer: MTU, bridge, up or down. */
function setSteps(pair: VethPairInputs): { end: string[]; peer: string[] } {
    const mtu = pair.mtu !== undefined ? ["mtu", String(pair.mtu)] : [];
    const master = pair.master === undefined ? [] : pair.master === "" ? ["nomaster"] : ["master", pair.master];
    return {
        end: ["link", "set", "dev", pair.name, ...mtu, ...master, pair.up ? "up" : "down"],
        peer: ["link", "set", "dev", pair.peer.name, ...mtu, pair.up ? "up" : "down"],
    };
}

/**
 * Configures both ends and reads them back, in one `ip -batch` process. The batch runs in the
 * first end's namespace, or in the peer's when the first end is in a named namespace and the
 * peer in the root one (the root namespace has no name to point at); the other end's steps run
 * through `ip netns exec`. On create, `add` (the `link add` step) heads the batch, and `alias`
 * marks each end right after it.
 */
async function configure(pair: VethPairInputs, alias?: string, add?: string[]): Promise<{ end: LinkInfo; peer: LinkInfo }> {
    const set = setSteps(pair);
    const endSteps = [...markStep(pair.name, alias), set.end];
    const peerSteps = [...markStep(pair.peer.name, alias), set.peer];
    const head = add ? [add] : [];
    if (sameNetns(pair)) {
        const [end, peer] = await linkBatchShow(pair.netns, [...head, ...endSteps, ...peerSteps], [pair.name, pair.peer.name], subject(pair));
        return { end, peer };
    }
    if (runsFromPeerSide(pair)) {
        const other = pair.netns!;
        const steps = [...head, ...peerSteps, ...endSteps.map((step) => inOtherNetns(other, step))];
        const [peer, end] = await linkBatchShow(pair.peer.netns, steps, [pair.peer.name, { netns: other, name: pair.name }], subject(pair));
        return { end, peer };
    }
    const other = pair.peer.netns!;
    const steps = [...head, ...endSteps, ...peerSteps.map((step) => inOtherNetns(other, step))];
    const [end, peer] = await linkBatchShow(pair.netns, steps, [pair.name, { netns: other, name: pair.peer.name }], subject(pair));
    return { end, peer };
}

/** True when the pair is made and configured from the peer's side: first end named, peer in the root namespace. */
function runsFromPeerSide(pair: VethPairInputs): boolean {
    return pair.netns !== undefined && pair.peer.netns === undefined;
}

/**
 * The kernel answers "File exists" for either end of a pair: the error is made to name the end
 * whose name is taken (the peer's, when only the peer's is), so the user fixes the right property.
 */
async function nameTheTakenEnd(pair: VethPairInputs, err: unknown): Promise<unknown> {
    if (!isHostError(err, "exists")) return err;
    const quiet = () => undefined;
    const [end, peer] = await Promise.all([linkGet(pair.netns, pair.name).catch(quiet), linkGet(pair.peer.netns, pair.peer.name).catch(quiet)]);
    if (end || !peer) return err;
    return new HostCommandError({
        command: err.command,
        netns: pair.peer.netns,
        exitCode: err.exitCode,
        stderr: err.stderr,
        cause: err,
        subject: `interface "${pair.peer.name}" (peer.name)`,
    });
}

export const provider = defineProvider<VethPairInputs, VethPairOutputs>({
    rules,
    marked: true,

    async check(olds, news: Props) {
        const name = chooseName(olds, news);
        const newPeer: Props = news.peer ?? {};
        const oldPeer: Partial<VethPeer> = olds.peer ?? {};
        const peerName = newPeer.name ?? oldPeer.name ?? autoName(`${logicalNameOf(news)}-p`, 15, news.identity, "peer.name");
        const inputs = {
            ...pick(news, INPUT_KEYS),
            name,
            peer: pick({ ...newPeer, name: peerName }, ["name", "netns"]),
            up: news.up ?? true,
            // Outputs the inputs decide, given as inputs too: known to consumers (an Address on
            // the peer) even in a preview of an update, where Pulumi shows a dynamic resource's
            // inputs only.
            peerName,
            peerNetns: newPeer.netns,
        } as VethPairInputs;
        const failures: (CheckFailure | undefined)[] = [
            checkNewInterfaceName("name", name),
            checkNewInterfaceName("peer.name", peerName),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
            newPeer.netns === undefined ? undefined : checkNamespaceName("peer.netns", newPeer.netns),
            inputs.master === undefined ? undefined : checkInterfaceName("master", inputs.master),
            inputs.mtu === undefined ? undefined : checkMtu("mtu", inputs.mtu),
            checkBoolean("up", inputs.up),
        ];
        if (name === peerName && inputs.netns === newPeer.netns && !isUnknown(name)) {
            failures.push({
                property: "peer.name",
                reason: `peer.name '${peerName}' is the same as name in the same namespace; give the two ends different names or namespaces`,
            });
        }
        return { inputs, failures };
    },

    async diff(_id, olds, news) {
        const result = diffProperties(olds, news, rules);
        // A peer that refresh found moved away cannot be brought back from where it went: a new pair replaces it.
        if (Array.isArray(olds.drift) && olds.drift.length > 0 && !result.replaces?.length) {
            return { changes: true, replaces: ["peer"], deleteBeforeReplace: true };
        }
        return result;
    },

    /**
     * Equivalent to: `ip -n $netns link add $name [mtu $mtu] type veth peer name $peer netns $peerNetns;
     * ip -n $netns link set $name alias $mark; ip -n $netns link set $name [master $master] up;
     * ip -n $peerNetns link set $peer alias $mark up`, all in one `ip -batch` process (the peer's
     * steps through `ip netns exec` inside it).
     */
    async create(pair) {
        const mark = markOf(pair);
        // Both ends carrying this resource's mark: a create of it that was cut off made them. Taken over.
        const [end, peer] = [await linkFindMarked(pair.netns, pair.name, mark), await linkGet(pair.peer.netns, pair.peer.name)];
        if (end && end.ifname === pair.name && peer?.ifalias === mark) {
            const configured = await configure(pair);
            return { id: idOf(pair), outs: outputsOf(pair, mark, configured.end, configured.peer) };
        }
        const mtu = pair.mtu !== undefined ? ["mtu", String(pair.mtu)] : [];
        const add = runsFromPeerSide(pair)
            ? ["link", "add", "name", pair.peer.name, ...mtu, "type", "veth", "peer", "name", pair.name, "netns", pair.netns!]
            : [
                  "link",
                  "add",
                  "name",
                  pair.name,
                  ...mtu,
                  "type",
                  "veth",
                  "peer",
                  "name",
                  pair.peer.name,
                  ...(sameNetns(pair) ? [] : ["netns", pair.peer.netns!]),
              ];
        try {
            const { end, peer } = await configure(pair, mark, add);
            return { id: idOf(pair), outs: outputsOf(pair, mark, end, peer) };
        } catch (err) {
            // Undo only what carries this create's mark: an end that was already there is not ours.
            // Deleting either end deletes the pair.
            if ((await linkDeleteIfMarked(pair.netns, pair.name, mark)) !== "deleted") {
                await linkDeleteIfMarked(pair.peer.netns, pair.peer.name, mark);
            }
            throw await nameTheTakenEnd(pair, err);
        }
    },

    /**
     * Equivalent to: `ip -n $netns -j -d link show dev $name; ip -n $peerNetns -j -d link show dev $peer`.
     * The pair is there while its first end, marked, is (found by its mark if renamed); a peer
     * that is not where it was made (moved to another namespace, or renamed) is reported as drift.
     */
    async read(id, props) {
        const mark = markOfResource(props);
        const end = mark === undefined ? undefined : await linkFindMarked(props.netns, props.name, mark);
        if (!end) return {};
        const peer = await linkGet(props.peer.netns, props.peer.name);
        const declared = { ...props, name: end.ifname, master: props.master === undefined && !end.master ? undefined : props.master };
        const outs: VethPairOutputs =
            peer !== undefined && peer.ifalias === mark
                ? outputsOf(declared, mark!, end, peer)
                : {
                      ...outputsOf(declared, mark!, end, { ...end, address: "", ifindex: 0, flags: [] }),
                      drift: [`peer "${props.peer.name}" is no longer ${inNetns(props.peer.netns)}`],
                  };
        return { id: id || idOf(props), props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Equivalent to: `ip -n $netns link set $name [mtu] [master $m|nomaster] up|down` and the same for the peer. */
    async update(_id, olds, news) {
        const pair = { ...news };
        if (pair.master === undefined && olds.master) pair.master = ""; // master removed from the program: leave the bridge
        const { end, peer } = await configure(pair);
        return { outs: outputsOf(news, olds.alias, end, peer) };
    },

    /** Equivalent to: `ip -n $netns link delete dev $name` (both ends go), only when its alias is our mark. */
    async delete(_id, props) {
        const mark = markOfResource(props);
        if (mark !== undefined && (await linkDeleteIfMarked(props.netns, props.name, mark)) === "notOurs") {
            leftBehind(subject(props), `it does not carry this resource's mark ${inNetns(props.netns)}`);
        }
    },
});
