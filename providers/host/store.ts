/**
 * Small records that providers keep on the host between operations, the way CNI's host-local
 * IPAM keeps its leases: one file per record under a state directory (default
 * `/run/pulumi-overlay`, which, like network namespaces, does not survive a reboot). Claims are
 * taken with exclusive creates, so two providers never get the same record.
 * @module
 */
import * as path from "node:path";
import { hostFiles, localSecureDir } from "./files";
import { NETNS_RUN_DIR } from "./ip";
import { currentConnection, hostKey } from "./remote";

/**
 * The state directory: `$PULUMI_OVERLAY_STATE_DIR`, or `/run/pulumi-overlay`; on a remote host
 * always `/run/pulumi-overlay` (the setting is this machine's).
 */
export function stateDir(): string {
    if (currentConnection()) return "/run/pulumi-overlay";
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
    const info = hostFiles().stat(path.join(NETNS_RUN_DIR, netns));
    return info ? `${netns}@${info.ino}` : `${netns}@gone`;
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
        try {
            inFolder(this.dir, () => writeNewFile(path.join(this.dir, safeName(name)), content));
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
            throw err;
        }
        return true;
    }

    /** A record's path. */
    path(name: string): string {
        return path.join(this.dir, safeName(name));
    }

    /** Reads a record, or undefined when there is none; a record that is a link is refused. */
    read(name: string): string | undefined {
        return hostFiles().read(path.join(this.dir, safeName(name)));
    }

    /** Replaces a record's content atomically (a new file, then a rename over the old one). */
    write(name: string, content: string): void {
        const file = path.join(this.dir, safeName(name));
        temporaries += 1;
        const temporary = `${file}.${process.pid}.${temporaries}.tmp`;
        inFolder(this.dir, () => writeNewFile(temporary, content));
        hostFiles().rename(temporary, file);
    }

    /** Removes a record; removes the folder, and its parents below the state directory, when left empty. */
    release(name: string): void {
        hostFiles().remove(path.join(this.dir, safeName(name)));
        removeEmptyFolders(this.dir);
    }

    /** The records and their text, in one read of the folder (one round trip on a remote host). */
    readAll(): Map<string, string> {
        const all = hostFiles().readAll(this.dir);
        for (const name of [...all.keys()]) if (name.endsWith(".tmp") || name === ".lock") all.delete(name);
        return all;
    }

    /** The names of the records. */
    list(): string[] {
        return hostFiles()
            .list(this.dir)
            .filter((n) => !n.endsWith(".tmp") && n !== ".lock");
    }

    /**
     * Runs `work` while holding the folder's lock (an exclusive lock file), so that a
     * read-modify-write of a record is not interleaved with another provider's.
     */
    async locked<T>(work: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
        // Callers of this process wait their turn here, not by polling the host: the lock file
        // is for other processes (on a remote host each poll would be a round trip).
        const key = `${hostKey()}|${this.dir}`;
        const before = turns.get(key) ?? Promise.resolve();
        let done!: () => void;
        const mine = new Promise<void>((resolve) => {
            done = resolve;
        });
        const chain = before.then(() => mine);
        turns.set(key, chain);
        await before;
        try {
            return await this.lockedOnHost(work, timeoutMs);
        } finally {
            done();
            if (turns.get(key) === chain) turns.delete(key);
        }
    }

    private async lockedOnHost<T>(work: () => Promise<T>, timeoutMs: number): Promise<T> {
        const lock = path.join(this.dir, ".lock");
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            try {
                secureDir(this.dir);
                hostFiles().writeNew(lock, "", 0o600);
                break;
            } catch (err) {
                const code = (err as NodeJS.ErrnoException).code;
                if (code !== "EEXIST" && code !== "ENOENT") throw err; // ENOENT: the folder was just removed as empty
                // A lock left by a process that was killed: take it over after the timeout.
                if (code === "EEXIST" && Date.now() > deadline) break;
                await new Promise((resolve) => setTimeout(resolve, 10));
            }
        }
        try {
            return await work();
        } finally {
            hostFiles().remove(lock);
            removeEmptyFolders(this.dir);
        }
    }
}

