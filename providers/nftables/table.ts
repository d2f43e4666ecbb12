/**
 * pulumi-overlay's own nftables table in a namespace (`table inet pulumi_overlay`): read with
 * `nft -j`, changed in atomic `nft -j -f -` transactions of JSON commands. The table and its base
 * chains appear with the first rule that needs them and go with the last one.
 *
 * Changes to one namespace's table are serialized, and the changes queued in the same turn of the
 * event loop (the engine runs independent steps in parallel) go in one transaction: K rules cost
 * one read and one `nft` process, not K. When the transaction is refused, each change is tried on
 * its own so that each gets its own answer.
 * @module
 */
import { currentConnection, hostKey, isHostError, onHost, parseIpJson, runCommand, runRead, SharedReads, toolCommand } from "../host";
import { type BaseChain, BASE_CHAIN_NAMES, type Expr, type Listing, OUR_TABLE, parseListing } from "./rules";

/** `nft -j ARGS` in a namespace. */
function nft(netns: string | undefined, args: readonly string[], subject?: string) {
    return toolCommand(netns, "nft", ["-j", ...args], subject);
}

/**
 * A listing read with `nft -j list ...`; undefined when the namespace, the table or the chain is
 * not there. Equivalent to: `nft -j list table inet pulumi_overlay` (or any `list` arguments).
 */
export async function listNft(netns: string | undefined, args: readonly string[]): Promise<Listing | undefined> {
    try {
        const output = await runRead(nft(netns, ["list", ...args]));
        return output ? parseListing(parseIpJson<unknown>(output.stdout || "{}")) : undefined;
    } catch (err) {
        if (isHostError(err, "notFound")) return undefined;
        throw err;
    }
}

const tableReads = new SharedReads<Listing | undefined>();

/** Our table, shared by the reads of one moment (a refresh of many rules costs one `nft`); undefined when absent. */
export function sharedOurTable(netns: string | undefined): Promise<Listing | undefined> {
    return tableReads.get(netns ?? "", () => listNft(netns, ["table", OUR_TABLE.family, OUR_TABLE.name]));
}

/**
 * The most JSON text one transaction carries. It goes as one argument (the kernel takes at most
 * 128 KiB per argument): nft cannot read `-f -` from the socket Node gives a child as stdin, and an
 * argument needs no file on the host. Larger batches go in several transactions, each change whole
 * in one of them.
 */
export const TRANSACTION_BYTES = 100_000;

/**
 * Runs JSON commands as one transaction: all take effect or none does.
 * Equivalent to: `nft -j '{"nftables": [...]}'` (as `nft -j -f FILE` would).
 */
export async function nftTransaction(netns: string | undefined, commands: Expr[], subject: string): Promise<void> {
    if (commands.length === 0) return;
    await runCommand(nft(netns, [JSON.stringify({ nftables: commands })], subject));
}

/** A change of our table: its commands, built from the table as it is when the change runs. */
export interface TableChange {
    /** The commands (`{ add: { rule } }`, `{ delete: { rule } }`, ...) given our table now (undefined: absent). May throw to refuse. */
    commands(table: Listing | undefined): Expr[];
    /** The base chains the commands add rules to; made, with the table, when they are missing. */
    baseChains: readonly BaseChain[];
    /** Words naming what changes, for error messages. */
    subject: string;
}

interface Pending {
    change: TableChange;
    done: (err?: unknown) => void;
}

const queues = new Map<string, Pending[]>();
const running = new Map<string, Promise<void>>();

/** Applies a change to a namespace's table, in the next transaction of that namespace. */
export function changeOurTable(netns: string | undefined, change: TableChange): Promise<void> {
    const key = `${hostKey()}|${netns ?? ""}`;
    const connection = currentConnection();
    return new Promise<void>((resolve, reject) => {
        const pending = { change, done: (err?: unknown) => (err === undefined ? resolve() : reject(err)) };
        const queue = queues.get(key);
        if (queue) {
            queue.push(pending);
            return;
        }
        queues.set(key, [pending]);
        setImmediate(() => {
            const batch = queues.get(key)!;
            queues.delete(key);
            // The batch runs on the host of the change that opened it (the queue is per host).
            const next = (running.get(key) ?? Promise.resolve()).then(() => onHost(connection, () => flush(netns, batch)));
            running.set(key, next);
            void next.finally(() => {
                if (running.get(key) === next) running.delete(key);
            });
        });
    });
}

