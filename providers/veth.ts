/**
 * The VethPair provider: a veth pair (`ip link add NAME type veth peer name PEER`) whose two ends
 * may live in different namespaces; both ends carry the ownership mark as their alias.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { autoName, checkResult, chooseName, definedResults, diffProperties, inNetns, leftBehind, logicalNameOf, markOf, pick, type Props } from "./common";
import { HostCommandError, isHostError } from "./host/errors";
import { type LinkInfo, inOtherNetns, linkBatchShow, linkDeleteIfMarked, linkFindMarked, linkGet, linkIsUp } from "./host/ip";
import { type CheckFailure, checkBoolean, checkInterfaceName, checkMtu, checkNamespaceName, checkNewInterfaceName, isUnknown } from "./host/validate";

/** The far end of the pair. */
export interface VethPeer {
    name: string;
    netns?: string;
}

/** Inputs after `check`. */
export interface VethPairInputs {
    logicalName: string;
    /** The ownership mark, chosen by check (see common.ts: definedResults). */
    mark?: string;
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

const rules = { replace: ["name", "netns", "peer"], update: ["master", "mtu", "up"], optional: ["mtu"], deleteBeforeReplace: true } as const;
const INPUT_KEYS = ["logicalName", "name", "netns", "peer", "master", "mtu", "up", "mark"] as const;

function subject(v: VethPairInputs): string {
    return `veth "${v.name}"`;
}

function outputsOf(v: VethPairInputs, alias: string, end: LinkInfo, peer: LinkInfo): VethPairOutputs {
    return {
        ...v,
        peer: pick(v.peer, ["name", "netns"]) as VethPeer,
        peerName: v.peer.name,
        peerNetns: v.peer.netns,
        master: end.master ?? (v.master === undefined ? undefined : ""),
        mtu: end.mtu,
        up: linkIsUp(end) && linkIsUp(peer),
        mac: end.address ?? "",
        ifindex: end.ifindex,
        peerMac: peer.address ?? "",
        peerIfindex: peer.ifindex,
        alias,
        drift: [],
    };
}

/** The resource id: `netns/name` of the first end. */
function idOf(v: Pick<VethPairInputs, "netns" | "name">): string {
    return `${v.netns ?? ""}/${v.name}`;
}

function sameNetns(v: VethPairInputs): boolean {
    return v.netns === v.peer.netns;
}

/** A step that marks a link as ours; run right after the add, so a failed create can tell what it made. */
function markStep(name: string, alias: string | undefined): string[][] {
    return alias ? [["link", "set", "dev", name, "alias", alias]] : [];
}

/** `link set` steps for the first end and the peer: MTU, bridge, up or down. */
function setSteps(v: VethPairInputs): { end: string[]; peer: string[] } {
    const mtu = v.mtu !== undefined ? ["mtu", String(v.mtu)] : [];
    const master = v.master === undefined ? [] : v.master === "" ? ["nomaster"] : ["master", v.master];
    return {
        end: ["link", "set", "dev", v.name, ...mtu, ...master, v.up ? "up" : "down"],
        peer: ["link", "set", "dev", v.peer.name, ...mtu, v.up ? "up" : "down"],
    };
}

/**
 * Configures both ends and reads them back, in one `ip -batch` process. The batch runs in the
 * first end's namespace, or in the peer's when the first end is in a named namespace and the
 * peer in the root one (the root namespace has no name to point at); the other end's steps run
 * through `ip netns exec`. On create, `add` (the `link add` step) heads the batch, and `alias`
 * marks each end right after it.
 */
async function configure(v: VethPairInputs, alias?: string, add?: string[]): Promise<{ end: LinkInfo; peer: LinkInfo }> {
    const set = setSteps(v);
    const endSteps = [...markStep(v.name, alias), set.end];
    const peerSteps = [...markStep(v.peer.name, alias), set.peer];
    const head = add ? [add] : [];
    if (sameNetns(v)) {
        const [end, peer] = await linkBatchShow(v.netns, [...head, ...endSteps, ...peerSteps], [v.name, v.peer.name], subject(v));
        return { end, peer };
    }
    if (runsFromPeerSide(v)) {
        const other = v.netns!;
        const steps = [...head, ...peerSteps, ...endSteps.map((step) => inOtherNetns(other, step))];
        const [peer, end] = await linkBatchShow(v.peer.netns, steps, [v.peer.name, { netns: other, name: v.name }], subject(v));
        return { end, peer };
    }
    const other = v.peer.netns!;
    const steps = [...head, ...endSteps, ...peerSteps.map((step) => inOtherNetns(other, step))];
    const [end, peer] = await linkBatchShow(v.netns, steps, [v.name, { netns: other, name: v.peer.name }], subject(v));
    return { end, peer };
}

/** True when the pair is made and configured from the peer's side: first end named, peer in the root namespace. */
function runsFromPeerSide(v: VethPairInputs): boolean {
    return v.netns !== undefined && v.peer.netns === undefined;
}

/**
 * The kernel answers "File exists" for either end of a pair: the error is made to name the end
 * whose name is taken (the peer's, when only the peer's is), so the user fixes the right property.
 */
async function nameTheTakenEnd(v: VethPairInputs, err: unknown): Promise<unknown> {
    if (!isHostError(err, "exists")) return err;
    const quiet = () => undefined;
    const [end, peer] = await Promise.all([linkGet(v.netns, v.name).catch(quiet), linkGet(v.peer.netns, v.peer.name).catch(quiet)]);
    if (end || !peer) return err;
    return new HostCommandError({ command: err.command, netns: v.peer.netns, exitCode: err.exitCode, stderr: err.stderr, cause: err, subject: `interface "${v.peer.name}" (peer.name)` });
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(olds: Props, news: Props) {
        const name = chooseName(olds, news);
        const newPeer: Props = news.peer ?? {};
        const oldPeer: Props = olds.peer ?? {};
        const peerName = newPeer.name ?? oldPeer.name ?? autoName(`${logicalNameOf(news)}-p`);
        const inputs: Props = { ...pick(news, INPUT_KEYS), name, peer: pick({ ...newPeer, name: peerName }, ["name", "netns"]), up: news.up ?? true };
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
            failures.push({ property: "peer.name", reason: `peer.name '${peerName}' is the same as name in the same namespace; give the two ends different names or namespaces` });
        }
        return checkResult(inputs, failures);
    },

