/**
 * The NetworkNamespace provider: a named network namespace (`ip netns add`). Its loopback is
 * brought up and carries the ownership mark as its alias, since a namespace has no label of its own.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, chooseName, definedResults, diffProperties, markOf, type Props } from "./common";
import { ipBatchCommand, runCommand } from "./host/command";
import { isHostError } from "./host/errors";
import { linkGet, netnsDelete, netnsExists } from "./host/ip";
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

/** Reads whether the namespace exists and carries our mark. */
async function isOurs(name: string, alias: string): Promise<boolean> {
    if (!netnsExists(name)) return false;
    const lo = await linkGet(name, "lo");
    return lo?.ifalias === alias;
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
        const steps = [
            ["netns", "add", name],
            ["netns", "exec", name, "ip", "link", "set", "lo", "alias", alias, "up"],
        ];
        try {
            await runCommand(ipBatchCommand(undefined, steps, `network namespace "${name}"`));
        } catch (err) {
            // Step 1 failing means the namespace was there before (or could not be made): not ours.
            // Past it, the namespace is the one this create made.
            if (!(isHostError(err) && err.batchLine === 1) && netnsExists(name)) await netnsDelete(name);
            throw err;
        }
        const outs: NetworkNamespaceOutputs = { logicalName, name, alias };
        return { id: name, outs };
    },

    async read(id: string, props: Props) {
        const { name } = props as NetworkNamespaceOutputs;
        const alias = props.alias ?? props.mark;
        if (!(await isOurs(name, alias))) return {};
        return { id: id || name, props: { ...props, alias }, inputs: { logicalName: props.logicalName, name, mark: alias } };
    },

    /** Equivalent to: `ip netns delete $name`, only when its loopback carries our mark. */
    async delete(_id: string, props: Props) {
        const { name } = props as NetworkNamespaceOutputs;
        if (await isOurs(name, props.alias ?? props.mark)) await netnsDelete(name);
    },
}, { marked: true });