let temporaries = 0;

/** The turns of this process's callers of {@link RecordDir.locked}, by host and folder. */
const turns = new Map<string, Promise<void>>();

/**
 * Runs a write in a safe folder ({@link secureDir}); once more if another process removed the
 * folder, found empty, in between.
 */
export function inFolder<T>(dir: string, write: () => T): T {
    secureDir(dir);
    try {
        return write();
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        secureDir(dir);
        return write();
    }
}

/**
 * Writes a file that must not exist yet, mode 0600 (or `mode`) whatever the umask: opened exclusively
 * and without following a link, so that a file or link planted under that name is never written through.
 * On the host of the operation under way.
 */
export function writeNewFile(file: string, content: string, mode = 0o600): void {
    hostFiles().writeNew(file, content, mode);
}

/**
 * Makes sure a folder for records is safe to keep root's records in, making what is missing (see
 * {@link localSecureDir}), on the host of the operation under way.
 */
export function secureDir(dir: string): void {
    // A folder this process made or checked on a remote host is not checked again (each check is
    // a round trip) until this process removes it; on this machine the check is cheap and always made.
    const connection = currentConnection();
    const key = `${hostKey(connection)}|${path.resolve(dir)}`;
    if (connection && securedRemote.has(key)) return;
    hostFiles(connection).secureDir(dir);
    if (connection) securedRemote.add(key);
}

const securedRemote = new Set<string>();

/** Re-exported for the tests of this machine's folders. */
export { localSecureDir };

/** Removes a folder and its parents while they are empty, up to (not including) the state directory. */
export function removeEmptyFolders(dir: string): void {
    const top = path.resolve(stateDir());
    for (let current = path.resolve(dir); current.startsWith(`${top}${path.sep}`); current = path.dirname(current)) {
        if (!hostFiles().removeDir(current)) return; // not empty, or gone
        for (const key of securedRemote) if (key.endsWith(`|${current}`) || key.includes(`|${current}${path.sep}`)) securedRemote.delete(key);
    }
}

/** A namespace create under way: the mark it will carry, and when it began (ms since the epoch). */
interface NamespaceCreate {
    mark: string;
    since: number;
}

const namespaceCreates = () => new RecordDir("netns-creates");

/** How far the kernel's coarse clock, which stamps inodes, may lag the real one. */
const COARSE_CLOCK_MARGIN_MS = 20;

/**
 * A journal of namespace creates, so that ownership survives a crash between `ip netns add` and
 * the step that marks the namespace (its loopback alias): each create writes its mark here before
 * the namespace exists, and removes the record once the namespace is marked (or undone).
 */
export const namespaceJournal = {
    /** Records that a create of `name` with `mark` begins now. */
    begin(name: string, mark: string): void {
        namespaceCreates().write(name, JSON.stringify({ mark, since: Date.now() } satisfies NamespaceCreate));
    },

    /** Forgets the create of `name`: it is marked, or undone. */
    end(name: string): void {
        namespaceCreates().release(name);
    },

    /**
     * True when the namespace `name` was made by a create with this mark that was cut off before
     * marking it: the journal holds the mark, and the namespace is no older than the create
     * (a namespace that was there before is never taken over).
     */
    cutOff(name: string, mark: string): boolean {
        const records = namespaceCreates();
        const text = records.read(name);
        if (!text) return false;
        const create = JSON.parse(text) as NamespaceCreate;
        if (create.mark !== mark) return false;
        // When the create began, by the host's own clock: the journal record's time (the host
        // may be another machine, whose clock is not ours).
        const began = hostFiles().stat(records.path(name))?.mtimeMs ?? create.since;
        // The namespace's inode (nsfs) carries its creation time, from the kernel's coarse
        // clock (a tick, up to 10 ms, behind the real one): hence the margin. A namespace made
        // by someone else within that margin before our create began would be taken for ours.
        const info = hostFiles().stat(path.join(NETNS_RUN_DIR, name));
        return info !== undefined && info.mtimeMs >= began - COARSE_CLOCK_MARGIN_MS;
    },
};
