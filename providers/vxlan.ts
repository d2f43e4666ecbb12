/**
 * The Vxlan provider: a VXLAN device (`ip link add NAME type vxlan id VNI`) with learning off and
 * one all-zero FDB entry per remote (head-end replication: broadcast, unknown unicast and
 * multicast frames go to every remote, as flannel's and containerlab's VXLAN links do), marked
 * with an alias. Remotes, MTU, master and up are changed in place.
 * @module
 */
import { chooseName, diffProperties, inNetns, leftBehind, pick, type Props } from "./common";
import { bridgeCommand, linkBatchShow, linkDeleteIfMarked, linkFindMarked, linkGet, type LinkInfo, linkIsUp, runCommand, runJson } from "./host";
import { type MarkedInputs, defineProvider, markOf, markOfResource } from "./provider";
import {
    type CheckFailure,
    checkInteger,
    checkInterfaceName,
    checkMtu,
    checkNamespaceName,
    checkNewInterfaceName,
    checkUnicastAddress,
    familyOf,
    isUnknown,
    sameAddress,
} from "./validate";

/** The all-zero MAC of a head-end replication entry. */
const ALL_ZERO = "00:00:00:00:00:00";

/** The largest VXLAN network identifier (24 bits). */
export const MAX_VNI = 16_777_215;

/** Inputs after `check`. */
export interface VxlanInputs extends MarkedInputs {
    logicalName: string;
    name: string;
    vni: number;
    /** The peers' underlay addresses. */
    remotes: string[];
    localAddress?: string;
    device?: string;
    dstPort: number;
    master?: string;
    mtu?: number;
    netns?: string;
}

/** Outputs. */
export interface VxlanOutputs extends VxlanInputs {
    mtu: number;
    mac: string;
    ifindex: number;
    up: boolean;
    /** The ownership mark, set as the link's alias. */
    alias: string;
    /** What a read found different from the declaration (`remotes`, `mtu`, `master`, `up`); the next up repairs it. */
    drift?: string[];
}

const INPUT_KEYS = ["logicalName", "name", "vni", "remotes", "localAddress", "device", "dstPort", "master", "mtu", "netns", "mark"] as const;

const subject = (name: string) => `vxlan "${name}"`;
const idOf = (v: Pick<VxlanInputs, "netns" | "name">) => (v.netns ? `${v.netns}/${v.name}` : v.name);

/** Checks the inputs. Pure. */
export function checkVxlan(inputs: Props): (CheckFailure | undefined)[] {
    const failures: (CheckFailure | undefined)[] = [
        checkNewInterfaceName("name", inputs.name),
        checkInteger("vni", inputs.vni, 1, MAX_VNI, "VXLAN network identifier"),
        checkInteger("dstPort", inputs.dstPort, 1, 65535, "port"),
        inputs.localAddress === undefined ? undefined : checkUnicastAddress("localAddress", inputs.localAddress),
        inputs.device === undefined ? undefined : checkInterfaceName("device", inputs.device),
        inputs.master === undefined ? undefined : checkInterfaceName("master", inputs.master),
        inputs.mtu === undefined ? undefined : checkMtu("mtu", inputs.mtu),
        inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
    ];
    if (isUnknown(inputs.remotes)) return failures;
    if (!Array.isArray(inputs.remotes)) return [...failures, { property: "remotes", reason: "remotes must be a list of the peers' underlay addresses" }];
    const family = typeof inputs.localAddress === "string" && !isUnknown(inputs.localAddress) ? familyOf(inputs.localAddress) : undefined;
    inputs.remotes.forEach((remote: unknown, i: number) => {
        if (isUnknown(remote)) return;
        const problem = checkUnicastAddress(`remotes[${i}]`, remote);
        failures.push(problem);
        if (problem) return;
        if (family && familyOf(remote as string) !== family)
            failures.push({ property: `remotes[${i}]`, reason: `remotes[${i}] is IPv${familyOf(remote as string)} but localAddress is IPv${family}` });
        const first = (inputs.remotes as unknown[]).findIndex((r) => typeof r === "string" && sameAddress(r, remote as string));
        if (first !== i) failures.push({ property: `remotes[${i}]`, reason: `remotes[${i}] ${remote} is given twice (also remotes[${first}])` });
    });
    return failures;
}

/** The remotes the device's FDB sends to (its all-zero entries). Equivalent to: `bridge -j fdb show dev NAME`. */
async function fdbRemotes(v: Pick<VxlanInputs, "netns" | "name">): Promise<string[]> {
    const entries = await runJson<{ mac: string; dst?: string }[]>(bridgeCommand(v.netns, ["-j", "fdb", "show", "dev", v.name], subject(v.name)));
    return entries.filter((e) => e.mac === ALL_ZERO && e.dst !== undefined).map((e) => e.dst!);
}

/** FDB changes that turn `now` into `wanted`, as `bridge -batch` steps. Pure. */
export function fdbSteps(name: string, now: readonly string[], wanted: readonly string[]): string[][] {
    const has = (list: readonly string[], address: string) => list.some((a) => sameAddress(a, address));
    return [
        ...now.filter((a) => !has(wanted, a)).map((dst) => ["fdb", "del", ALL_ZERO, "dev", name, "dst", dst]),
        ...wanted.filter((a) => !has(now, a)).map((dst) => ["fdb", "append", ALL_ZERO, "dev", name, "dst", dst]),
    ];
}

/** Runs FDB steps in one `bridge -batch -`. */
async function applyFdb(v: Pick<VxlanInputs, "netns" | "name">, steps: string[][]): Promise<void> {
    if (steps.length === 0) return;
    await runCommand({ ...bridgeCommand(v.netns, ["-batch", "-"], subject(v.name)), input: `${steps.map((s) => s.join(" ")).join("\n")}\n` });
}