/** The commands that make our table and the base chains named, before commands that add to them. */
function prelude(chains: readonly BaseChain[]): Expr[] {
    const table = { family: OUR_TABLE.family, name: OUR_TABLE.name };
    const out: Expr[] = [{ add: { table } }];
    for (const chain of new Map(chains.map((c) => [c.name, c])).values()) {
        out.push({
            add: {
                chain: { family: table.family, table: table.name, name: chain.name, type: chain.type, hook: chain.hook, prio: chain.prio, policy: "accept" },
            },
        });
    }
    return out;
}

const adds = (commands: Expr[]) => commands.some((c) => "add" in c || "insert" in c);
const removes = (commands: Expr[]) => commands.some((c) => "delete" in c || "flush" in c);

interface Planned {
    pending: Pending;
    commands: Expr[];
}

/**
 * The changes of a batch with their commands, in groups of at most {@link TRANSACTION_BYTES}; the
 * changes that refuse (their commands throw) apart, to be run alone for their own answer.
 */
function plan(batch: Pending[], table: Listing | undefined): { groups: Planned[][]; refused: Pending[] } {
    const groups: Planned[][] = [];
    const refused: Pending[] = [];
    let size = TRANSACTION_BYTES + 1;
    for (const pending of batch) {
        let commands: Expr[];
        try {
            commands = pending.change.commands(table);
        } catch {
            refused.push(pending);
            continue;
        }
        const bytes = JSON.stringify(commands).length;
        if (size + bytes > TRANSACTION_BYTES) {
            groups.push([]);
            size = 0;
        }
        groups[groups.length - 1].push({ pending, commands });
        size += bytes;
    }
    return { groups, refused };
}

/** Runs a batch: one transaction per group, or each change alone when its group is refused; then tidies the table. */
async function flush(netns: string | undefined, batch: Pending[]): Promise<void> {
    let tidy = false;
    let alone = batch;
    if (batch.length > 1) {
        try {
            const { groups, refused } = plan(batch, await listNft(netns, ["table", OUR_TABLE.family, OUR_TABLE.name]));
            alone = refused;
            for (const group of groups) {
                const commands = group.flatMap((g) => g.commands);
                try {
                    await apply(
                        netns,
                        commands,
                        group.flatMap((g) => g.pending.change.baseChains),
                        `${group.length} changes of table inet pulumi_overlay`,
                    );
                    for (const g of group) g.pending.done();
                    tidy ||= removes(commands);
                } catch {
                    // The transaction was refused: nothing of it took effect; its changes one by one.
                    alone.push(...group.map((g) => g.pending));
                }
            }
        } catch {
            alone = batch; // the table could not be read: each change alone, with its own answer
        }
    }
    for (const p of alone) {
        try {
            const commands = p.change.commands(await listNft(netns, ["table", OUR_TABLE.family, OUR_TABLE.name]));
            await apply(netns, commands, p.change.baseChains, p.change.subject);
            tidy ||= removes(commands);
            p.done();
        } catch (err) {
            p.done(err ?? new Error("failed"));
        }
    }
    await tidyTable(netns, tidy).catch(() => undefined);
}

async function apply(netns: string | undefined, commands: Expr[], chains: readonly BaseChain[], subject: string): Promise<void> {
    if (commands.length === 0) return;
    try {
        await nftTransaction(netns, adds(commands) ? [...prelude(chains), ...commands] : commands, subject);
    } catch (err) {
        // Removing from a namespace that is gone: nothing is left to remove.
        if (!adds(commands) && isHostError(err, "noNamespace")) return;
        throw err;
    }
}

/**
 * After removals: base chains left without rules are deleted, and the table when nothing of ours
 * is left in it. Equivalent to: `nft delete chain inet pulumi_overlay nat.postrouting; nft delete table inet pulumi_overlay`.
 */
async function tidyTable(netns: string | undefined, needed: boolean): Promise<void> {
    if (!needed) return;
    const table = await listNft(netns, ["table", OUR_TABLE.family, OUR_TABLE.name]);
    if (!table) return;
    const used = new Set(table.rules.map((rule) => rule.chain));
    const userChains = table.chains.filter((chain) => !BASE_CHAIN_NAMES.includes(chain.name));
    const ref = { family: OUR_TABLE.family, name: OUR_TABLE.name };
    if (userChains.length === 0 && used.size === 0) {
        await nftTransaction(netns, [{ delete: { table: ref } }], "table inet pulumi_overlay");
        return;
    }
    const empty = table.chains.filter((chain) => BASE_CHAIN_NAMES.includes(chain.name) && !used.has(chain.name));
    await nftTransaction(
        netns,
        empty.map((chain) => ({ delete: { chain: { family: ref.family, table: ref.name, name: chain.name } } })),
        "table inet pulumi_overlay",
    );
}
