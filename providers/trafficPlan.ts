/**
 * Traffic control, pure: a link's shaping (token bucket: `rate`, `burst`, `latency`) and
 * impairment (netem: `delay`, `jitter`, `loss`, `duplicate`, `corrupt`, `reorder`), values with
 * units parsed and checked, and the `tc` steps that set them. The TrafficControl provider and the
 * Endpoint's `link` use it.
 * @module
 */
import type { CheckFailure } from "./validate";
import { isUnknown } from "./validate";

/** A link's shaping and impairment, as the program writes it (`10mbit`, `20ms`, `1%`). */
export interface LinkShape {
    /** Token bucket rate: `10mbit`, `1gbit`, `500kbit`, `2mbps` (bytes). */
    rate?: string;
    /** Token bucket size: `32kb`, `1mb`; default a hundredth of a second at the rate, at least 3000 bytes. */
    burst?: string;
    /** How long a packet may wait for tokens: `50ms` (the default). */
    latency?: string;
    /** netem: added delay, `20ms`. */
    delay?: string;
    /** netem: delay variation, `5ms` (needs `delay`). */
    jitter?: string;
    /** netem: packets dropped, `1%`. */
    loss?: string;
    /** netem: packets sent twice, `0.5%`. */
    duplicate?: string;
    /** netem: packets with a flipped bit, `0.1%`. */
    corrupt?: string;
    /** netem: packets sent at once, ahead of delayed ones, `25%` (needs `delay`). */
    reorder?: string;
}

export const SHAPE_KEYS = ["rate", "burst", "latency", "delay", "jitter", "loss", "duplicate", "corrupt", "reorder"] as const;
export const NETEM_KEYS = ["delay", "jitter", "loss", "duplicate", "corrupt", "reorder"] as const;

const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12, bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, k: 1024, mb: 1024 * 1024, m: 1024 * 1024, gb: 1024 ** 3, kbit: 1024 / 8, mbit: (1024 * 1024) / 8 };
const TIME_UNITS: Record<string, number> = { us: 1, ms: 1e3, s: 1e6 };

function parseWithUnit(text: unknown, units: Record<string, number>): number | undefined {
    if (typeof text !== "string") return undefined;
    const match = /^(\d+(?:\.\d+)?)([a-z]+)$/.exec(text.toLowerCase());
    if (!match || units[match[2]] === undefined) return undefined;
    return Number(match[1]) * units[match[2]];
}

/** Bits per second of a rate (`10mbit` is 10 000 000), or undefined. */
export function parseRate(text: unknown): number | undefined {
    return parseWithUnit(text, RATE_UNITS);
}

/** Bytes of a size (`32kb` is 32 768), or undefined. */
export function parseSize(text: unknown): number | undefined {
    return parseWithUnit(text, SIZE_UNITS);
}

/** Microseconds of a time (`20ms` is 20 000), or undefined. */
export function parseTime(text: unknown): number | undefined {
    return parseWithUnit(text, TIME_UNITS);
}

/** A percentage (`1%`, `0.5%`) from 0 to 100, or undefined. */
export function parsePercent(text: unknown): number | undefined {
    if (typeof text !== "string") return undefined;
    const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
    const value = match ? Number(match[1]) : undefined;
    return value !== undefined && value <= 100 ? value : undefined;
}

/** Check of a shape; `prefix` names where it stands (`link.` on an Endpoint). */
export function checkShape(shape: Record<string, unknown>, prefix = ""): CheckFailure[] {
    const failures: CheckFailure[] = [];
    const known = (key: string) => shape[key] !== undefined && !isUnknown(shape[key]);
    const refuse = (key: string, rule: string) =>
        failures.push({ property: `${prefix}${key}`, reason: `${prefix}${key} ${JSON.stringify(shape[key])} ${rule}` });
    if (known("rate") && !(parseRate(shape.rate)! > 0))
        refuse("rate", "is not a rate: a number and bit, kbit, mbit, gbit (bits) or bps, kbps, mbps (bytes) per second, e.g. 10mbit");
    if (known("burst") && !(parseSize(shape.burst)! > 0)) refuse("burst", "is not a size: a number and b, kb, mb, e.g. 32kb");
    for (const key of ["latency", "delay", "jitter"])
        if (known(key) && parseTime(shape[key]) === undefined) refuse(key, "is not a time: a number and us, ms or s, e.g. 20ms");
    for (const key of ["loss", "duplicate", "corrupt", "reorder"])
        if (known(key) && parsePercent(shape[key]) === undefined) refuse(key, "is not a percentage from 0% to 100%, e.g. 1%");
    for (const key of ["burst", "latency"])
        if (shape[key] !== undefined && shape.rate === undefined)
            failures.push({ property: `${prefix}${key}`, reason: `${prefix}${key} shapes a rate: set ${prefix}rate too` });
    for (const key of ["jitter", "reorder"])
        if (shape[key] !== undefined && shape.delay === undefined)
            failures.push({ property: `${prefix}${key}`, reason: `${prefix}${key} varies a delay: set ${prefix}delay too` });
    if (SHAPE_KEYS.every((key) => shape[key] === undefined))
        failures.push({ property: `${prefix}rate`, reason: `set ${prefix}rate or a netem option (${prefix}delay, ${prefix}loss, ...)` });
    return failures;
}

