/**
 * The files of the host an operation works on: this machine's, or a remote host's over the
 * operation's SSH connection (./remote.ts). Records, batch files, hosts files and the namespace
 * list live on the host their objects live on. The operations are synchronous (the record code
 * reads and writes in place); on a remote host each is one small `sh` script through the
 * connection's master, with the paths as quoted positional parameters.
 * @module
 */
import {
    closeSync,
    constants,
    fchmodSync,
    lstatSync,
    mkdirSync,
    openSync,
    readFileSync,
    readdirSync,
    realpathSync,
    renameSync,
    rmSync,
    rmdirSync,
    statSync,
    writeSync,
} from "node:fs";
import * as path from "node:path";
import { type Connection, currentConnection, runRemoteScriptSync } from "./remote";

/** File operations on one host. */
export interface HostFiles {
    /** A file's text; undefined when there is none; a link is refused (never followed). */
    read(file: string): string | undefined;
    /** Writes a file that must not exist yet, never through a link; throws an error with code `EEXIST` when it exists. */
    writeNew(file: string, content: string, mode: number): void;
    /** Renames a file over another. */
    rename(from: string, to: string): void;
    /** Removes a file; gone is success. */
    remove(file: string): void;
    /** Removes an empty folder; false when it is not empty or gone. */
    removeDir(dir: string): boolean;
    /** The names in a folder; none when it is missing. */
    list(dir: string): string[];
    /** The regular files of a folder (not links) and their text, in one go; none when it is missing. */
    readAll(dir: string): Map<string, string>;
    /** A file's inode and modification time (ms), or undefined when it is gone. */
    stat(file: string): { ino: number; mtimeMs: number } | undefined;
    /** Makes a folder safe for root's records (see {@link localSecureDir}), making what is missing. */
    secureDir(dir: string): void;
    /** Makes a folder and its parents with the mode, when missing (for /etc/netns/NS). */
    makeDir(dir: string, mode: number): void;
}

/** The files of the host the operation under way works on. */
export function hostFiles(connection: Connection | undefined = currentConnection()): HostFiles {
    return connection ? remoteFiles(connection) : localFiles;
}

function errno(code: string, message: string): NodeJS.ErrnoException {
    return Object.assign(new Error(message), { code });
}

/** This machine's files, through node:fs. */
export const localFiles: HostFiles = {
    read(file) {
        let fd: number;
        try {
            fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === "ENOENT" || code === "ENOTDIR") return undefined;
            if (code === "ELOOP") throw new Error(`${file} is a symbolic link, which pulumi-overlay never makes: remove it`);
            throw err;
        }
        try {
            return readFileSync(fd, "utf8");
        } finally {
            closeSync(fd);
        }
    },
    writeNew(file, content, mode) {
        const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
        try {
            fchmodSync(fd, mode);
            writeSync(fd, content);
        } finally {
            closeSync(fd);
        }
    },
    rename: (from, to) => renameSync(from, to),
    remove: (file) => rmSync(file, { force: true }),
    removeDir(dir) {
        try {
            rmdirSync(dir);
            return true;
        } catch {
            return false;
        }
    },
    list(dir) {
        try {
            return readdirSync(dir);
        } catch {
            return [];
        }
    },
    readAll(dir) {
        const out = new Map<string, string>();
        for (const name of localFiles.list(dir)) {
            try {
                const text = localFiles.read(path.join(dir, name));
                if (text !== undefined) out.set(name, text);
            } catch {
                // a link or a folder: not a record
            }
        }
        return out;
    },
    stat(file) {
        try {
            const info = statSync(file);
            return { ino: info.ino, mtimeMs: info.mtimeMs };
        } catch {
            return undefined;
        }
    },
    secureDir: (dir) => localSecureDir(dir),
    makeDir: (dir, mode) => void mkdirSync(dir, { recursive: true, mode }),
};

/** This process's user id (root in practice). */
function uid(): number {
    return typeof process.getuid === "function" ? process.getuid() : 0;
}

/**
 * Makes sure a folder for records is safe to keep root's records in, making what is missing.
 * Every existing folder on its path must be owned by root or this user and not writable by
 * others (unless sticky, as /tmp is); links on the path are followed only when root or this
 * user owns them. Folders it makes are mode 0700, set explicitly rather than by the umask. A
 * folder that fails is refused with the reason: a record or batch file written through a place
 * another user controls could be read, swapped or redirected.
 */
export function localSecureDir(dir: string): void {
    let current = path.parse(path.resolve(dir)).root;
    for (const part of path.resolve(dir).split(path.sep).filter(Boolean)) {
        const next = path.join(current, part);
        let info = lstatOrUndefined(next);
        if (!info) {
            try {
                mkdirSync(next, { mode: 0o700 });
                chmodDir(next);
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
            }
            info = lstatSync(next);
        }
        if (info.isSymbolicLink()) {
            if (info.uid !== 0 && info.uid !== uid()) throw unsafe(next, `is a symbolic link owned by user ${info.uid}`);
            current = realpathSync(next);
            info = statSync(current);
        } else current = next;
        if (!info.isDirectory()) throw unsafe(current, "is not a folder");
        if (info.uid !== 0 && info.uid !== uid()) throw unsafe(current, `is owned by user ${info.uid}, not by root`);
        if ((info.mode & 0o022) !== 0 && (info.mode & 0o1000) === 0)
            throw unsafe(current, `is writable by other users (mode ${(info.mode & 0o7777).toString(8)})`);
    }
}