/** `link set` of what changes in place. */
function setStep(v: VxlanInputs): string[] {
    return [
        "link",
        "set",
        "dev",
        v.name,
        ...(v.mtu !== undefined ? ["mtu", String(v.mtu)] : []),
        ...(v.master !== undefined ? ["master", v.master] : ["nomaster"]),
        "up",
    ];
}

function outputsOf(v: VxlanInputs, mark: string, link: LinkInfo, remotes: string[], drift?: string[]): VxlanOutputs {
    return {
        ...v,
        remotes,
        mtu: link.mtu,
        mac: link.address ?? "",
        ifindex: link.ifindex,
        up: linkIsUp(link),
        alias: mark,
        ...(drift?.length ? { drift } : {}),
    };
}

const RULES = {
    replace: ["name", "vni", "localAddress", "device", "dstPort", "netns"],
    update: ["remotes", "master", "mtu"],
    optional: ["mtu"],
    deleteBeforeReplace: true,
};

export const provider = defineProvider<VxlanInputs, VxlanOutputs>({
    rules: RULES,
    marked: true,

    async check(olds, news: Props) {
        const inputs = { ...pick(news, INPUT_KEYS), name: chooseName(olds, news), dstPort: news.dstPort ?? 4789 } as VxlanInputs;
        return { inputs, failures: checkVxlan(inputs) };
    },

    /** The remotes compare as addresses (`fd00::1` is `fd00:0::1`); a drift a read found is a change. */
    async diff(_id, olds, news) {
        const sameRemotes =
            Array.isArray(news.remotes) &&
            news.remotes.length === olds.remotes.length &&
            news.remotes.every((a, i) => !isUnknown(a) && sameAddress(a, olds.remotes[i]));
        const result = diffProperties(olds, sameRemotes ? { ...news, remotes: olds.remotes } : news, RULES);
        if ((olds.drift ?? []).length > 0 && !result.changes) return { ...result, changes: true };
        return result;
    },

    /**
     * Equivalent to: `ip link add NAME type vxlan id VNI dstport PORT [local ADDR] [dev DEVICE] nolearning;
     * ip link set NAME alias MARK; ip link set NAME [mtu M] [master BR] up` in one `ip -batch`, then
     * `bridge fdb append 00:00:00:00:00:00 dev NAME dst REMOTE` for each remote in one `bridge -batch`.
     */
    async create(v) {
        const mark = markOf(v);
        const made = await linkGet(v.netns, v.name);
        if (made && made.ifalias !== mark) {
            throw new Error(`${subject(v.name)}: a link of that name already exists ${inNetns(v.netns)} and is not this resource's; choose another name`);
        }
        const add = [
            "link",
            "add",
            "name",
            v.name,
            "type",
            "vxlan",
            "id",
            String(v.vni),
            "dstport",
            String(v.dstPort),
            ...(v.localAddress ? ["local", v.localAddress] : []),
            ...(v.device ? ["dev", v.device] : []),
            "nolearning",
        ];
        try {
            // A link with our mark was made by a create of this resource that was cut off: taken over.
            const steps = made ? [setStep(v)] : [add, ["link", "set", "dev", v.name, "alias", mark], setStep(v)];
            const [link] = await linkBatchShow(v.netns, steps, [v.name], subject(v.name));
            if (link.linkinfo?.info_kind !== "vxlan")
                throw new Error(`${subject(v.name)} ${inNetns(v.netns)} is a ${link.linkinfo?.info_kind} link, not vxlan`);
            await applyFdb(v, fdbSteps(v.name, await fdbRemotes(v), v.remotes));
            return { id: idOf(v), outs: outputsOf(v, mark, link, [...v.remotes]) };
        } catch (err) {
            await linkDeleteIfMarked(v.netns, v.name, mark);
            throw err;
        }
    },

    /** Equivalent to: `ip -j -d link show NAME; bridge -j fdb show dev NAME`: remotes, MTU, master or state changed by hand are reported as drift. */
    async read(id, props) {
        const mark = markOfResource(props);
        const link = mark === undefined ? undefined : await linkFindMarked(props.netns, props.name, mark);
        if (!link) return {};
        const now = await fdbRemotes({ netns: props.netns, name: link.ifname });
        const drift: string[] = [];
        if (fdbSteps(link.ifname, now, props.remotes).length > 0) drift.push("remotes");
        if (props.mtu !== undefined && link.mtu !== props.mtu) drift.push("mtu");
        if ((link.master ?? undefined) !== props.master) drift.push("master");
        if (!linkIsUp(link)) drift.push("up");
        const outs = outputsOf({ ...props, name: link.ifname }, mark!, link, drift.includes("remotes") ? now : props.remotes, drift);
        return { id: id || idOf(props), props: outs, inputs: pick(props, INPUT_KEYS) };
    },

    /** Equivalent to: `ip link set NAME [mtu M] master BR up`, then `bridge fdb append|del 00:00:00:00:00:00 dev NAME dst R` for the remotes that changed. */
    async update(_id, olds, news) {
        const [link] = await linkBatchShow(news.netns, [setStep(news)], [news.name], subject(news.name));
        await applyFdb(news, fdbSteps(news.name, await fdbRemotes(news), news.remotes));
        return { outs: outputsOf(news, olds.alias, link, [...news.remotes]) };
    },

    /** Equivalent to: `ip link delete NAME`, only when its alias is our mark (its FDB goes with it). */
    async delete(_id, props) {
        const mark = markOfResource(props);
        if (mark !== undefined && (await linkDeleteIfMarked(props.netns, props.name, mark)) === "notOurs") {
            leftBehind(subject(props.name), `it does not carry this resource's mark ${inNetns(props.netns)}`);
        }
    },
});
