import { describe, expect, it } from "vitest";
import { hostsText } from "../../../providers/hostsFile";
import { burstBytes, checkShape, parsePercent, parseRate, parseSize, parseTime, shapeDrift, shapeSteps } from "../../../providers/trafficPlan";

describe("traffic plan", () => {
    it("parses values with units, and nothing else", () => {
        expect(parseRate("10mbit")).toBe(10_000_000);
        expect(parseRate("2mbps")).toBe(16_000_000);
        expect(parseRate("1.5gbit")).toBe(1_500_000_000);
        expect(parseSize("32kb")).toBe(32768);
        expect(parseTime("20ms")).toBe(20_000);
        expect(parsePercent("0.5%")).toBe(0.5);
        for (const bad of ["10", "mbit", "10 mbit;x", "-1mbit", "10furlongs", "1e3mbit", "", "10mbit\n", " 10mbit"])
            expect(parseRate(bad), bad).toBeUndefined();
        expect(parsePercent("101%")).toBeUndefined();
        expect(parsePercent(1)).toBeUndefined();
    });

    it("a token bucket alone; netem alone; netem with the token bucket as its child", () => {
        expect(shapeSteps("eth0", { rate: "10mbit" })).toEqual([
            ["qdisc", "replace", "dev", "eth0", "root", "handle", "5afe:", "tbf", "rate", "10mbit", "burst", "12500", "latency", "50ms"],
        ]);
        expect(shapeSteps("eth0", { delay: "20ms", jitter: "5ms", loss: "1%" })).toEqual([
            ["qdisc", "replace", "dev", "eth0", "root", "handle", "5afe:", "netem", "delay", "20ms", "5ms", "loss", "1%"],
        ]);
        expect(shapeSteps("eth0", { rate: "1mbit", burst: "10kb", delay: "5ms" })).toEqual([
            ["qdisc", "replace", "dev", "eth0", "root", "handle", "5afe:", "netem", "delay", "5ms"],
            ["qdisc", "replace", "dev", "eth0", "parent", "5afe:1", "handle", "5aff:", "tbf", "rate", "1mbit", "burst", "10240", "latency", "50ms"],
        ]);
        expect(burstBytes({ rate: "100kbit" })).toBe(3000); // never below a full-size frame and some
    });

    it("checks name the property, with the prefix of where the shape stands", () => {
        expect(checkShape({ rate: "10mbit" })).toEqual([]);
        expect(checkShape({ burst: "1kb" }, "link.").map((f) => f.property)).toEqual(["link.burst"]);
        expect(checkShape({ delay: "soon", reorder: "5%" }).map((f) => f.reason)).toEqual(['delay "soon" is not a time: a number and us, ms or s, e.g. 20ms']);
        expect(checkShape({ reorder: "5%" }).map((f) => f.reason)).toEqual(["reorder varies a delay: set delay too"]);
    });

    it("drift in words", () => {
        const tbf = (rate: number) => ({ kind: "tbf", handle: "5afe:", root: true, options: { rate } });
        expect(shapeDrift("eth0", { rate: "10mbit" }, [tbf(1_250_000)])).toEqual([]);
        expect(shapeDrift("eth0", { rate: "10mbit" }, [tbf(125_000)])).toEqual(['"eth0" is shaped to 1000000 bit/s, not 10mbit']);
        expect(shapeDrift("eth0", { rate: "10mbit" }, [{ kind: "noqueue", handle: "0:", root: true }])).toEqual(['"eth0" lacks its token bucket qdisc']);
        expect(shapeDrift("eth0", { loss: "1%" }, [tbf(1)])).toEqual(['"eth0" lacks its netem qdisc']);
    });

    it("a hosts file: the mark first, localhost, then the entries", () => {
        expect(hostsText("m", [{ address: "10.0.0.2", names: ["c1", "ns-c1"] }])).toBe(
            "# m: written by pulumi-overlay, which changes and removes it\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.2\tc1 ns-c1\n",
        );
    });
});
