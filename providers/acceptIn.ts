/**
 * The AcceptIn provider: accept rules for one network, inserted at the top of a chain of another
 * owner's nftables table (the remedy for a host firewall whose chain drops forwarded traffic:
 * in nftables an accept in our own table cannot override a drop in theirs). For each subnet two
 * rules: traffic from the network's bridge and subnet, and traffic to them. Each carries the
 * resource's mark as its comment; only those rules are ever removed. The table and the chain
 * stay theirs: never made, flushed, or changed otherwise. A reload of their ruleset that drops our
 * rules is drift: a read reports the resource gone, and the next up puts them back.
 * @module
 */
import { inNetns, pick, type Props } from "./common";
import { type ChainRef, type Expr, type ListedRule, matchExprs, nftComment, parseChainRef, VERDICTS } from "./nftables/rules";
import { listNft, nftTransaction } from "./nftables/table";
import { type MarkedInputs, defineProvider, markOf, markOfResource } from "./provider";
import { type CheckFailure, checkInterfaceName, checkNamespaceName, checkNetworkCidr, familyOf, isUnknown } from "./validate";

/** Inputs after `check`. */
export interface AcceptInInputs extends MarkedInputs {
    logicalName: string;
    /** The chain, as `FAMILY TABLE CHAIN` (`inet hostfw forward`). */
    chain: string;
    /** The network's bridge. */
    interface: string;
    /** The network's subnets. */
    subnets: string[];
    netns?: string;
}

/** Outputs. */
export interface AcceptInOutputs extends AcceptInInputs {
    /** The comment on each of the rules. */
    comment: string;
}

const INPUT_KEYS = ["logicalName", "mark", "chain", "interface", "subnets", "netns"] as const;
const RULES = { replace: ["chain", "netns"], update: ["interface", "subnets"], deleteBeforeReplace: true };

/** The rules for a network, two per subnet. Equivalent to: `iifname BR ip saddr S accept; oifname BR ip daddr S accept`. Pure. */
export function acceptExprs(args: Pick<AcceptInInputs, "interface" | "subnets">): Expr[][] {
    return args.subnets.flatMap((subnet) => {
        const family = familyOf(subnet) ?? 4;
        return [
            [...matchExprs({ inInterface: args.interface, source: subnet }, family, false), VERDICTS.accept],
            [...matchExprs({ outInterface: args.interface, destination: subnet }, family, false), VERDICTS.accept],
        ];
    });
}

/** The chain's listing, or undefined when the namespace, table or chain is not there. */
async function listChain(ref: ChainRef, netns: string | undefined) {
    return listNft(netns, ["chain", ref.family, ref.table, ref.chain]);
}

function ours(rules: ListedRule[] | undefined, ref: ChainRef, mark: string): ListedRule[] {
    const comment = nftComment(mark);
    return (rules ?? []).filter((rule) => rule.chain === ref.chain && rule.comment === comment);
}

const deleteRule = (rule: ListedRule): Expr => ({ delete: { rule: { family: rule.family, table: rule.table, chain: rule.chain, handle: rule.handle } } });

/**
 * Puts our rules at the top of the chain, replacing any of ours already there, in one transaction.
 * Equivalent to: `nft insert rule inet hostfw forward iifname br0 ip saddr 10.0.0.0/24 accept comment MARK` (and the others).
 */
async function write(args: AcceptInInputs, mark: string): Promise<void> {
    const ref = parseChainRef(args.chain)!;
    const listing = await listChain(ref, args.netns);
    if (!listing?.chains.length) {
        throw new Error(
            `acceptIn: chain "${args.chain}" does not exist ${inNetns(args.netns)}: name a chain of the host's firewall that exists (nft list chains)`,
        );
    }
    const target = { family: ref.family, table: ref.table, chain: ref.chain };
    // Inserted in reverse, each at the top: they end up in order, above the chain's own rules.
    const inserts = acceptExprs(args)
        .reverse()
        .map((expr) => ({ insert: { rule: { ...target, comment: nftComment(mark), expr } } }));
    await nftTransaction(args.netns, [...ours(listing.rules, ref, mark).map(deleteRule), ...inserts], `accept rules in chain "${args.chain}"`);
}

export const provider = defineProvider<AcceptInInputs, AcceptInOutputs>({
    rules: RULES,
    marked: true,

    async check(_olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS) as AcceptInInputs;
        const failures: (CheckFailure | undefined)[] = [
            checkInterfaceName("interface", inputs.interface),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
        ];
        const ref = isUnknown(inputs.chain) ? undefined : parseChainRef(inputs.chain);
        if (!isUnknown(inputs.chain) && !ref) {
            failures.push({
                property: "chain",
                reason: `chain '${String(inputs.chain)}' is not "FAMILY TABLE CHAIN" (family inet, ip or ip6; names of letters, digits, '_', '.', '-'), e.g. "inet hostfw forward"`,
            });
        }
        if (isUnknown(inputs.subnets)) return { inputs, failures };
        if (!Array.isArray(inputs.subnets) || inputs.subnets.length === 0) {
            failures.push({ property: "subnets", reason: "subnets must be a list of the network's subnets (CIDR), at least one" });
            return { inputs, failures };
        }
        inputs.subnets.forEach((subnet, i) => {
            if (isUnknown(subnet)) return;
            const problem = checkNetworkCidr(`subnets[${i}]`, subnet);
            failures.push(problem);
            const family = problem ? undefined : familyOf(subnet);
            if (ref && family && ref.family !== "inet" && (ref.family === "ip6") !== (family === 6)) {
                failures.push({ property: `subnets[${i}]`, reason: `subnets[${i}] is IPv${family} but chain "${inputs.chain}" is of family ${ref.family}` });
            }
        });
        return { inputs, failures };
    },

    /** Equivalent to: `nft insert rule FAMILY TABLE CHAIN iifname BR ip saddr S accept comment MARK`, and the others, in one transaction. */
    async create(args) {
        const comment = markOf(args);
        await write(args, comment);
        return { id: `${args.netns ?? ""}/${args.chain}`, outs: { ...args, comment } };
    },

    /** Equivalent to: `nft -j list chain FAMILY TABLE CHAIN`: gone when our rules are not all there (a reload took them). */
    async read(id, props) {
        const ref = parseChainRef(props.chain)!;
        const listing = await listChain(ref, props.netns);
        if (ours(listing?.rules, ref, markOfResource(props)!).length !== acceptExprs(props).length) return {};
        return { id, props, inputs: pick(props, INPUT_KEYS) };
    },

    /** Rewrites our rules (old ones out, new ones in) in one transaction. */
    async update(_id, olds, news) {
        await write(news, olds.comment);
        return { outs: { ...news, comment: olds.comment } };
    },

    /** Equivalent to: `nft delete rule FAMILY TABLE CHAIN handle H` for each of ours; a chain or namespace gone is success. */
    async delete(_id, props) {
        const ref = parseChainRef(props.chain)!;
        const listing = await listChain(ref, props.netns);
        const rules = ours(listing?.rules, ref, markOfResource(props)!);
        await nftTransaction(props.netns, rules.map(deleteRule), `accept rules in chain "${props.chain}"`);
    },
});
