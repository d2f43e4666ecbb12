/**
 * Strings that would run a command (`touch MARKER`) if any of them reached a shell, or a parser
 * that splits or joins words (ip -batch, iptables-restore), as more than one plain word. The
 * injection tests set every string input to each and check that the marker never appears.
 */
export function shellPayloads(marker: string): string[] {
    return [
        `'x''sh''-c''touch ${marker}'`,
        `"x" "sh" "-c" "touch ${marker}"`,
        `$(touch ${marker})`,
        `\`touch ${marker}\``,
        `x;touch ${marker}`,
        `x|touch ${marker}`,
        `x&&touch ${marker}`,
        `x\ntouch ${marker}`,
    ];
}
