/**
 * The benchmark's picture (bench/plot.ts): well-formed SVG, logarithmic axes, one line and one
 * legend entry per tool, text escaped.
 */
import { describe, expect, it } from "vitest";
import { plotSvg } from "../../bench/plot";

describe("the benchmark's plot", () => {
    const svg = plotSvg(
        [
            {
                name: "shell",
                points: [
                    [10, 0.2],
                    [100, 1.5],
                    [1000, 25],
                ],
            },
            {
                name: "ours <&>",
                points: [
                    [1000, 40],
                    [10, 2.3],
                    [100, 4.3],
                ],
            },
        ],
        "up + destroy",
        "2 cores; 2026-11-27",
    );

    it("is one SVG document with a line and a marker per point for each tool", () => {
        expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
        expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
        expect(svg.match(/<polyline /g)).toHaveLength(2);
        expect(svg.match(/<circle /g)).toHaveLength(6);
        expect(svg).toContain("ours &lt;&amp;&gt;");
        expect(svg).not.toContain("ours <&>");
    });

    it("puts N and seconds on logarithmic axes: each decade the same width", () => {
        const x = (n: number) => Number(new RegExp(`<line x1="([\\d.]+)"[^>]*/>\\n<text [^>]*>${n}</text>`).exec(svg)?.[1]);
        expect(x(100) - x(10)).toBeCloseTo(x(1000) - x(100), 6);
        // The points are sorted by N: the line of "ours" runs left to right.
        const ours = /<polyline [^>]*stroke="#55a868"[^>]*points="([^"]+)"/
            .exec(svg)![1]
            .split(" ")
            .map((p) => Number(p.split(",")[0]));
        expect(ours).toEqual([...ours].sort((a, b) => a - b));
    });
});
