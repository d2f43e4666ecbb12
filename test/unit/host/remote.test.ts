/**
 * The one function that quotes commands for a remote shell, judged by a real POSIX `sh` (the
 * remote side's reading): every word arrives whole, whatever it holds, and nothing runs. The
 * injection payloads of the kernel tests, then random strings (fast-check). Also how SSH's own
 * failures are told, and what `connection` accepts.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { explainSshFailure, remoteCommandLine, shellQuote } from "../../../providers/host/remote";
import { checkConnection } from "../../../providers/validate";
import { shellPayloads } from "../../support/payloads";

/** What `sh -c LINE` hands to a program: the words, one per NUL-terminated record. */
function wordsThroughSh(words: string[]): string[] {
    // printf prints its format once even with no words: callers give at least one.
    const line = remoteCommandLine(["printf", "%s\\0", ...words]);
    const out = execFileSync("sh", ["-c", line], { encoding: "buffer" });
    return out.toString("utf8").split("\0").slice(0, -1);
}

describe("shellQuote: commands for a remote shell", () => {
    const marker = path.join(tmpdir(), `po-remote-quote-${process.pid}`);
    const payloads = [...shellPayloads(marker), "x\\", "it's", "'", "''", "", " ", "-n", "--", "*", "~root", "$HOME", "x#y", "a\tb", "\\'"];

    it("carries every injection payload as one word, and runs none of them", () => {
        rmSync(marker, { force: true });
        expect(wordsThroughSh(payloads)).toEqual(payloads);
        expect(existsSync(marker)).toBe(false);
    });

    it("quotes every word in single quotes, a quote as '\\''", () => {
        expect(shellQuote(["ip", "link", "it's"])).toBe(`'ip' 'link' 'it'\\''s'`);
        expect(remoteCommandLine(["ip", "-j", "link"])).toBe("LC_ALL=C LANG=C exec 'ip' '-j' 'link'");
    });

    it("carries random strings whole (fast-check, 500 runs)", () => {
        fc.assert(
            fc.property(
                fc.array(
                    fc.string({ unit: "binary", maxLength: 12 }).filter((s) => !s.includes("\0")),
                    { minLength: 1, maxLength: 5 },
                ),
                (words) => {
                    // The shell reads bytes; strings with lone surrogates cannot be bytes.
                    const bytes = words.map((w) => Buffer.from(w, "utf8").toString("utf8"));
                    expect(wordsThroughSh(bytes)).toEqual(bytes);
                },
            ),
            { numRuns: 500 },
        );
    });
});

describe("SSH's own failures, told with the host", () => {
    it.each([
        ["ssh: connect to host 192.0.2.12 port 22: Connection refused", /host "192.0.2.12": connection refused/],
        ["ssh: connect to host 192.0.2.12 port 22: Connection timed out", /host "192.0.2.12" is unreachable/],
        ["ssh: connect to host 192.0.2.12 port 22: No route to host", /host "192.0.2.12" is unreachable/],
        ["root@192.0.2.12: Permission denied (publickey).", /host "192.0.2.12": authentication failed/],
        ["No ED25519 host key is known for 192.0.2.12 and you have requested strict checking.\nHost key verification failed.", /its host key is not known/],
        [
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.",
            /its host key does not match the expected one/,
        ],
    ])("%s", (stderr, expected) => {
        expect(explainSshFailure("192.0.2.12", stderr)).toMatch(expected);
    });
});

describe("connection: what check accepts", () => {
    const props = (value: unknown) =>
        checkConnection(value)
            .filter((f) => f !== undefined)
            .map((f) => f!.property);
    it("accepts hosts, users, ports, keys and host keys; refuses what ssh would read as an option or that is not one", () => {
        expect(props(undefined)).toEqual([]);
        expect(props({ host: "192.0.2.11", user: "root", port: 22, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0 comment" })).toEqual([]);
        expect(props({ host: "lab-a.example.org", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----\n" })).toEqual([]);
        expect(props({ host: "-oProxyCommand=touch /tmp/x" })).toEqual(["connection.host"]);
        expect(props({ host: "a b" })).toEqual(["connection.host"]);
        expect(props({ host: "h", user: "-lroot" })).toEqual(["connection.user"]);
        expect(props({ host: "h", user: "root;id" })).toEqual(["connection.user"]);
        expect(props({ host: "h", port: 0 })).toEqual(["connection.port"]);
        expect(props({ host: "h", privateKey: "hunter2" })).toEqual(["connection.privateKey"]);
        expect(props({ host: "h", hostKey: "AAAA" })).toEqual(["connection.hostKey"]);
        expect(props({ host: "h", hostKey: "ssh-ed25519 AAAA\nssh-rsa BBBB" })).toEqual(["connection.hostKey"]);
        expect(props("root@h")).toEqual(["connection"]);
    });

    it("refuses every injection payload as a host or a user (they would reach ssh's own argument vector)", () => {
        for (const payload of [...shellPayloads("/tmp/x"), "-oProxyCommand=sh", "--", "a b", "x\\"]) {
            expect(props({ host: payload }), payload).toEqual(["connection.host"]);
            expect(props({ host: "192.0.2.11", user: payload }), payload).toEqual(["connection.user"]);
        }
    });

    it("never puts the private key in a message", () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-material\n-----END OPENSSH PRIVATE KEY-----";
        const failures = checkConnection({ host: "-x", user: "-y", privateKey: key, hostKey: "bad" });
        expect(JSON.stringify(failures)).not.toContain("secret-material");
    });
});
