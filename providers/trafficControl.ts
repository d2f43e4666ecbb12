/**
 * The TrafficControl provider: a link's shaping and impairment (`tc qdisc`): a token bucket
 * (`rate`, `burst`, `latency`) and netem (`delay`, `jitter`, `loss`, `duplicate`, `corrupt`,
 * `reorder`). A qdisc carries no alias: ours is the root qdisc with this project's handle (5afe:)
 * on the link a record of ours names (the record holds the mark and the link's identity).
 * Updated in place (`tc qdisc replace`), drift reported and repaired, removed on delete
 * (the kernel's default qdisc comes back).
 * @module
 */
import { inNetns, leftBehind, pick, type Props } from "./common";
import { isHostError, linkGet, linkIdentity, netnsIdentity, parseIpJson, RecordDir, runCommand, runDelete, runRead, tcCommand } from "./host";
import { type MarkedInputs, defineProvider, markOf } from "./provider";
import { type LinkShape, type QdiscInfo, ROOT_HANDLE, SHAPE_KEYS, checkShape, netemProperty, shapeDrift, shapeSteps } from "./trafficPlan";
import { checkInterfaceName, checkNamespaceName } from "./validate";

/** Inputs after `check`. */
export interface TrafficControlInputs extends LinkShape, MarkedInputs {
    logicalName: string;
    /** The link whose outgoing traffic is shaped. */
    device: string;
    netns?: string;
}

/** Outputs. */
export interface TrafficControlOutputs extends TrafficControlInputs {
    /** What refresh found changed out of band, in words; the next up puts the qdiscs back. */
    drift: string[];
}

const INPUT_KEYS = ["logicalName", "mark", "device", "netns", ...SHAPE_KEYS] as const;

function records(netns: string | undefined): RecordDir {
    return new RecordDir("qdiscs", netnsIdentity(netns));
}

/** Our record of a device: the mark of the TrafficControl that shapes it and the link's identity. */
function heldBy(netns: string | undefined, device: string): { mark: string; link: string } | undefined {
    const record = records(netns).read(device);
    return record === undefined ? undefined : JSON.parse(record);
}

/** The qdiscs of a device; undefined when the device or its namespace is gone. Equivalent to: `tc -n $netns -j qdisc show dev $device`. */
export async function qdiscsOf(netns: string | undefined, device: string): Promise<QdiscInfo[] | undefined> {
    try {
        const output = await runRead(tcCommand(netns, ["-j", "qdisc", "show", "dev", device]));
        return output ? parseIpJson<QdiscInfo[]>(output.stdout || "[]") : undefined;
    } catch (err) {
        if (isHostError(err, "noDevice")) return undefined;
        throw err;
    }
}

/**
 * Puts the shape on a device: its steps in one `tc -batch` process. A kernel without sch_netem
 * answers "Specified qdisc kind is unknown": the error then names the netem property and the module.
 */
export async function applyShape(netns: string | undefined, device: string, shape: LinkShape, subject: string): Promise<void> {
    try {
        await runCommand({
            ...tcCommand(netns, ["-batch", "-"]),
            input: `${shapeSteps(device, shape)
                .map((step) => step.join(" "))
                .join("\n")}\n`,
            subject,
        });
    } catch (err) {
        const netem = netemProperty(shape);
        if (netem && isHostError(err) && /qdisc kind is unknown/.test(err.stderr)) {
            throw new Error(`${netem}: the kernel has no sch_netem (modprobe sch_netem): ${subject} ${inNetns(netns)} cannot be impaired here`);
        }
        throw err;
    }
}

/**
 * Removes a shape of ours from a device: its root qdisc when that carries our handle (the kernel's
 * default comes back); nothing when the device, or our qdisc, is already gone.
 * Equivalent to: `tc -n $netns qdisc del dev $device root`.
 */
export async function removeShape(netns: string | undefined, device: string, subject: string): Promise<void> {
    const root = (await qdiscsOf(netns, device))?.find((q) => q.root);
    if (root?.handle === ROOT_HANDLE) await runDelete({ ...tcCommand(netns, ["qdisc", "del", "dev", device, "root"]), subject });
}

/**
 * Changes a device's shape from `old` to `next` (either may be absent). The kernel changes a qdisc
 * in place only when its kind stays: going between "token bucket" and "netem", or dropping the
 * rate under netem, removes our root first, and puts the old shape back if the new one fails.
 */
export async function reshape(
    netns: string | undefined,
    device: string,
    old: LinkShape | undefined,
    next: LinkShape | undefined,
    subject: string,
): Promise<void> {
    if (!next) {
        if (old) await removeShape(netns, device, subject);
        return;
    }
    const netem = (shape: LinkShape) => netemProperty(shape) !== undefined;
    const restructure = old !== undefined && (netem(old) !== netem(next) || (netem(next) && old.rate !== undefined && next.rate === undefined));
    if (restructure) await removeShape(netns, device, subject);
    try {
        await applyShape(netns, device, next, subject);
    } catch (err) {
        if (restructure) await applyShape(netns, device, old, subject).catch(() => undefined);
        throw err;
    }
}