function chmodDir(dir: string): void {
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
        fchmodSync(fd, 0o700);
    } finally {
        closeSync(fd);
    }
}

function lstatOrUndefined(file: string) {
    try {
        return lstatSync(file);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
    }
}

function unsafe(dir: string, why: string): Error {
    return new Error(
        `${dir} ${why}: pulumi-overlay keeps root's records only in folders that no other user can change (set PULUMI_OVERLAY_STATE_DIR to such a folder, or fix the owner and mode)`,
    );
}

/**
 * A remote host's files: each operation one `sh -c SCRIPT sh ARGS...` through the connection.
 * The scripts use only POSIX sh and coreutils. Exclusive creates use the shell's noclobber
 * (`set -C`), which creates with O_EXCL and so never writes through a link.
 */
function remoteFiles(connection: Connection): HostFiles {
    const run = (script: string, args: string[], input?: string) => runRemoteScriptSync(connection, script, args, input);
    const fail = (what: string, result: { stderr: string }) => new Error(`host "${connection.host}": ${what}: ${result.stderr.trim() || "failed"}`);
    return {
        read(file) {
            const r = run('[ -L "$1" ] && exit 3; [ -e "$1" ] || exit 2; cat -- "$1"', [file]);
            if (r.status === 2) return undefined;
            if (r.status === 3) throw new Error(`${file} on host "${connection.host}" is a symbolic link, which pulumi-overlay never makes: remove it`);
            if (r.status !== 0) throw fail(`reading ${file}`, r);
            return r.stdout;
        },
        writeNew(file, content, mode) {
            const r = run(
                '{ [ -e "$1" ] || [ -L "$1" ]; } && exit 17; set -C; umask 077; cat > "$1" || exit 1; chmod "$2" -- "$1"',
                [file, mode.toString(8)],
                content,
            );
            if (r.status === 17) throw errno("EEXIST", `${file} exists on host "${connection.host}"`);
            if (r.status !== 0) throw fail(`writing ${file}`, r);
        },
        rename(from, to) {
            const r = run('mv -f -- "$1" "$2"', [from, to]);
            if (r.status !== 0) throw fail(`renaming ${from}`, r);
        },
        remove(file) {
            const r = run('rm -f -- "$1"', [file]);
            if (r.status !== 0) throw fail(`removing ${file}`, r);
        },
        removeDir: (dir) => run('rmdir -- "$1" 2>/dev/null', [dir]).status === 0,
        list(dir) {
            const r = run('[ -d "$1" ] || exit 0; ls -A1 -- "$1"', [dir]);
            return r.status === 0 ? r.stdout.split("\n").filter((n) => n !== "") : [];
        },
        readAll(dir) {
            // name NUL text NUL, for each regular file: one round trip for a whole pool.
            const r = run(
                'cd -- "$1" 2>/dev/null || exit 0; for f in * .[!.]*; do [ -f "$f" ] && [ ! -L "$f" ] && { printf "%s\\0" "$f"; cat -- "$f"; printf "\\0"; }; done; exit 0',
                [dir],
            );
            if (r.status !== 0) throw fail(`reading ${dir}`, r);
            const parts = r.stdout.split("\0");
            const out = new Map<string, string>();
            for (let i = 0; i + 1 < parts.length; i += 2) out.set(parts[i], parts[i + 1]);
            return out;
        },
        stat(file) {
            const r = run('stat -L -c "%i %.3Y" -- "$1"', [file]);
            if (r.status !== 0) return undefined;
            const [ino, seconds] = r.stdout.trim().split(" ");
            return { ino: Number(ino), mtimeMs: Number(seconds) * 1000 };
        },
        secureDir(dir) {
            // Made 0700 when missing; then its owner must be root or the user we log in as, and
            // no one else may write to it.
            const r = run('[ -L "$1" ] && exit 5; [ -d "$1" ] || mkdir -p -m 700 -- "$1" || exit 1; stat -c "%u %a" -- "$1"; id -u', [dir]);
            if (r.status === 5) throw unsafe(dir, `on host "${connection.host}" is a symbolic link`);
            if (r.status !== 0) throw fail(`making ${dir}`, r);
            const [owner, mode, me] = r.stdout.trim().split(/\s+/);
            if (owner !== "0" && owner !== me) throw unsafe(dir, `on host "${connection.host}" is owned by user ${owner}`);
            if ((Number.parseInt(mode, 8) & 0o022) !== 0) throw unsafe(dir, `on host "${connection.host}" is writable by other users (mode ${mode})`);
        },
        makeDir(dir, mode) {
            const r = run('[ -d "$1" ] || mkdir -p -m "$2" -- "$1"', [dir, mode.toString(8)]);
            if (r.status !== 0) throw fail(`making ${dir}`, r);
        },
    };
}
