/**
 * One id per test run, shared by all test files, so that every namespace a run makes starts with
 * it; after the run, anything left with that prefix fails the suite (and is removed). The package
 * is built and packed once, for the tests that install it as users do.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { netnsDelete, netnsList } from "../../providers/host";
import { PROJECTS_DIR, REPO_ROOT, packPackage } from "./project";

export function setup(): void {
    // Short: namespace names show up in error messages and `ip netns list`.
    process.env.OVERLAY_TEST_RUN_ID = `pot${randomBytes(2).toString("hex")}`;
    // Records the providers keep on the host (IP leases, shared sysctls) go to a folder of this run.
    process.env.PULUMI_OVERLAY_STATE_DIR = mkdtempSync(path.join(tmpdir(), `${process.env.OVERLAY_TEST_RUN_ID}-state-`));
    execFileSync("npm", ["run", "--silent", "build"], { cwd: REPO_ROOT, stdio: "inherit" });
    process.env.OVERLAY_TEST_TARBALL = packPackage();
}

export async function teardown(): Promise<void> {
    const prefix = process.env.OVERLAY_TEST_RUN_ID as string;
    rmSync(process.env.OVERLAY_TEST_TARBALL as string, { force: true });
    rmSync(process.env.PULUMI_OVERLAY_STATE_DIR as string, { recursive: true, force: true });
    for (const entry of readdirSync(PROJECTS_DIR).filter((name) => name.startsWith(prefix))) {
        rmSync(path.join(PROJECTS_DIR, entry), { recursive: true, force: true });
    }
    const left = netnsList().filter((name) => name.startsWith(prefix));
    for (const name of left) await netnsDelete(name);
    if (left.length > 0) {
        throw new Error(`the test run left network namespaces behind (now removed): ${left.join(", ")}; a test's cleanup is not unconditional`);
    }
}
