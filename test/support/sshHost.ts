/**
 * Test "machines" for the multi-host tests: each is a network namespace on an underlay bridge
 * (TEST-NET 192.0.2.0/24) running its own sshd (Debian's openssh-server) inside a private mount
 * namespace with its own tmpfs on /run/netns and on /run/pulumi-overlay, so each host has its own
 * network namespaces and records, as a real machine would. A host key and an authorized key are
 * made for the run. Nothing touches the machine's own network namespace.
 *
 *   [<prefix>-u] bridge "ubr" ── veth ── [<prefix>-a] 192.0.2.11, sshd
 *                             ── veth ── [<prefix>-b] 192.0.2.12, sshd
 *
 * The client side (the engine and its providers) runs inside the underlay namespace, the only
 * place that reaches the hosts: see {@link runEngineIn}.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ipBatchCommand, netnsAdd, runCommand } from "../../providers/host";
import type { Connection } from "../../providers/host/remote";
import { REPO_ROOT } from "./project";

/** One test machine. */
export interface SshHost {
    /** Its name (`a`). */
    name: string;
    /** Its network namespace on the underlay. */
    netns: string;
    /** Its underlay address. */
    address: string;
    /** How to reach it: host, user root, the run's private key, the host's public key. */
    connection: Required<Pick<Connection, "host" | "user" | "privateKey" | "hostKey">>;
    /** Logins sshd has accepted so far. */
    logins(): number;
    /** Runs a command inside the host (its mount and network namespaces): `nsenter -t PID -m -n ARGV`. */
    exec(argv: string[]): string;
    /** Stops sshd: the host's namespaces go with its mount namespace. */
    stop(): Promise<void>;
    /** Starts sshd again (after stop), with the same keys; its namespaces are gone. */
    start(): Promise<void>;
    /** Stops sshd and removes the host's keys. */
    remove(): Promise<void>;
}

/** The underlay: a namespace with a bridge the hosts' uplinks join. */
export async function createUnderlay(netns: string): Promise<void> {
    await netnsAdd(netns);
    await runCommand(
        ipBatchCommand(netns, [
            ["link", "set", "lo", "up"],
            ["link", "add", "ubr", "type", "bridge"],
            ["addr", "add", "192.0.2.1/24", "dev", "ubr"],
            ["link", "set", "ubr", "up"],
        ]),
    );
}

/** A client key pair made for the run: the private key's text and the public key's line. */
export function makeClientKey(): { privateKey: string; publicKey: string } {
    const dir = mkdtempSync(path.join(os.tmpdir(), "overlay-client-"));
    try {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "client")]);
        return { privateKey: readFileSync(path.join(dir, "client"), "utf8"), publicKey: readFileSync(path.join(dir, "client.pub"), "utf8") };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** Makes a host on the underlay and starts its sshd, which lets the client key in as root. */