    async diff(_id: string, olds: Props, news: Props) {
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
    async create(props: Props) {
        const v = props as VethPairInputs;
        const alias = markOf(v);
        const mtu = v.mtu !== undefined ? ["mtu", String(v.mtu)] : [];
        const add = runsFromPeerSide(v)
            ? ["link", "add", "name", v.peer.name, ...mtu, "type", "veth", "peer", "name", v.name, "netns", v.netns!]
            : ["link", "add", "name", v.name, ...mtu, "type", "veth", "peer", "name", v.peer.name, ...(sameNetns(v) ? [] : ["netns", v.peer.netns!])];
        try {
            const { end, peer } = await configure(v, alias, add);
            return { id: idOf(v), outs: outputsOf(v, alias, end, peer) };
        } catch (err) {
            // Undo only what carries this create's mark: an end that was already there is not ours.
            // Deleting either end deletes the pair.
            if ((await linkDeleteIfMarked(v.netns, v.name, alias)) !== "deleted") {
                await linkDeleteIfMarked(v.peer.netns, v.peer.name, alias);
            }
            throw await nameTheTakenEnd(v, err);
        }
    },

    /**
     * Equivalent to: `ip -n $netns -j -d link show dev $name; ip -n $peerNetns -j -d link show dev $peer`.
     * The pair is there while its first end, marked, is (found by its mark if renamed); a peer
     * that is not where it was made (moved to another namespace, or renamed) is reported as drift.
     */
    async read(id: string, props: Props) {
        const old = props as VethPairOutputs;
        const quiet = (err: unknown) => {
            if (err instanceof HostCommandError && err.kind === "noNamespace") return undefined;
            throw err;
        };
        const alias = old.alias ?? old.mark;
        const end = await linkFindMarked(old.netns, old.name, alias).catch(quiet);
        if (!end) return {};
        const peer = await linkGet(old.peer.netns, old.peer.name).catch(quiet);
        const declared = { ...old, name: end.ifname, master: old.master === undefined && !end.master ? undefined : old.master };
        const peerHere = peer !== undefined && peer.ifalias === alias;
        const outs: VethPairOutputs = peerHere
            ? outputsOf(declared, alias, end, peer)
            : { ...outputsOf(declared, alias, end, { ...end, address: "", ifindex: 0, flags: [] }), drift: [`peer "${old.peer.name}" is no longer ${inNetns(old.peer.netns)}`] };
        return { id: id || idOf(old), props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Equivalent to: `ip -n $netns link set $name [mtu] [master $m|nomaster] up|down` and the same for the peer. */
    async update(_id: string, olds: Props, news: Props) {
        const v = { ...(news as VethPairInputs) };
        if (v.master === undefined && olds.master) v.master = ""; // master removed from the program: leave the bridge
        const { end, peer } = await configure(v);
        const outs = outputsOf(news as VethPairInputs, olds.alias, end, peer);
        return { outs };
    },

    /** Equivalent to: `ip -n $netns link delete dev $name` (both ends go), only when its alias is our mark. */
    async delete(_id: string, props: Props) {
        if ((await linkDeleteIfMarked(props.netns, props.name, props.alias ?? props.mark)) === "notOurs") {
            leftBehind(subject(props as VethPairInputs), `it does not carry this resource's mark ${inNetns(props.netns)}`);
        }
    },
}, { marked: true });
