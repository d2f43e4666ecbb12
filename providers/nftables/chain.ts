/**
 * A FirewallChain through nftables: a regular chain of pulumi-overlay's own table holding the
 * rules in order, and the rule that jumps to it from our base chain for the hook (`filter.forward`,
 * `filter.input`, `filter.output`), at its top (`first`) or bottom (`last`). Every rule carries
 * the chain's mark as its comment. Pure: the commands are built here and run by ./table.ts.
 *
 * In nftables an accept ends a packet's walk through our table only: a drop in another table's
 * chain on the same hook still drops it (see docs/host-firewalls.md).
 * @module
 */
import type { FirewallJumpSpec, FirewallRuleSpec } from "../firewallChain";
import {
    BASE_CHAINS,
    type BaseChain,
    type Expr,
    type Listing,
    type ListedRule,
    matchExprs,
    nftComment,
    OUR_TABLE,
    ourRule,
    stateExprs,
    VERDICTS,
} from "./rules";

/** What a chain needs here: its name, family, jump and rules. */
export interface NftChainSpec {
    name: string;
    family: 4 | 6;
    jump: FirewallJumpSpec;
    rules: FirewallRuleSpec[];
}

/** What our table holds of a chain: whether it exists, its rules, and the jumps to it with its mark. */
export interface NftChainState {
    exists: boolean;
    rules: ListedRule[];
    jumps: ListedRule[];
}

/** The base chain a jump comes from. */
export function jumpBase(jump: Pick<FirewallJumpSpec, "from">): BaseChain {
    return BASE_CHAINS[jump.from];
}

/** Reads a chain's state out of our table's listing. Pure. */
export function nftChainState(table: Listing | undefined, name: string, mark: string): NftChainState {
    const comment = nftComment(mark);
    const rules = (table?.rules ?? []).filter((rule) => rule.chain === name);
    const jumps = (table?.rules ?? []).filter(
        (rule) => rule.comment === comment && JSON.stringify(rule.expr ?? []).includes(`{"jump":{"target":${JSON.stringify(name)}}}`),
    );
    return { exists: (table?.chains ?? []).some((chain) => chain.name === name), rules, jumps };
}

/** The rule bodies of the chain, in order: a rule naming both `dnat` and other states is two (see {@link stateExprs}). Pure. */
export function chainRuleExprs(chain: NftChainSpec): Expr[][] {
    return chain.rules.flatMap((rule) => {
        const { source, destination, inInterface, outInterface, protocol, port } = rule;
        const matches = matchExprs({ source, destination, inInterface, outInterface, protocol, port }, chain.family, false);
        return stateExprs(rule.state).map((state) => [...matches, ...state, VERDICTS[rule.action]]);
    });
}

/** The jump rule's body: the family, the jump's matches, and the jump. Pure. */
export function jumpExprs(chain: NftChainSpec): Expr[] {
    return [...matchExprs(chain.jump, chain.family), { jump: { target: chain.name } }];
}

const ref = (chain: string) => ({ family: OUR_TABLE.family, table: OUR_TABLE.name, chain });

/**
 * The commands that (re)write the chain: made or emptied, its rules, and the jump when it is
 * missing. Equivalent to: `nft add chain inet pulumi_overlay NAME; nft flush chain ...; nft add rule ...;
 * nft insert rule inet pulumi_overlay filter.forward oifname br0 jump NAME`. Pure.
 */
export function writeChainCommands(chain: NftChainSpec, mark: string, state: NftChainState): Expr[] {
    const comment = nftComment(mark);
    const name = { family: OUR_TABLE.family, table: OUR_TABLE.name, name: chain.name };
    const out: Expr[] = [state.exists ? { flush: { chain: name } } : { add: { chain: name } }];
    for (const expr of chainRuleExprs(chain)) out.push({ add: { rule: ourRule(chain.name, comment, expr) } });
    if (state.jumps.length === 0) {
        const rule = ourRule(jumpBase(chain.jump).name, comment, jumpExprs(chain));
        out.push(chain.jump.position === "first" ? { insert: { rule } } : { add: { rule } });
    }
    return out;
}

/** The commands that remove the chain and the jumps to it. Equivalent to: `nft delete rule ... handle H; nft flush chain ...; nft delete chain ...`. Pure. */
export function deleteChainCommands(name: string, state: NftChainState): Expr[] {
    const out: Expr[] = state.jumps.map((jump) => ({ delete: { rule: { ...ref(jump.chain), handle: jump.handle } } }));
    if (state.exists) {
        const chain = { family: OUR_TABLE.family, table: OUR_TABLE.name, name };
        out.push({ flush: { chain } }, { delete: { chain } });
    }
    return out;
}
