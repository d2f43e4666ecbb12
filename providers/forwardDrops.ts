/**
 * Other owners' drops, pure: the base chains of a namespace's nftables ruleset (`nft -j list
 * ruleset`) that drop forwarded traffic by policy. In nftables every base chain on a hook sees each
 * packet and an accept in one table does not override a drop in another, so such a chain, in a
 * table that is not ours, breaks a bridge network whatever our own rules say (br_netfilter sends
 * bridged traffic through the forward hook too). The iptables FORWARD chain (iptables-nft's
 * `ip filter FORWARD`) is left out: pulumi-overlay's own accept rules sit in it.
 * @module
 */

/** A base chain that drops what it does not accept. */
export interface ForwardDrop {
    family: string;
    table: string;
    chain: string;
    hook: string;
    priority: number;
}

interface NftChain {
    family?: string;
    table?: string;
    name?: string;
    type?: string;
    hook?: string;
    prio?: number;
    policy?: string;
}

/** The forward-hook base chains with policy drop, other than iptables' own FORWARD. */
export function forwardDrops(ruleset: unknown): ForwardDrop[] {
    const items = (ruleset as { nftables?: { chain?: NftChain }[] } | undefined)?.nftables ?? [];
    return items
        .map((item) => item.chain)
        .filter((chain): chain is NftChain => chain !== undefined && chain.hook === "forward" && chain.policy === "drop")
        .filter((chain) => !(chain.table === "filter" && chain.name === "FORWARD" && (chain.family === "ip" || chain.family === "ip6")))
        .map((chain) => ({ family: chain.family ?? "", table: chain.table ?? "", chain: chain.name ?? "", hook: "forward", priority: chain.prio ?? 0 }));
}

/** What to tell the user about the drops, with the remedies, for the bridge `bridge`. */
export function dropDiagnosis(drops: ForwardDrop[], bridge: string): string {
    if (drops.length === 0) {
        return "no nftables chain of another owner drops forwarded traffic here: check the attachments' links and addresses (ip -n NS addr), and the bridge's ports (bridge link)";
    }
    const named = drops.map((d) => `"${d.family} ${d.table} ${d.chain}" (hook forward, policy drop)`).join(", ");
    const first = drops[0];
    return (
        `the host's nftables chain ${named} drops forwarded traffic, and an accept in another table cannot override it. ` +
        `Remedies: accept the bridge in that chain (nft insert rule ${first.family} ${first.table} ${first.chain} iifname "${bridge}" accept; ` +
        `nft insert rule ${first.family} ${first.table} ${first.chain} oifname "${bridge}" accept), ` +
        `or put the bridge in a trusted firewalld zone (firewall-cmd --zone=trusted --add-interface=${bridge}); ` +
        `probe: false skips this check and leaves the network as it is`
    );
}
