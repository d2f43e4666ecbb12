/**
 * The NetworkNamespace provider: a named network namespace (`ip netns add`). Its loopback is
 * brought up and carries the ownership mark as its alias, since a namespace has no label of its own.
 * @module
 */
import { chooseName, leftBehind, type Props } from "./common";
import { ipBatchCommand, isHostError, linkGet, namespaceJournal, netnsDelete, netnsExists, runCommand } from "./host";
import { type MarkedInputs, defineProvider, markOf, markOfResource } from "./provider";
import { checkNamespaceName } from "./validate";

/** Inputs after `check`. */
export interface NetworkNamespaceInputs extends MarkedInputs {
    logicalName: string;
    /** The namespace name (under /run/netns). */
    name: string;
}

/** Outputs. */
export interface NetworkNamespaceOutputs extends NetworkNamespaceInputs {
    /** The mark on the namespace's loopback alias that proves the namespace is ours. */
    alias: string;
}

/**
 * Whose the namespace is: `ours` when its loopback carries our mark, `cutOff` when a create of
 * ours made it and was stopped before marking it (see {@link namespaceJournal}), `gone`, or
 * `notOurs`.
 */
async function ownership(name: string, mark: string | undefined): Promise<"ours" | "cutOff" | "gone" | "notOurs"> {
    if (!netnsExists(name)) return "gone";
    const lo = await linkGet(name, "lo");
    if (!lo) return netnsExists(name) ? "notOurs" : "gone";
    if (mark !== undefined && lo.ifalias === mark) return "ours";
    return mark !== undefined && lo.ifalias === undefined && namespaceJournal.cutOff(name, mark) ? "cutOff" : "notOurs";
}

function subject(name: string): string {
    return `network namespace "${name}"`;
}

export const provider = defineProvider<NetworkNamespaceInputs, NetworkNamespaceOutputs>({
    rules: { replace: ["name"], update: [], deleteBeforeReplace: true },
    marked: true,

    async check(olds, news: Props) {
        const inputs = { logicalName: news.logicalName, name: chooseName(olds, news) };
        return { inputs, failures: [checkNamespaceName("name", inputs.name)] };
    },

    /**
     * Equivalent to: `ip netns add $name; ip netns exec $name ip link set lo alias $mark up`, in one
     * `ip -batch` process, after writing the mark to the namespace journal.
     */
    async create(inputs) {
        const { name, logicalName } = inputs;
        const mark = markOf(inputs);
        const markStep = ["netns", "exec", name, "ip", "link", "set", "dev", "lo", "alias", mark, "up"];
        const owner = await ownership(name, mark);
        if (owner === "ours" || owner === "cutOff") {
            // A create of this resource (same mark) made the namespace before it was stopped: the
            // namespace is taken over, and marked if the mark is all it lacks.
            await runCommand(ipBatchCommand(undefined, [markStep], subject(name)));
        } else {
            namespaceJournal.begin(name, mark);
            try {
                await runCommand(ipBatchCommand(undefined, [["netns", "add", name], markStep], subject(name)));
            } catch (err) {
                // Step 1 failing means the namespace was there before (or could not be made): not ours.
                // Past it, the namespace is the one this create made.
                if (!(isHostError(err) && err.batchLine === 1) && netnsExists(name)) await netnsDelete(name);
                namespaceJournal.end(name);
                throw err;
            }
        }
        namespaceJournal.end(name);
        return { id: name, outs: { logicalName, name, alias: mark } };
    },

    async read(id, props) {
        const mark = markOfResource(props);
        const owner = await ownership(props.name, mark);
        if (owner !== "ours" && owner !== "cutOff") return {};
        return { id: id || props.name, props: { ...props, alias: mark! }, inputs: { logicalName: props.logicalName, name: props.name, mark } };
    },

    /** Equivalent to: `ip netns delete $name`, only when its loopback carries our mark. */
    async delete(_id, props) {
        const owner = await ownership(props.name, markOfResource(props));
        if (owner === "ours" || owner === "cutOff") await netnsDelete(props.name);
        if (owner === "notOurs") leftBehind(subject(props.name), "its loopback does not carry this resource's mark");
        namespaceJournal.end(props.name);
    },
});
