/**
 * Small records that providers keep on the host between operations, the way CNI's host-local
 * IPAM keeps its leases: one file per record under a state directory (default
 * `/run/pulumi-overlay`, which, like network namespaces, does not survive a reboot). Claims are
 * taken with exclusive creates, so two providers never get the same record.
 * @module
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import * as path from "node:path";
import { batchText } from "./command";
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

/**
 * A folder of records. Resources keep its absolute path in their outputs and reopen it with
 * {@link RecordDir.at}, so a later run finds the records even if the state directory setting
 * changed in between.
 */
export class RecordDir {
    readonly dir: string;
    constructor(...parts: string[]) {
        this.dir = path.join(stateDir(), ...parts.map(safeName));
    }

    /** Reopens a folder by its absolute path. */
    static at(dir: string): RecordDir {
        const records = new RecordDir();
        (records as { dir: string }).dir = dir;
        return records;
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

    /** Removes a record; removes the folder, and its parents below the state directory, when left empty. */
    release(name: string): void {
        rmSync(path.join(this.dir, safeName(name)), { force: true });
        removeEmptyFolders(this.dir);
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
            removeEmptyFolders(this.dir);
        }
    }
}

/** Removes a folder and its parents while they are empty, up to (not including) the state directory. */
function removeEmptyFolders(dir: string): void {
    const top = path.resolve(stateDir());
    for (let current = path.resolve(dir); current.startsWith(`${top}${path.sep}`); current = path.dirname(current)) {
        try {
            rmdirSync(current);
        } catch {
            return; // not empty, or gone
        }
    }
}

let batchFiles = 0;
let batchDirReady = false;

/** True when a process with this id runs. */
function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * Writes `ip` steps to a file, for an `ip -batch FILE` that another batch starts in a second
 * namespace (`netns exec NS ip -batch FILE`, see the Endpoint provider): one process serves
 * several namespaces. The files live in `<state dir>/batch/` (mode 0700), named after this
 * process; call `remove` once the batch has run. Files left by a process that died mid-batch are
 * removed the first time another process writes one.
 */
export function writeBatchFile(steps: readonly (readonly string[])[]): { path: string; remove(): void } {
    const dir = path.join(stateDir(), "batch");
    if (!batchDirReady) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        for (const name of readdirSync(dir)) {
            const pid = Number(name.split("-")[0]);
            if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) rmSync(path.join(dir, name), { force: true });
        }
        batchDirReady = true;
    }
    batchFiles += 1;
    const file = path.join(dir, `${process.pid}-${batchFiles}.batch`);
    writeFileSync(file, batchText(steps), { mode: 0o600 });
    return { path: file, remove: () => unlinkSync(file) };
}
