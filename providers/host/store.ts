/**
 * Small records that providers keep on the host between operations, the way CNI's host-local
 * IPAM keeps its leases: one file per record under a state directory (default
 * `/run/pulumi-overlay`, which, like network namespaces, does not survive a reboot). Claims are
 * taken with exclusive creates, so two providers never get the same record.
 * @module
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync, writeSync } from "node:fs";
import * as path from "node:path";
import { NETNS_RUN_DIR } from "./ip";

/** The state directory: `$PULUMI_OVERLAY_STATE_DIR`, or `/run/pulumi-overlay`. */
export function stateDir(): string {
    return process.env.PULUMI_OVERLAY_STATE_DIR || "/run/pulumi-overlay";
}

/** A file-name-safe form of a key (`10.0.0.0/24` -> `10.0.0.0_24`). */
export function safeName(key: string): string {
    return key.replace(/[^A-Za-z0-9_.:-]/g, "_");
}

/**
 * An identity of a namespace that changes when it is deleted and made again under the same
 * name (its inode), so that records of a namespace that is gone are not taken for current ones.
 */
export function netnsIdentity(netns: string | undefined): string {
    if (netns === undefined) return "root";
    try {
        return `${netns}@${statSync(path.join(NETNS_RUN_DIR, netns)).ino}`;
    } catch {
        return `${netns}@gone`;
    }
}

/** A folder of records. */
export class RecordDir {
    readonly dir: string;
    constructor(...parts: string[]) {
        this.dir = path.join(stateDir(), ...parts.map(safeName));
    }

    /** Creates the record if no record of that name exists; true when this call created it. */
    claim(name: string, content: string): boolean {
        mkdirSync(this.dir, { recursive: true });
        let fd: number;
        try {
            fd = openSync(path.join(this.dir, safeName(name)), "wx");
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
            throw err;
        }
        try {
            writeSync(fd, content);
        } finally {
            closeSync(fd);
        }
        return true;
    }

    /** Reads a record, or undefined. */
    read(name: string): string | undefined {
        try {
            return readFileSync(path.join(this.dir, safeName(name)), "utf8");
        } catch {
            return undefined;
        }
    }

    /** Replaces a record's content atomically. */
    write(name: string, content: string): void {
        mkdirSync(this.dir, { recursive: true });
        const file = path.join(this.dir, safeName(name));
        writeFileSync(`${file}.tmp`, content);
        renameSync(`${file}.tmp`, file);
    }

    /** Removes a record; removes the folder when it is left empty. */
    release(name: string): void {
        rmSync(path.join(this.dir, safeName(name)), { force: true });
        try {
            rmdirSync(this.dir);
        } catch {
            // not empty, or already gone
        }
    }

    /** The names of the records. */
    list(): string[] {
        return existsSync(this.dir) ? readdirSync(this.dir).filter((n) => !n.endsWith(".tmp") && !n.endsWith(".lock")) : [];
    }

    /**
     * Runs `work` while holding the folder's lock (an exclusive lock file), so that a
     * read-modify-write of a record is not interleaved with another provider's.
     */
    async locked<T>(work: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
        mkdirSync(this.dir, { recursive: true });
        const lock = path.join(this.dir, ".lock");
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            try {
                closeSync(openSync(lock, "wx"));
                break;
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
                // A lock left by a process that was killed: take it over after the timeout.
                if (Date.now() > deadline) break;
                await new Promise((resolve) => setTimeout(resolve, 10));
            }
        }
        try {
            return await work();
        } finally {
            rmSync(lock, { force: true });
            try {
                rmdirSync(this.dir); // only when no record is left
            } catch {
                // records remain
            }
        }
    }
}
