/**
 * The remote executor against a real sshd (a test host on an underlay, see ../support/sshHost.ts):
 * commands arrive as the words they were, injection payloads run nothing there, the private key
 * never reaches the command log or an error, and each failure of the connection names the host:
 * refused, authentication failed, host key unknown or changed, a program missing there.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { describeKernel, useSandbox } from "../support/kernel";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";
import { type SshHost, createUnderlay, engineArgs, makeClientKey, runEngineIn, runRemoteCalls, startSshHost } from "../support/sshHost";

describeKernel("commands on a remote host over SSH", () => {
    const sb = useSandbox();
    let host: SshHost;
    let underlay: string;
    beforeEach(async () => {
        underlay = sb.ns("u");
        await createUnderlay(underlay);
        host = await startSshHost(underlay, sb.ns("a"), "a", "192.0.2.11", 0);
    });
    afterEach(async () => {
        await host.remove();
    });

    it("runs argument vectors whole: payloads arrive as words and run nothing; the key stays out of the log", async () => {
        const marker = path.join(tmpdir(), `po-remote-${process.pid}`);
        const payloads = [`$(touch ${marker})`, `x;touch ${marker}`, `'x''sh''-c''touch ${marker}'`, `\`touch ${marker}\``, "it's", "", " a b ", "x\ny", "*"];
        const log = path.join(tmpdir(), `po-remote-log-${process.pid}`);
        rmSync(log, { force: true });
        const [words, stdin, ip] = runRemoteCalls(
            underlay,
            [
                { connection: host.connection, command: { argv: ["printf", "%s|", ...payloads] } },
                { connection: host.connection, command: { argv: ["cat"], input: "fed on stdin\n" } },
                { connection: host.connection, command: { argv: ["ip", "-j", "addr", "show", "eth0"] } },
            ],
            { PULUMI_OVERLAY_COMMAND_LOG: log },
        );
        expect(words).toEqual({ ok: true, stdout: `${payloads.join("|")}|` });
        expect(stdin).toEqual({ ok: true, stdout: "fed on stdin" });
        expect(JSON.parse(ip.stdout!)[0].addr_info[0].local).toBe("192.0.2.11"); // it ran there, not here
        expect(host.exec(["sh", "-c", `test -e ${marker} && echo yes || echo no`]).trim()).toBe("no");
        expect(existsSync(marker)).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, 200)); // sshd's log, read as it comes
        expect(host.logins()).toBe(1); // three commands, one connection
        const logged = readFileSync(log, "utf8");
        expect(logged).toContain('"host":"192.0.2.11"');
        expect(logged).not.toContain("PRIVATE KEY");
        rmSync(log, { force: true });
    });

    it("names the host in every failure of the connection, and never prints the key", () => {
        const other = makeClientKey();
        const wrongHostKey = makeClientKey().publicKey.split(" ").slice(0, 2).join(" ");
        const results = runRemoteCalls(underlay, [
            { connection: { ...host.connection, port: 2222 }, command: { argv: ["true"] } },
            { connection: { ...host.connection, privateKey: other.privateKey }, command: { argv: ["true"] } },
            { connection: { ...host.connection, hostKey: wrongHostKey }, command: { argv: ["true"] } },
            { connection: { host: host.address, user: "root", privateKey: host.connection.privateKey }, command: { argv: ["true"] } },
            { connection: host.connection, command: { argv: ["no-such-tool", "x"] } },
            {
                connection: { ...host.connection, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key\n-----END OPENSSH PRIVATE KEY-----\n" },
                command: { argv: ["true"] },
            },
        ]);
        expect(results.map((r) => r.ok)).toEqual([false, false, false, false, false, false]);
        expect(results[0].message).toMatch(/host "192\.0\.2\.11": connection refused/);
        expect(results[1].message).toMatch(/host "192\.0\.2\.11": authentication failed/);
        expect(results[2].message).toMatch(/host "192\.0\.2\.11": its host key does not match the expected one/);
        expect(results[3].message).toMatch(/host "192\.0\.2\.11": its host key is not known/); // no hostKey, and not in known_hosts
        expect(results[4].message).toMatch(/"no-such-tool" is not installed on host "192\.0\.2\.11"/);
        expect(results[5].message).toMatch(/connection\.privateKey was refused by ssh-add/);
        for (const r of results) {
            expect(r.message).not.toContain("PRIVATE KEY");
            expect(r.message).not.toContain(host.connection.privateKey.split("\n")[1]);
        }
    });

    it("a BridgeNetwork with egress, names and its proof goes up on the remote host and leaves it as it was", async () => {
        const project = makeProject({ copyFrom: path.join(REPO_ROOT, "test/e2e/programs/remotebridge") });
        try {
            const state = () => ({
                namespaces: host.exec(["ip", "netns", "list"]).trim(),
                links: host.exec(["ip", "-br", "link"]).trim(),
                rules: host
                    .exec(["iptables-save"])
                    .split("\n")
                    .filter((l) => l.startsWith("-A") || /^:\S+ DROP/.test(l)),
                forward: host.exec(["sysctl", "-n", "net.ipv4.ip_forward"]).trim(),
                records: host.exec(["sh", "-c", "find /run/pulumi-overlay -type f | sort"]).trim(),
            });
            const before = state();
            const config = { connection: JSON.stringify(host.connection), uplink: "eth0", prefix: `${sb.prefix}-` };
            const args = (op: string) => engineArgs(op, project, "remote", config);
            const up = await runEngineIn(underlay, args("up"));
            expect(up.code, up.lines.join("\n")).toBe(0);
            expect(up.lines.join("\n")).toContain('"c1 (10.88.0.2) -> c2 (10.88.0.3)"');
            const c1 = `${sb.prefix}-c1`;
            // Out through the remote host's MASQUERADE to the underlay, which has no route back to 10.88.0.0/24.
            expect(host.exec(["ip", "netns", "exec", c1, "ping", "-c", "1", "-W", "2", "192.0.2.1"])).toContain("1 received");
            expect(host.exec(["ip", "netns", "exec", c1, "getent", "-s", "files", "hosts", "c2"])).toContain("10.88.0.3");
            expect(host.exec(["iptables-save", "-t", "nat"])).toMatch(/-A POSTROUTING -s 10\.88\.0\.0\/24 -o eth0 .*-j MASQUERADE/);
            const destroy = await runEngineIn(underlay, args("destroy"));
            expect(destroy.code, destroy.lines.join("\n")).toBe(0);
            expect(state()).toEqual(before);
            expect(host.exec(["sh", "-c", `ls /etc/netns | grep -c '^${sb.prefix}' || true`]).trim()).toBe("0");
        } finally {
            removeProject(project);
        }
    }, 120_000);
});
