/**
 * A user project whose own @pulumi/pulumi differs from the one pulumi-overlay is built with: the
 * package declares @pulumi/pulumi with a caret range (from 3.216.0, the first whose
 * dynamic-provider server honours read().inputs), so npm installs one copy, the project's, and
 * the program and the provider server both run on it (as the CLI resolves them from the project).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, expect, it } from "vitest";
import { netnsExists } from "../../providers/host";
import { run } from "../engine/engine";
import { describeKernel, useSandbox } from "../support/kernel";
import { PROJECTS_DIR, packedTarball } from "../support/project";

const OTHER_SDK = "3.270.0";

describeKernel("one @pulumi/pulumi in a user's project", () => {
    const sb = useSandbox();
    let dir: string | undefined;
    afterEach(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(`installs the project's @pulumi/pulumi ${OTHER_SDK} once, and runs on it`, async () => {
        mkdirSync(PROJECTS_DIR, { recursive: true });
        dir = mkdtempSync(path.join(PROJECTS_DIR, "sdk-copies-"));
        writeFileSync(path.join(dir, "Pulumi.yaml"), "name: copies\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
        writeFileSync(
            path.join(dir, "package.json"),
            JSON.stringify({
                name: "copies",
                private: true,
                main: "index.js",
                dependencies: { "@pulumi/pulumi": OTHER_SDK, "pulumi-overlay": `file:${packedTarball()}` },
            }),
        );
        writeFileSync(
            path.join(dir, "index.js"),
            `const { NetworkNamespace } = require("pulumi-overlay");\nnew NetworkNamespace("n", { name: ${JSON.stringify(sb.ns("copies"))} });\n`,
        );
        execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, stdio: "pipe" });
        expect(JSON.parse(readFileSync(path.join(dir, "node_modules/@pulumi/pulumi/package.json"), "utf8")).version).toBe(OTHER_SDK);
        expect(existsSync(path.join(dir, "node_modules/pulumi-overlay/node_modules/@pulumi/pulumi"))).toBe(false); // one copy

        const state = path.join(dir, "state.json");
        const up = await run({ operation: "up", programDir: dir, stack: "dev", stateFile: state, print: () => {} });
        expect(up.errors).toEqual([]);
        expect(netnsExists(sb.ns("copies"))).toBe(true);
        expect((await run({ operation: "destroy", programDir: dir, stack: "dev", stateFile: state, print: () => {} })).ok).toBe(true);
        expect(netnsExists(sb.ns("copies"))).toBe(false);
    }, 300_000);
});