export async function startSshHost(
    underlay: string,
    netns: string,
    name: string,
    address: string,
    index: number,
    client: { privateKey: string; publicKey: string } = makeClientKey(),
): Promise<SshHost> {
    const dir = mkdtempSync(path.join(os.tmpdir(), `overlay-sshhost-${name}-`));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
    writeFileSync(path.join(dir, "authorized_keys"), client.publicKey, { mode: 0o600 });
    writeFileSync(
        path.join(dir, "sshd_config"),
        [
            "Port 22",
            `ListenAddress ${address}`,
            `HostKey ${path.join(dir, "host_key")}`,
            `PidFile ${path.join(dir, "sshd.pid")}`,
            `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "MaxSessions 100",
            "MaxStartups 100",
            "LogLevel VERBOSE",
            "",
        ].join("\n"),
    );
    await netnsAdd(netns);
    await runCommand(
        ipBatchCommand(underlay, [
            ["link", "add", `h${index}`, "type", "veth", "peer", "name", "eth0", "netns", netns],
            ["link", "set", `h${index}`, "master", "ubr", "up"],
        ]),
    );
    await runCommand(
        ipBatchCommand(netns, [
            ["link", "set", "lo", "up"],
            ["addr", "add", `${address}/24`, "dev", "eth0"],
            ["link", "set", "eth0", "up"],
        ]),
    );
    // No duplicate address detection inside the host: its snapshots stay comparable.
    let sshd: ChildProcess | undefined;
    let log = "";
    const start = async () => {
        log = "";
        const script = [
            "set -e",
            "mount -t tmpfs -o mode=755 tmpfs /run/netns 2>/dev/null || { mkdir -p /run/netns && mount -t tmpfs -o mode=755 tmpfs /run/netns; }",
            "mkdir -p /run/pulumi-overlay /run/sshd",
            "mount -t tmpfs -o mode=700 tmpfs /run/pulumi-overlay",
            "sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0",
            `exec /usr/sbin/sshd -D -e -f ${path.join(dir, "sshd_config")}`,
        ].join("\n");
        sshd = spawn("ip", ["netns", "exec", netns, "unshare", "-m", "--propagation", "private", "sh", "-c", script], { stdio: ["ignore", "ignore", "pipe"] });
        await new Promise<void>((resolve, reject) => {
            sshd!.stderr!.on("data", (d: Buffer) => {
                log += d.toString();
                if (log.includes("Server listening")) resolve();
            });
            sshd!.once("exit", (code) => reject(new Error(`sshd of host ${name} exited (${code}): ${log}`)));
        });
    };
    await start();
    const pid = () => sshd!.pid!;
    const host: SshHost = {
        name,
        netns,
        address,
        connection: {
            host: address,
            user: "root",
            privateKey: client.privateKey,
            hostKey: readFileSync(path.join(dir, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" "),
        },
        logins: () => (log.match(/Accepted publickey for root/g) ?? []).length,
        exec: (argv) => execFileSync("nsenter", ["-t", String(pid()), "-m", "-n", ...argv], { encoding: "utf8" }),
        async stop() {
            if (!sshd || sshd.exitCode !== null || sshd.signalCode !== null) return;
            // Every process of the host's mount namespace (sshd, the sessions it forked) goes, and
            // with the last one the namespace and the network namespaces mounted in it.
            const mnt = readlinkSync(`/proc/${sshd.pid}/ns/mnt`);
            const exited = new Promise((resolve) => sshd!.once("exit", resolve));
            for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
                try {
                    if (readlinkSync(`/proc/${entry}/ns/mnt`) === mnt) process.kill(Number(entry), "SIGKILL");
                } catch {
                    // gone meanwhile
                }
            }
            await exited;
        },
        start,
        async remove() {
            await host.stop();
            rmSync(dir, { force: true, recursive: true });
        },
    };
    return host;
}

/**
 * Runs the test engine's command line inside a namespace (the underlay, the only place that
 * reaches the hosts), as `npm run engine` would; returns its printed lines and the JSON summary.
 */
export function runEngineIn(
    netns: string | undefined,
    args: string[],
    env: Record<string, string> = {},
): Promise<{ code: number; lines: string[]; summary?: Record<string, number> }> {
    const tsNode = require.resolve("ts-node/register/transpile-only");
    return new Promise((resolve) => {
        // Undefined: here (`ip netns exec` gives its child a mount namespace of its own, where
        // namespaces that child adds stay: a local lab is run without it).
        const argv = [process.execPath, "-r", tsNode, path.join(REPO_ROOT, "test/engine/cli.ts"), ...args];
        const child = spawn(netns === undefined ? argv[0] : "ip", netns === undefined ? argv.slice(1) : ["netns", "exec", netns, ...argv], {
            cwd: REPO_ROOT,
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        child.once("exit", (code) => {
            const lines = out.split("\n").filter((l) => l.trim() !== "");
            let summary: Record<string, number> | undefined;
            try {
                summary = JSON.parse(lines.at(-1) ?? "");
            } catch {
                summary = undefined;
            }
            resolve({ code: code ?? 1, lines, summary });
        });
    });
}

/** The test engine's command line for an operation on a project: its stack, its state file beside it, and the config. */
export function engineArgs(operation: string, project: string, stack: string, config: Record<string, string>, extra: string[] = []): string[] {
    const settings = Object.entries(config).flatMap(([k, v]) => ["--config", `${k}=${v}`]);
    return [operation, project, "--stack", stack, "--state", path.join(project, `state-${stack}.json`), ...settings, ...extra];
}

/** Runs host-layer calls (./remoteDriver.ts) inside a namespace; returns their results. */
export function runRemoteCalls(
    netns: string,
    calls: { connection: Connection; command: { argv: string[]; input?: string } }[],
    env: Record<string, string> = {},
): { ok: boolean; stdout?: string; message?: string; kind?: string }[] {
    const tsNode = require.resolve("ts-node/register/transpile-only");
    const out = execFileSync(
        "ip",
        ["netns", "exec", netns, process.execPath, "-r", tsNode, path.join(REPO_ROOT, "test/support/remoteDriver.ts"), JSON.stringify(calls)],
        {
            cwd: REPO_ROOT,
            env: { ...process.env, ...env },
            encoding: "utf8",
        },
    );
    return JSON.parse(out.trim().split("\n").at(-1)!);
}
