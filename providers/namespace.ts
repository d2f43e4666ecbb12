/**
 * The NetworkNamespace provider: a named network namespace (`ip netns add`). Its loopback is
 * brought up and carries the ownership mark as its alias, since a namespace has no label of its own.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, chooseName, definedResults, diffProperties, leftBehind, markOf, type Props } from "./common";
import { ipBatchCommand, runCommand } from "./host/command";
import { isHostError } from "./host/errors";
import { linkGet, netnsDelete, netnsExists } from "./host/ip";
import { namespaceJournal } from "./host/store";
import { checkNamespaceName } from "./host/validate";

/** Inputs after `check`. */
export interface NetworkNamespaceInputs {
    logicalName: string;
    /** The ownership mark, chosen by check (see common.ts: definedResults). */
    mark?: string;
    /** The namespace name (under /run/netns). */
    name: string;
}

/** Outputs. */
export interface NetworkNamespaceOutputs extends NetworkNamespaceInputs {
    /** The mark on the namespace's loopback alias that proves the namespace is ours. */
    alias: string;
}

const rules = { replace: ["name"], update: [], deleteBeforeReplace: true } as const;

/**
 * Whose the namespace is: `ours` when its loopback carries our mark, `cutOff` when a create of
 * ours made it and was stopped before marking it (see {@link namespaceJournal}), `gone`, or
 * `notOurs`.
 */
async function ownership(name: string, alias: string): Promise<"ours" | "cutOff" | "gone" | "notOurs"> {
    if (!netnsExists(name)) return "gone";
    const lo = await linkGet(name, "lo").catch((err) => {
        if (isHostError(err, "noNamespace")) return undefined;
        throw err;
    });
    if (!lo) return netnsExists(name) ? "notOurs" : "gone";
    if (lo.ifalias === alias) return "ours";
    return lo.ifalias === undefined && namespaceJournal.cutOff(name, alias) ? "cutOff" : "notOurs";
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(olds: Props, news: Props) {
        const inputs = { logicalName: news.logicalName, name: chooseName(olds, news) };
        return checkResult(inputs, [checkNamespaceName("name", inputs.name)]);
    },

    async diff(_id: string, olds: Props, news: Props) {
        return diffProperties(olds, news, rules);
    },

    /**
     * Equivalent to: `ip netns add $name; ip netns exec $name ip link set lo alias $mark up`, in one
     * `ip -batch` process.
     */
    async create(inputs: Props) {
        const { name, logicalName } = inputs as NetworkNamespaceInputs;
        const alias = markOf(inputs);
        const mark = ["netns", "exec", name, "ip", "link", "set", "dev", "lo", "alias", alias, "up"];
        if ((await ownership(name, alias)) === "cutOff") {
            // A create of this resource made the namespace and was stopped before marking it.
            await runCommand(ipBatchCommand(undefined, [mark], `network namespace "${name}"`));
        } else {
            namespaceJournal.begin(name, alias);
            try {
                await runCommand(ipBatchCommand(undefined, [["netns", "add", name], mark], `network namespace "${name}"`));
            } catch (err) {
                // Step 1 failing means the namespace was there before (or could not be made): not ours.
                // Past it, the namespace is the one this create made.
                if (!(isHostError(err) && err.batchLine === 1) && netnsExists(name)) await netnsDelete(name);
                namespaceJournal.end(name);
                throw err;
            }
        }
        namespaceJournal.end(name);
        const outs: NetworkNamespaceOutputs = { logicalName, name, alias };
        return { id: name, outs };
    },

    async read(id: string, props: Props) {
        const { name } = props as NetworkNamespaceOutputs;
        const alias = props.alias ?? props.mark;
        const owner = await ownership(name, alias);
        if (owner !== "ours" && owner !== "cutOff") return {};
        return { id: id || name, props: { ...props, alias }, inputs: { logicalName: props.logicalName, name, mark: alias } };
    },

    /** Equivalent to: `ip netns delete $name`, only when its loopback carries our mark. */
    async delete(_id: string, props: Props) {
        const { name } = props as NetworkNamespaceOutputs;
        const owner = await ownership(name, props.alias ?? props.mark);
        if (owner === "ours" || owner === "cutOff") await netnsDelete(name);
        if (owner === "notOurs") leftBehind(`network namespace "${name}"`, "its loopback does not carry this resource's mark");
        namespaceJournal.end(name);
    },
}, { marked: true });
