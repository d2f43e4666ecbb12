/**
 * How the engine schedules work, as Pulumi's does: Check and Diff one at a time (the step
 * generator's loop), applied steps at most `--parallel` at once (default 4 x CPUs), no new step
 * after the first failure unless `--continue-on-error`, and in-flight steps always finish.
 * Pure of Pulumi: small queues, unit-tested.
 * @module
 */
import { availableParallelism } from "node:os";

/** Pulumi's default `--parallel`: 4 x the CPUs (pkg/cmd/pulumi/operations/up.go). */
export function defaultParallel(): number {
    return 4 * availableParallelism();
}

/** At most `limit` tasks at once; the others wait their turn, in order. */
export class Slots {
    private running = 0;
    private readonly waiting: (() => void)[] = [];

    constructor(private readonly limit: number) {}

    async run<T>(task: () => Promise<T>): Promise<T> {
        if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
        else this.running += 1;
        try {
            return await task();
        } finally {
            const next = this.waiting.shift();
            if (next) next();
            else this.running -= 1;
        }
    }
}

/** The tasks started and not yet settled, so that nothing is stopped under them. */
export class InFlight {
    private readonly tasks = new Set<Promise<unknown>>();

    track<T>(task: Promise<T>): Promise<T> {
        this.tasks.add(task);
        const settle = () => this.tasks.delete(task);
        task.then(settle, settle);
        return task;
    }

    /** Resolves once every task started so far (and those they start) has settled. */
    async settled(): Promise<void> {
        while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    }
}
