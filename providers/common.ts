/**
 * What every provider shares: automatic names, ownership marks, the diff rules, and the warning a
 * delete gives for what it leaves. Pure but for that warning.
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "./validate";

/** Property bags as the dynamic provider protocol passes them. */
export type Props = Record<string, any>;

import { MARK_PREFIX } from "./kinds";

export { MARK_PREFIX } from "./kinds";

/**
 * Hex digits derived from a resource's identity (the hidden input `identity` the SDK gives every
 * resource: project, stack, kind, parent and name) and a purpose, or random ones for a caller
 * without an identity. Derived, so that a create the Pulumi CLI repeats after a crash (with a
 * fresh check and no old inputs) chooses the same names and mark as its interrupted twin.
 */
export function identityDigits(identity: unknown, purpose: string, count: number): string {
    if (typeof identity !== "string" || identity === "")
        return randomBytes(Math.ceil(count / 2))
            .toString("hex")
            .slice(0, count);
    return createHash("sha256").update(`${identity}\0${purpose}`).digest("hex").slice(0, count);
}

/**
 * A kernel name derived from the Pulumi logical name plus a short suffix (from the identity, see
 * {@link identityDigits}), within `maxBytes` (15 for interface names): `lab-bridge` becomes e.g.
 * `lab-bridge-3fa2`.
 */
export function autoName(logicalName: string, maxBytes = 15, identity?: unknown, purpose = "name"): string {
    const suffix = identityDigits(identity, purpose, 4);
    const base =
        logicalName
            .toLowerCase()
            .replace(/[^a-z0-9_.-]+/g, "-")
            .replace(/^[-.]+/, "") || "po";
    return `${base.slice(0, maxBytes - suffix.length - 1).replace(/[-.]+$/, "")}-${suffix}`;
}

/**
 * The mark a resource leaves on what it creates (a link's alias, a rule's comment, a namespace's
 * loopback alias): the logical name and a token, random, or derived from the resource's identity
 * and its checked inputs (`content`): a create repeated after a crash has the same, while two
 * stacks of the same name that declare different objects do not.
 */
export function ownerMark(logicalName: string, identity?: unknown, content = ""): string {
    const safe = logicalName.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 160);
    return `${MARK_PREFIX}:${safe}:${identityDigits(identity, `mark\0${content}`, 8)}`;
}

/** How a provider's properties change: in place, by replacement, or not managed when omitted. */
export interface DiffRules {
    /** Properties whose change replaces the object (its kernel identity). */
    replace: readonly string[];
    /** Properties changed in place by `update`. */
    update: readonly string[];
    /** Of those, the ones left alone when the program omits them (e.g. `mtu`: keep the kernel's). */
    optional?: readonly string[];
    /** True for objects with fixed kernel names: the old one must go before the new one comes. */
    deleteBeforeReplace: boolean;
}

/** Deep equality of JSON values, blind to key order; undefined and null are the same absence. */
function same(a: unknown, b: unknown): boolean {
    const canonical = (v: unknown): unknown =>
        v === null || v === undefined
            ? null
            : Array.isArray(v)
              ? v.map(canonical)
              : typeof v === "object"
                ? Object.fromEntries(
                      Object.entries(v as object)
                          .filter(([, x]) => x !== undefined)
                          .sort(([x], [y]) => (x < y ? -1 : 1))
                          .map(([k, x]) => [k, canonical(x)]),
                  )
                : v;
    return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/**
 * Compares the old outputs with the new inputs by the rules. A value still unknown during preview
 * counts as a change (a replacement when the property is a replace key).
 */
export function diffProperties(olds: Props, news: Props, rules: DiffRules): pulumi.dynamic.DiffResult {
    const changed = (key: string): boolean => {
        const next = news[key];
        if (next === undefined && rules.optional?.includes(key)) return false;
        if (isUnknown(next) || (next !== null && typeof next === "object" && Object.values(next).some(isUnknown))) return true;
        return !same(olds[key], next);
    };
    const replaces = rules.replace.filter(changed);
    const updates = rules.update.filter(changed);
    return {
        changes: replaces.length + updates.length > 0,
        replaces,
        deleteBeforeReplace: rules.deleteBeforeReplace && replaces.length > 0,
    };
}

/** The logical name, which the SDK classes pass as the hidden input `logicalName`. */
export function logicalNameOf(news: { logicalName?: unknown }): string {
    return typeof news.logicalName === "string" && news.logicalName !== "" ? news.logicalName : "resource";
}

/** The name to use: the declared one, else the one given earlier (stable across runs), else a new one. */
export function chooseName(olds: Props, news: Props, key = "name", maxBytes = 15): string {
    if (news[key] !== undefined) return news[key];
    if (typeof olds[key] === "string") return olds[key];
    return autoName(logicalNameOf(news), maxBytes, news.identity, key);
}

export { inNetnsWords as inNetns } from "./host";

/**
 * Says that a delete left an object in place because it is no longer this resource's (its mark
 * is gone, or its link is another one now). Written to the provider's stderr, which Pulumi shows
 * as a diagnostic of the operation: destroy finishes, and the user learns what it did not remove.
 */
export function leftBehind(what: string, why: string): void {
    process.stderr.write(`warning: pulumi-overlay left ${what} in place: ${why}\n`);
}

/** Keeps only the listed keys whose values are defined. */
export function pick(props: Props, keys: readonly string[]): Props {
    return Object.fromEntries(keys.filter((k) => props[k] !== undefined).map((k) => [k, props[k]]));
}

/** A copy without undefined values, at any depth: the protocol's Struct cannot carry undefined. */
export function withoutUndefined<T>(value: T): T {
    if (Array.isArray(value)) return value.map(withoutUndefined) as T;
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
        Object.entries(value as object)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, withoutUndefined(v)]),
    ) as T;
}
