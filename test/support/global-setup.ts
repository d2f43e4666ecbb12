/**
 * One id per test run, shared by all test files, so that every namespace a run makes starts with
 * it; after the run, anything left with that prefix fails the suite (and is removed).
 */
import { randomBytes } from "node:crypto";
import { netnsDelete, netnsList } from "../../providers/host";

export function setup(): void {
    // Short: namespace names show up in error messages and `ip netns list`.
    process.env.OVERLAY_TEST_RUN_ID = `pot${randomBytes(2).toString("hex")}`;
}

export async function teardown(): Promise<void> {
    const prefix = process.env.OVERLAY_TEST_RUN_ID as string;
    const left = netnsList().filter((name) => name.startsWith(prefix));
    for (const name of left) await netnsDelete(name);
    if (left.length > 0) {
        throw new Error(`the test run left network namespaces behind (now removed): ${left.join(", ")}; a test's cleanup is not unconditional`);
    }
}
