/** The `describe` of kernel tests. */
import { describe } from "vitest";
import { SKIP_REASON, isRoot } from "./sandbox";

/**
 * A `describe` for kernel tests: runs them as root, and otherwise reports them as skipped with
 * the reason in the title, never as passed.
 */
export function describeKernel(title: string, body: () => void): void {
    describe.skipIf(!isRoot)(isRoot ? title : `${title} (skipped: ${SKIP_REASON})`, body);
}