/** The first netem property set, to name in the error of a kernel without sch_netem. */
export function netemProperty(shape: LinkShape): string | undefined {
    return NETEM_KEYS.find((key) => shape[key] !== undefined);
}

/** The handle of the root qdisc this project makes (the netem one when both are set). */
export const ROOT_HANDLE = "5afe:";
const CHILD_HANDLE = "5aff:";

/** The token bucket's burst: given, or a hundredth of a second at the rate, at least 3000 bytes. */
export function burstBytes(shape: LinkShape): number {
    return shape.burst !== undefined ? parseSize(shape.burst)! : Math.max(3000, Math.ceil(parseRate(shape.rate)! / 8 / 100));
}

/**
 * The `tc` steps (without `tc -n NS`) that put the shape on a device: a token bucket at the root,
 * or netem at the root with the token bucket as its child when both are asked for.
 * Equivalent to: `tc qdisc replace dev D root handle 5afe: tbf rate R burst B latency L` and
 * `tc qdisc replace dev D root handle 5afe: netem delay 20ms ...`.
 */
export function shapeSteps(device: string, shape: LinkShape): string[][] {
    const tbf = shape.rate === undefined ? [] : ["tbf", "rate", shape.rate, "burst", String(burstBytes(shape)), "latency", shape.latency ?? "50ms"];
    const netemKeys = NETEM_KEYS.filter((key) => shape[key] !== undefined && key !== "jitter");
    if (netemKeys.length === 0) return [["qdisc", "replace", "dev", device, "root", "handle", ROOT_HANDLE, ...tbf]];
    const netem = netemKeys.flatMap((key) => (key === "delay" ? ["delay", shape.delay!, ...(shape.jitter ? [shape.jitter] : [])] : [key, shape[key]!]));
    const root = ["qdisc", "replace", "dev", device, "root", "handle", ROOT_HANDLE, "netem", ...netem];
    return tbf.length === 0 ? [root] : [root, ["qdisc", "replace", "dev", device, "parent", `${ROOT_HANDLE}1`, "handle", CHILD_HANDLE, ...tbf]];
}

/** A qdisc as `tc -j qdisc show` reports it (the fields read). */
export interface QdiscInfo {
    kind: string;
    handle: string;
    root?: boolean;
    parent?: string;
    options?: { rate?: number; burst?: number; lat?: number; [key: string]: unknown };
}

/** What differs between the qdiscs of a device and the shape, in words (empty: as declared). */
export function shapeDrift(device: string, shape: LinkShape, qdiscs: QdiscInfo[]): string[] {
    const root = qdiscs.find((q) => q.root);
    const wantNetem = netemProperty(shape) !== undefined;
    if (!root || root.handle !== ROOT_HANDLE || root.kind !== (wantNetem ? "netem" : "tbf"))
        return [`"${device}" lacks its ${wantNetem ? "netem" : "token bucket"} qdisc`];
    if (shape.rate === undefined) return [];
    const tbf = wantNetem ? qdiscs.find((q) => q.kind === "tbf" && q.parent === `${ROOT_HANDLE}1`) : root;
    if (!tbf) return [`"${device}" lacks its token bucket`];
    const rate = (tbf.options?.rate ?? 0) * 8;
    return Math.abs(rate - parseRate(shape.rate)!) > parseRate(shape.rate)! * 0.01 ? [`"${device}" is shaped to ${rate} bit/s, not ${shape.rate}`] : [];
}
