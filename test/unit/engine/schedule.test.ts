import { describe, expect, it } from "vitest";
import { InFlight, Slots, defaultParallel } from "../../engine/schedule";

describe("the engine's schedule", () => {
    it("runs at most `limit` tasks at once, in order", async () => {
        const slots = new Slots(2);
        let running = 0;
        let most = 0;
        const order: number[] = [];
        const task = (n: number) => async () => {
            running += 1;
            most = Math.max(most, running);
            await new Promise((resolve) => setTimeout(resolve, 5));
            order.push(n);
            running -= 1;
        };
        await Promise.all([1, 2, 3, 4, 5].map((n) => slots.run(task(n))));
        expect(most).toBe(2);
        expect(order.sort()).toEqual([1, 2, 3, 4, 5]);
        const one = new Slots(1);
        const seen: number[] = [];
        await Promise.all([1, 2, 3].map((n) => one.run(async () => void seen.push(n))));
        expect(seen).toEqual([1, 2, 3]); // Check and Diff one at a time, in arrival order
    });

    it("frees a slot when a task fails", async () => {
        const slots = new Slots(1);
        await expect(slots.run(async () => Promise.reject(new Error("no")))).rejects.toThrow("no");
        expect(await slots.run(async () => 7)).toBe(7);
    });

    it("waits for every task in flight, including those started while waiting", async () => {
        const inFlight = new InFlight();
        const done: string[] = [];
        inFlight.track(
            new Promise<void>((resolve) =>
                setTimeout(() => {
                    done.push("a");
                    inFlight.track(new Promise<void>((r) => setTimeout(() => r(void done.push("b")), 5)));
                    resolve();
                }, 5),
            ),
        );
        inFlight.track(Promise.reject(new Error("failed steps settle too"))).catch(() => {});
        await inFlight.settled();
        expect(done).toEqual(["a", "b"]);
    });

    it("defaults to Pulumi's --parallel: 4 x the CPUs", () => {
        expect(defaultParallel() % 4).toBe(0);
        expect(defaultParallel()).toBeGreaterThanOrEqual(4);
    });
});
