/** The `describe` of kernel tests. */
import { afterEach, beforeEach, describe } from "vitest";
import { SKIP_REASON, type Sandbox, createSandbox, isRoot } from "./sandbox";

/**
 * A `describe` for kernel tests: runs them as root, and otherwise reports them as skipped with
 * the reason in the title, never as passed.
 */
export function describeKernel(title: string, body: () => void): void {
    describe.skipIf(!isRoot)(isRoot ? title : `${title} (skipped: ${SKIP_REASON})`, body);
}

/**
 * Gives each test of the suite its own sandbox, destroyed after the test whatever happened. The
 * returned object stands for the current test's sandbox.
 */
export function useSandbox(): Sandbox {
    let current: Sandbox | undefined;
    beforeEach(async () => {
        current = await createSandbox();
    });
    afterEach(async () => {
        await current?.destroy();
        current = undefined;
    });
    return new Proxy({} as Sandbox, {
        get(_target, key) {
            if (!current) throw new Error("the sandbox exists only while a test runs");
            return current[key as keyof Sandbox];
        },
    });
}
