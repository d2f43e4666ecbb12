/**
 * The test engine's command line as people and scripts use it (`npm run engine -- ...`): the
 * summary as the last line, a non-zero exit with the provider's error text when a step fails,
 * and create-before-delete replacement for a provider that does not ask for delete-first.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { natRules } from "../support/lifecycle";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";
import { describeKernel, useSandbox } from "../support/kernel";

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { NatRule, NetworkNamespace } from "pulumi-overlay";
const config = new pulumi.Config();
const netns = config.require("netns");
new NatRule("egress", { type: "masquerade", source: config.require("source"), outInterface: "uplink", netns });
const taken = config.get("taken");
if (taken) new NetworkNamespace("taken", { name: taken });
`;

function engine(args: string[]): { status: number; lines: string[]; output: string } {
    const result = spawnSync("npm", ["run", "--silent", "engine", "--", ...args], { cwd: REPO_ROOT, encoding: "utf8" });
    const output = `${result.stdout}${result.stderr}`;
    return { status: result.status ?? -1, lines: result.stdout.trim().split("\n"), output };
}

describeKernel("the test engine's command line", () => {
    const sb = useSandbox();
    let project: string;
    beforeEach(async () => {
        project = makeProject({ files: { "Pulumi.yaml": "name: cli-test\nruntime: nodejs\n", "index.ts": PROGRAM, "package.json": "{}" } });
    });
    afterEach(async () => {
        removeProject(project);
    });

    it("prints steps and a JSON summary last, replaces create-before-delete, and fails with the provider's words", async () => {
        const state = path.join(project, "state.json");
        const common = [project, "--stack", "dev", "--state", state, "--config", `netns=${sb.hostNs}`];

        const up = engine(["up", ...common, "--config", "source=10.0.0.0/24"]);
        expect(up.status, up.output).toBe(0);
        expect(up.lines).toContain("+ create pulumi-nodejs:dynamic/overlay:NatRule egress");
        expect(JSON.parse(up.lines.at(-1)!)).toEqual({ create: 1, update: 0, replace: 0, delete: 0, same: 0 });

        const replace = engine(["up", ...common, "--config", "source=10.9.0.0/24"]);
        expect(replace.status, replace.output).toBe(0);
        expect(replace.lines).toContain("+- replace pulumi-nodejs:dynamic/overlay:NatRule egress [source]");
        expect(JSON.parse(replace.lines.at(-1)!)).toEqual({ create: 0, update: 0, replace: 1, delete: 0, same: 0 });
        const rules = await natRules(sb.hostNs);
        expect(rules).toContain("-s 10.9.0.0/24");
        expect(rules).not.toContain("-s 10.0.0.0/24");
        const saved = JSON.parse(readFileSync(state, "utf8"));
        expect(saved.resources.map((r: { urn: string }) => r.urn)).toEqual([
            "urn:pulumi:dev::cli-test::pulumi:pulumi:Stack::cli-test-dev",
            "urn:pulumi:dev::cli-test::pulumi-nodejs:dynamic/overlay:NatRule::egress",
        ]);

        const failed = engine(["up", ...common, "--config", "source=10.9.0.0/24", "--config", `taken=${sb.internetNs}`]);
        expect(failed.status).not.toBe(0);
        expect(failed.output).toContain(`network namespace "${sb.internetNs}" already exists`);

        const destroy = engine(["destroy", ...common]);
        expect(destroy.status, destroy.output).toBe(0);
        expect(JSON.parse(destroy.lines.at(-1)!)).toEqual({ create: 0, update: 0, replace: 0, delete: 1, same: 0 });
        expect(await natRules(sb.hostNs)).not.toContain("-A POSTROUTING");
    });
});
