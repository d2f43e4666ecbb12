/**
 * The files `ip netns exec` reads for a namespace: /etc/netns/<namespace>/hosts and resolv.conf,
 * which it bind-mounts over /etc/hosts and /etc/resolv.conf for the command it runs. Only files
 * below /etc/netns/<namespace>/ are ever written here; the host's own /etc/hosts never.
 * @module
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync, renameSync, rmSync, rmdirSync } from "node:fs";
import * as path from "node:path";
import { writeNewFile } from "./store";

/** Where `ip netns exec` looks for a namespace's files. */
export const ETC_NETNS = "/etc/netns";

function fileOf(namespace: string, name: "hosts" | "resolv.conf"): string {
    if (namespace === "" || namespace.includes("/") || namespace.startsWith(".")) throw new Error(`"${namespace}" is not a namespace name`);
    return path.join(ETC_NETNS, namespace, name);
}

/** A namespace's file, or undefined when there is none. */
export function readNetnsFile(namespace: string, name: "hosts" | "resolv.conf"): string | undefined {
    try {
        const fd = openSync(fileOf(namespace, name), constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
            return readFileSync(fd, "utf8");
        } finally {
            closeSync(fd);
        }
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
    }
}

/** Writes a namespace's file (mode 0644, a new file renamed over the old, never through a link), making its folder. */
export function writeNetnsFile(namespace: string, name: "hosts" | "resolv.conf", content: string): void {
    const file = fileOf(namespace, name);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    const temporary = `${file}.${process.pid}.tmp`;
    rmSync(temporary, { force: true }); // left by a process cut off here (a link is removed, never followed)
    writeNewFile(temporary, content, 0o644);
    renameSync(temporary, file);
}

/** Removes a namespace's file, and its folder when that is left empty. */
export function removeNetnsFile(namespace: string, name: "hosts" | "resolv.conf"): void {
    const file = fileOf(namespace, name);
    rmSync(file, { force: true });
    try {
        rmdirSync(path.dirname(file));
    } catch {
        // not empty (another file of the namespace), or gone
    }
}
