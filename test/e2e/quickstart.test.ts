/**
 * The README's Quick start as a new user meets it: its first command line, run from a fresh clone
 * of this repository with no Pulumi CLI on the machine, brings the lab up through the test engine,
 * pings across it and out through the NAT, and the down command it prints leaves nothing behind.
 * (CI runs the second line itself: .ci/run.)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { afterEach, expect, it } from "vitest";
import { netnsList } from "../../providers/host";
import { describeKernel } from "../support/kernel";
import { PROJECTS_DIR, REPO_ROOT } from "../support/project";
import { runId } from "../support/sandbox";

/** The command lines of the README's Quick start block. */
export function quickStartLines(readme: string): string[] {
    const section = readme.slice(readme.indexOf("## Quick start"));
    const block = /```sh\n([\s\S]*?)```/.exec(section);
    return block ? block[1].split("\n").filter((line) => line.trim() !== "") : [];
}

describeKernel("the README's Quick start", () => {
    let work: string | undefined;
    afterEach(() => {
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("has exactly two command lines: the demo and the tests", () => {
        expect(quickStartLines(readFileSync(path.join(REPO_ROOT, "README.md"), "utf8"))).toEqual(["bash scripts/demo.sh", "bash scripts/test.sh"]);
    });

    it("its first line, from a fresh clone without a Pulumi CLI, brings the lab up through the engine, pings, and its down command leaves nothing", () => {
        mkdirSync(PROJECTS_DIR, { recursive: true });
        work = mkdtempSync(path.join(PROJECTS_DIR, `${runId()}-quickstart-`));
        const clone = path.join(work, "clone");
        const git = spawnSync("git", ["clone", "--quiet", "--no-hardlinks", REPO_ROOT, clone], { encoding: "utf8" });
        expect(git.status, git.stderr).toBe(0);
        const [first] = quickStartLines(readFileSync(path.join(clone, "README.md"), "utf8"));
        const prefix = `${runId()}q-`;
        // No Pulumi CLI: PATH keeps only the folders without one.
        const searchPath = (process.env.PATH ?? "")
            .split(":")
            .filter((dir) => dir !== "" && !existsSync(path.join(dir, "pulumi")))
            .join(":");
        const env = { ...process.env, PATH: searchPath, DEMO_DIR: path.join(work, "demo"), DEMO_PREFIX: prefix, PULUMI: "" };
        delete (env as Record<string, string | undefined>).PULUMI;
        const up = spawnSync("bash", ["-c", first], { cwd: clone, env, encoding: "utf8", timeout: 600_000 });
        const output = `${up.stdout}\n${up.stderr}`;
        expect(up.status, output.slice(-3000)).toBe(0);
        expect(output).toContain("no Pulumi CLI on PATH");
        expect(output).toContain("https://www.pulumi.com/docs/install/");
        expect(output).toMatch(/addresses: \{"c1":"10\.0\.0\.2","c2":"10\.0\.0\.3"\}/);
        expect(output.match(/1 packets transmitted, 1 received/g)).toHaveLength(2);
        expect(netnsList().filter((name) => name.startsWith(prefix)).length).toBeGreaterThan(0);

        const down = /take it all down:\s+(.+)$/m.exec(output)?.[1];
        expect(down).toBe(`DEMO_DIR=${path.join(work, "demo")} DEMO_PREFIX=${prefix} bash scripts/demo.sh down`);
        const teardown = spawnSync("bash", ["-c", down!], { cwd: clone, env, encoding: "utf8", timeout: 300_000 });
        expect(teardown.status, `${teardown.stdout}\n${teardown.stderr}`.slice(-3000)).toBe(0);
        expect(netnsList().filter((name) => name.startsWith(prefix))).toEqual([]);
        expect(existsSync(path.join(work, "demo"))).toBe(false);
        // The clone's tracked files are as they were: the engine linked the checkout into an ignored folder.
        expect(spawnSync("git", ["status", "--porcelain"], { cwd: clone, encoding: "utf8" }).stdout).toBe("");
    }, 900_000);
});
