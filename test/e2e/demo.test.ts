import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/project";

describe("the README demo", () => {
    it("says how to get a Pulumi CLI and exits non-zero when none can be had", () => {
        const result = spawnSync("bash", [path.join(REPO_ROOT, "examples/demo.sh")], {
            env: { ...process.env, PULUMI: "/nonexistent/pulumi" },
            encoding: "utf8",
        });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("no Pulumi CLI could be found or fetched");
        expect(result.stderr).toContain("https://www.pulumi.com/docs/install/");
    });
});
