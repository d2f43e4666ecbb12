/**
 * iptables rules as argument vectors, for every kind that writes them (NatRule, FirewallChain):
 * the match part, and which program serves which address family. Pure.
 * @module
 */

/** What a rule matches. */
export interface RuleMatch {
    /** Packets from this network (`-s`). */
    source?: string;
    /** Packets to this network (`-d`). */
    destination?: string;
    /** Packets arriving on this interface (`-i`). */
    inInterface?: string;
    /** Packets leaving through this interface (`-o`). */
    outInterface?: string;
    /** This protocol (`-p`). */
    protocol?: string;
    /** This destination port (`-m PROTOCOL --dport`; needs `protocol`). */
    port?: number;
    /** These connection-tracking states (`-m conntrack --ctstate`). */
    state?: readonly string[];
}

/**
 * The match arguments of a rule, in the order iptables-save prints them.
 * Equivalent to: `-s $source -d $destination -i $in -o $out -p $protocol -m $protocol --dport $port -m conntrack --ctstate $states`.
 */
export function matchArgs(match: RuleMatch): string[] {
    const args: string[] = [];
    if (match.source !== undefined) args.push("-s", match.source);
    if (match.destination !== undefined) args.push("-d", match.destination);
    if (match.inInterface !== undefined) args.push("-i", match.inInterface);
    if (match.outInterface !== undefined) args.push("-o", match.outInterface);
    if (match.protocol !== undefined) args.push("-p", match.protocol);
    if (match.port !== undefined) args.push("-m", match.protocol!, "--dport", String(match.port));
    if (match.state?.length) args.push("-m", "conntrack", "--ctstate", match.state.map((s) => s.toUpperCase()).join(","));
    return args;
}

/** The program of a family: `iptables` or `ip6tables`, or their `-save` and `-restore`. */
export function iptablesProgram(family: 4 | 6, variant: "" | "-save" | "-restore" = ""): string {
    return `${family === 6 ? "ip6tables" : "iptables"}${variant}`;
}
