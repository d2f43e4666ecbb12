/**
 * Batch files for nested `ip -batch FILE` runs: the batch folder goes with this process's last
 * file in it, and is not tried while others are still there.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as store from "../../../providers/host/store";
import { writeBatchFile } from "../../../providers/host/batch";

describe("batch files", () => {
    let root: string;
    let saved: string | undefined;
    beforeEach(() => {
        saved = process.env.PULUMI_OVERLAY_STATE_DIR;
        root = mkdtempSync(path.join(tmpdir(), "batch-test-"));
        process.env.PULUMI_OVERLAY_STATE_DIR = path.join(root, "state");
    });
    afterEach(() => {
        if (saved === undefined) delete process.env.PULUMI_OVERLAY_STATE_DIR;
        else process.env.PULUMI_OVERLAY_STATE_DIR = saved;
        rmSync(root, { recursive: true, force: true });
        vi.restoreAllMocks();
    });

    it("hold the steps, one a line, and the folder goes with this process's last file, tried only then", () => {
        const dir = path.join(root, "state", "batch");
        const tries = vi.spyOn(store, "removeEmptyFolders");
        const first = writeBatchFile([["link", "set", "dev", "lo", "up"]]);
        const second = writeBatchFile([
            ["addr", "replace", "10.0.0.2/24", "dev", "eth0"],
            ["route", "replace", "default", "via", "10.0.0.1"],
        ]);
        expect(second.text).toBe("addr replace 10.0.0.2/24 dev eth0\nroute replace default via 10.0.0.1\n");
        expect(readdirSync(dir).sort()).toEqual([path.basename(first.path), path.basename(second.path)].sort());
        first.remove();
        expect(readdirSync(dir)).toEqual([path.basename(second.path)]);
        second.remove();
        expect(existsSync(dir)).toBe(false);
        expect(tries).toHaveBeenCalledTimes(1);
    });
});