/** Whose the device's root qdisc is: ours when it has our handle and our record names this link. */
async function ownership(tc: TrafficControlInputs, mark: string): Promise<{ state: "ours" | "gone" | "notOurs"; qdiscs?: QdiscInfo[] }> {
    const qdiscs = await qdiscsOf(tc.netns, tc.device);
    const link = qdiscs && (await linkGet(tc.netns, tc.device)); // no second process for a device that is gone
    if (!qdiscs || !link) return { state: "gone" };
    const record = heldBy(tc.netns, tc.device);
    const ours = record?.mark === mark && record.link === linkIdentity(tc.netns, link);
    if (!ours) return { state: "notOurs", qdiscs };
    return { state: qdiscs.some((q) => q.root && q.handle === ROOT_HANDLE) ? "ours" : "gone", qdiscs };
}

function subject(tc: TrafficControlInputs): string {
    return `traffic control of "${tc.device}"`;
}

/** The kernel's own root qdiscs, which a shape replaces (and which come back when it goes). */
const DEFAULT_QDISCS = ["noqueue", "pfifo_fast", "fq_codel", "mq", "noop", "pfifo", "fq"];

export const provider = defineProvider<TrafficControlInputs, TrafficControlOutputs>({
    rules: { replace: ["device", "netns"], update: [...SHAPE_KEYS], deleteBeforeReplace: true },
    marked: true,

    async check(_olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS) as TrafficControlInputs;
        return {
            inputs,
            failures: [
                checkInterfaceName("device", inputs.device),
                inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
                ...checkShape(inputs as unknown as Record<string, unknown>),
            ],
        };
    },

    async diff(_id, olds, news) {
        const changed = SHAPE_KEYS.filter((key) => olds[key] !== news[key]);
        const replaces = (["device", "netns"] as const).filter((key) => olds[key] !== news[key]);
        const drifted = Array.isArray(olds.drift) && olds.drift.length > 0;
        return { changes: changed.length + replaces.length > 0 || drifted, replaces, deleteBeforeReplace: replaces.length > 0 };
    },

    /** Equivalent to: `tc -n $netns qdisc replace dev $device root handle 5afe: tbf rate ... | netem ...`. */
    async create(tc) {
        const mark = markOf(tc);
        const link = await linkGet(tc.netns, tc.device);
        if (!link) throw new Error(`device "${tc.device}" does not exist ${inNetns(tc.netns)}: create it first, or check the device name and netns`);
        const root = (await qdiscsOf(tc.netns, tc.device))?.find((q) => q.root);
        const retake = heldBy(tc.netns, tc.device)?.mark === mark;
        if (root && !DEFAULT_QDISCS.includes(root.kind) && !retake) {
            throw new Error(
                `"${tc.device}" ${inNetns(tc.netns)} already has a root qdisc (${root.kind} ${root.handle}) that is not this resource's; remove it, or leave this TrafficControl out`,
            );
        }
        records(tc.netns).write(tc.device, JSON.stringify({ mark, link: linkIdentity(tc.netns, link) }));
        try {
            await applyShape(tc.netns, tc.device, tc, subject(tc));
        } catch (err) {
            records(tc.netns).release(tc.device);
            throw err;
        }
        return { id: `${tc.netns ?? ""}/${tc.device}`, outs: { ...tc, mark, drift: [] } };
    },

    /** Equivalent to: `tc -n $netns -j qdisc show dev $device`: gone without our root qdisc; drift when it differs. */
    async read(id, props) {
        const { state, qdiscs } = await ownership(props, props.mark!);
        if (state !== "ours") return {};
        const outs: TrafficControlOutputs = { ...props, drift: shapeDrift(props.device, props, qdiscs!) };
        return { id: id || `${props.netns ?? ""}/${props.device}`, props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Equivalent to: `tc qdisc replace ...` with the new shape (see {@link reshape}). */
    async update(_id, olds, news) {
        await reshape(news.netns, news.device, olds, news, subject(news));
        return { outs: { ...news, mark: olds.mark, drift: [] } };
    },

    /** Equivalent to: `tc -n $netns qdisc del dev $device root`, when the root qdisc is ours. */
    async delete(_id, props) {
        const { state, qdiscs } = await ownership(props, props.mark!);
        if (state === "ours") await runDelete({ ...tcCommand(props.netns, ["qdisc", "del", "dev", props.device, "root"]), subject: subject(props) });
        const root = qdiscs?.find((q) => q.root);
        // Someone else's shape stays, said aloud; the kernel's default (ours already gone) is no news.
        if (state === "notOurs" && root && !DEFAULT_QDISCS.includes(root.kind))
            leftBehind(subject(props), `the root qdisc of "${props.device}" is not this resource's`);
        if (heldBy(props.netns, props.device)?.mark === props.mark) records(props.netns).release(props.device);
    },
});
