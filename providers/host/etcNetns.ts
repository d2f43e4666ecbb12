/**
 * The files `ip netns exec` reads for a namespace: /etc/netns/<namespace>/hosts and resolv.conf,
 * which it bind-mounts over /etc/hosts and /etc/resolv.conf for the command it runs. Only files
 * below /etc/netns/<namespace>/ are ever written here; the host's own /etc/hosts never.
 * @module
 */
import * as path from "node:path";
import { hostFiles } from "./files";
import { writeNewFile } from "./store";

/** Where `ip netns exec` looks for a namespace's files. */
export const ETC_NETNS = "/etc/netns";

function fileOf(namespace: string, name: "hosts" | "resolv.conf"): string {
    if (namespace === "" || namespace.includes("/") || namespace.startsWith(".")) throw new Error(`"${namespace}" is not a namespace name`);
    return path.join(ETC_NETNS, namespace, name);
}

/** A namespace's file, or undefined when there is none (on the host of the operation under way). */
export function readNetnsFile(namespace: string, name: "hosts" | "resolv.conf"): string | undefined {
    return hostFiles().read(fileOf(namespace, name));
}

/** Writes a namespace's file (mode 0644, a new file renamed over the old, never through a link), making its folder. */
export function writeNetnsFile(namespace: string, name: "hosts" | "resolv.conf", content: string): void {
    const file = fileOf(namespace, name);
    const files = hostFiles();
    files.makeDir(path.dirname(file), 0o755);
    const temporary = `${file}.${process.pid}.tmp`;
    files.remove(temporary); // left by a process cut off here (a link is removed, never followed)
    writeNewFile(temporary, content, 0o644);
    files.rename(temporary, file);
}

/** Removes a namespace's file, and its folder when that is left empty. */
export function removeNetnsFile(namespace: string, name: "hosts" | "resolv.conf"): void {
    const file = fileOf(namespace, name);
    hostFiles().remove(file);
    hostFiles().removeDir(path.dirname(file)); // false: not empty (another file of the namespace), or gone
}
