/**
 * The helper process that starts host programs (providers/host/spawner.ts), through runCommand as
 * the providers use it: outputs, exit codes, stdin, a missing program, the environment, many at
 * once, large outputs, a helper that dies, and a process that still exits when it is idle.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HostCommandError, runCommand } from "../../../providers/host";
import { helperPid } from "../../../providers/host/spawner";

const REPO = path.resolve(__dirname, "../../..");

describe("the helper process that starts host programs", () => {
    const savedFoo = process.env.OVERLAY_SPAWNER_TEST;
    afterEach(() => {
        if (savedFoo === undefined) delete process.env.OVERLAY_SPAWNER_TEST;
        else process.env.OVERLAY_SPAWNER_TEST = savedFoo;
    });

    it("runs programs in a process of its own, returning their output", async () => {
        const { stdout } = await runCommand({ argv: ["printf", "%s\\n", "a b", "$(id)"] });
        expect(stdout).toBe("a b\n$(id)");
        const pid = helperPid();
        expect(pid).toBeGreaterThan(0);
        expect(pid).not.toBe(process.pid);
        // The program's parent is the helper, not this process.
        const { stdout: parent } = await runCommand({ argv: ["sh", "-c", "echo $PPID"] });
        expect(Number(parent)).toBe(pid);
    });

    it("feeds stdin and reports a failure with its exit code and stderr", async () => {
        expect((await runCommand({ argv: ["cat"], input: "line 1\nline 2\n" })).stdout).toBe("line 1\nline 2");
        const failure = await runCommand({ argv: ["ls", "/no/such/dir"], subject: "the test's directory" }).catch((e) => e);
        expect(failure).toBeInstanceOf(HostCommandError);
        expect(failure.exitCode).toBe(2);
        expect(failure.stderr).toMatch(/No such file or directory/);
    });

    it("reports a program that is not installed as such", async () => {
        const failure = await runCommand({ argv: ["no-such-program-pulumi-overlay"] }).catch((e) => e);
        expect(failure).toBeInstanceOf(HostCommandError);
        expect(failure.message).toMatch(/no-such-program-pulumi-overlay/);
        expect((failure.cause as { code?: string }).code).toBe("ENOENT");
    });

    it("gives programs this process's environment as it is now, in the C locale", async () => {
        process.env.OVERLAY_SPAWNER_TEST = "first";
        expect((await runCommand({ argv: ["printenv", "OVERLAY_SPAWNER_TEST"] })).stdout).toBe("first");
        process.env.OVERLAY_SPAWNER_TEST = "second";
        expect((await runCommand({ argv: ["printenv", "OVERLAY_SPAWNER_TEST"] })).stdout).toBe("second");
        expect((await runCommand({ argv: ["printenv", "LC_ALL"] })).stdout).toBe("C");
    });

    it("runs many at once, each reply to its own command, large outputs whole", async () => {
        const results = await Promise.all(Array.from({ length: 60 }, (_, i) => runCommand({ argv: ["printf", "%s", `reply ${i}`] })));
        expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 60 }, (_, i) => `reply ${i}`));
        const big = await runCommand({ argv: ["head", "-c", "3000000", "/dev/zero"] });
        expect(big.stdout.length).toBe(3_000_000);
    });

    it("starts again after the helper is killed", async () => {
        await runCommand({ argv: ["true"] });
        const first = helperPid()!;
        process.kill(first, "SIGKILL");
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect((await runCommand({ argv: ["printf", "back"] })).stdout).toBe("back");
        expect(helperPid()).not.toBe(first);
    });

    it("does not keep a process alive once its commands are done", () => {
        // A script that runs one command and then has nothing left to do must exit by itself.
        const script = `require("./providers/host").runCommand({ argv: ["printf", "done"] }).then((r) => process.stdout.write(r.stdout));`;
        const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: REPO, encoding: "utf8", timeout: 20_000 });
        expect(out).toBe("done");
    });
});
