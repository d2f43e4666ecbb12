/**
 * Throwaway Pulumi project folders with pulumi-overlay installed from its packed tarball: a real
 * copy under node_modules/pulumi-overlay, as `npm install` of a release would leave it. The
 * folders live under the repository's ignored `.test-projects/`, so that @pulumi/pulumi, ts-node
 * and the package's own dependencies resolve to the repository's node_modules (one @pulumi/pulumi
 * for the language runtime and the program alike) without a network install.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "../..");
export const PROJECTS_DIR = path.join(REPO_ROOT, ".test-projects");

/** The tarball that `npm pack` made for this run (global-setup.ts). */
export function packedTarball(): string {
    const tarball = process.env.OVERLAY_TEST_TARBALL;
    if (!tarball || !existsSync(tarball)) throw new Error("OVERLAY_TEST_TARBALL is not set: run the tests through vitest (test/support/global-setup.ts)");
    return tarball;
}

/** Runs `npm pack` into the projects folder and returns the tarball's path. */
export function packPackage(): string {
    mkdirSync(PROJECTS_DIR, { recursive: true });
    const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", PROJECTS_DIR], { cwd: REPO_ROOT, encoding: "utf8" });
    return path.join(PROJECTS_DIR, out.trim().split("\n").at(-1)!);
}

/**
 * A new project folder: the given files (or a copy of an example folder), and the packed
 * pulumi-overlay extracted into its node_modules.
 */
export function makeProject(source: { files?: Record<string, string>; copyFrom?: string }): string {
    mkdirSync(PROJECTS_DIR, { recursive: true });
    const dir = mkdtempSync(path.join(PROJECTS_DIR, `${process.env.OVERLAY_TEST_RUN_ID ?? "run"}-`));
    if (source.copyFrom) {
        cpSync(source.copyFrom, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
    }
    for (const [name, text] of Object.entries(source.files ?? {})) writeFileSync(path.join(dir, name), text);
    const modules = path.join(dir, "node_modules");
    mkdirSync(modules, { recursive: true });
    execFileSync("tar", ["-xzf", packedTarball(), "-C", modules]);
    renameSync(path.join(modules, "package"), path.join(modules, "pulumi-overlay"));
    return dir;
}

/** Removes a project folder. */
export function removeProject(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
}
