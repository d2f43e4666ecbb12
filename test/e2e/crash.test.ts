/**
 * Crash: the engine is killed (SIGKILL) at several points during the up of a 10-container
 * overlay; the next up converges under the CLI's rules (the cut-off creates stay pending and are
 * created again, each taking over what its twin left by its derived mark), and destroy leaves the
 * host exactly as before.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { netnsList } from "../../providers/host";
import { engineFor } from "../support/engine";
import { describeKernel, useSandbox } from "../support/kernel";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";
import { natRules } from "../support/lifecycle";
import { INTERNET, ping, snapshot } from "../support/sandbox";

/** Starts `up` in its own process group and SIGKILLs the engine once it has begun `kills` creates. */
async function upKilledAfter(args: string[], creates: number, env: Record<string, string> = {}): Promise<string> {
    const child: ChildProcess = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "test/engine/cli.ts", "up", ...args, "--skip-preview"], {
        cwd: REPO_ROOT,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...env },
    });
    let output = "";
    let seen = 0;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        seen = (output.match(/^\+ create /gm) ?? []).length;
        if (seen >= creates && child.exitCode === null && !child.killed) child.kill("SIGKILL");
    });
    await exited;
    // The engine is gone; its provider server and program finish what they had started (as plugins
    // do when the CLI dies) and are then reaped.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    try {
        process.kill(-child.pid!, "SIGKILL");
    } catch {
        // the group is gone already
    }
    return output;
}

describeKernel("crash: the engine killed during up", () => {
    const sb = useSandbox();
    let project: string;
    beforeEach(async () => {
        project = makeProject({ copyFrom: path.join(REPO_ROOT, "bench/program") });
    });
    afterEach(async () => {
        removeProject(project);
    });

    // Containers declared as four resources each (44 in all), and as one Endpoint each (14).
    const shapes = [
        { shape: "resources", total: 44, kills: [3, 15, 33], pending: 12 },
        { shape: "endpoints", total: 14, kills: [3, 9], pending: 6 },
    ];

    for (const { shape, total, kills } of shapes) {
        it(`converges on the next up after a SIGKILL at several points, and destroy leaves the host as before (${shape})`, async () => {
            const config = { containers: "10", hostNamespace: sb.hostNs, prefix: `${sb.prefix}-`, uplink: sb.uplink, shape };
            const before = await snapshot(sb.hostNs);
            const namespacesBefore = netnsList().filter((name) => name.startsWith(sb.prefix));
            for (const killAt of kills) {
                const state = path.join(project, `state-${killAt}.json`);
                const args = [project, "--stack", "test", "--state", state, ...Object.entries(config).flatMap(([k, v]) => ["--config", `${k}=${v}`])];
                const partial = await upKilledAfter(args, killAt);
                expect(partial).not.toMatch(/^\{"create"/m); // it did not get to the end

                const engine = engineFor(project, state, config);
                const up = await engine("up");
                expect(up.summary.create + up.summary.same).toBe(total); // the cut-off creates run again
                expect(await ping(sb.ns("c1"), "10.0.0.4")).toBe(true); // c1 -> c2
                expect(await ping(sb.ns("c10"), INTERNET.gateway)).toBe(true);
                expect((await engine("up")).summary.same).toBe(total);

                await engine("destroy");
                expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);
                expect(await snapshot(sb.hostNs)).toEqual(before);
            }
        });
    }

    it("under PULUMI_SKIP_CHECKPOINTS: the killed up wrote no state, and the next up makes every resource again, taking over what the killed one made", async () => {
        // The CLI's experimental flag saves the state only at the end of an operation: a crash
        // loses the record of every step of it, so ownership rests on the marks alone.
        const config = { containers: "10", hostNamespace: sb.hostNs, prefix: `${sb.prefix}-`, uplink: sb.uplink, shape: "endpoints" };
        const before = await snapshot(sb.hostNs);
        const namespacesBefore = netnsList().filter((name) => name.startsWith(sb.prefix));
        const state = path.join(project, "state.json");
        const args = [project, "--stack", "test", "--state", state, ...Object.entries(config).flatMap(([k, v]) => ["--config", `${k}=${v}`])];
        const partial = await upKilledAfter(args, 9, { PULUMI_EXPERIMENTAL: "true", PULUMI_SKIP_CHECKPOINTS: "true" });
        expect(partial).not.toMatch(/^\{"create"/m);
        expect(existsSync(state)).toBe(false);
        expect(netnsList().filter((name) => name.startsWith(sb.prefix)).length).toBeGreaterThan(namespacesBefore.length); // it made some

        const engine = engineFor(project, state, config, { skipCheckpoints: true });
        const up = await engine("up");
        expect(up.summary).toMatchObject({ create: 14, update: 0, replace: 0, delete: 0 });
        expect((await natRules(sb.hostNs)).match(/-j MASQUERADE/g)).toHaveLength(1); // taken over, not added twice
        expect(await ping(sb.ns("c1"), "10.0.0.4")).toBe(true);
        expect(await ping(sb.ns("c10"), INTERNET.gateway)).toBe(true);
        expect((await engine("up")).summary.same).toBe(14);
        await engine("destroy");
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespacesBefore);
        expect(await snapshot(sb.hostNs)).toEqual(before);
    });

    for (const { shape, pending } of shapes) {
        it(`creates again, taking over by their marks, objects whose creates finished after the engine stopped (${shape})`, async () => {
            // The moment a SIGKILL may or may not hit, made certain: every create finished on the host,
            // but the state only has them as started (pending in the journal), not as done.
            const config = { containers: "2", hostNamespace: sb.hostNs, prefix: `${sb.prefix}-`, uplink: sb.uplink, shape };
            const state = path.join(project, "state.json");
            const engine = engineFor(project, state, config);
            const before = await snapshot(sb.hostNs);
            await engine("up");
            const saved = JSON.parse(readFileSync(state, "utf8"));
            const lost = saved.resources.filter((r: { custom: boolean }) => r.custom);
            writeFileSync(state, JSON.stringify({ ...saved, resources: saved.resources.filter((r: { custom: boolean }) => !r.custom) }));
            writeFileSync(`${state}.journal`, `${lost.map((r: object) => JSON.stringify({ pending: { ...r, id: undefined, outputs: {} } })).join("\n")}\n`);

            const up = await engine("up");
            expect(up.ok, up.errors.join("\n")).toBe(true);
            expect(up.warnings.join("\n")).toContain(`${pending} create(s) from an earlier operation were interrupted`);
            expect(up.summary).toMatchObject({ create: pending, update: 0, replace: 0, delete: 0 });
            expect((await engine("up")).warnings).toEqual([]); // created: no longer pending
            expect((await natRules(sb.hostNs)).match(/-j MASQUERADE/g)).toHaveLength(1); // taken over, not added twice
            expect(await ping(sb.ns("c1"), "10.0.0.4")).toBe(true);
            await engine("destroy");
            expect(await snapshot(sb.hostNs)).toEqual(before);
        });
    }
});
