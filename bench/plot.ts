/**
 * The benchmark's picture: time against N for each tool, both axes logarithmic, as a standalone
 * SVG (no library: lines, markers, ticks and a legend).
 */

/** One tool's line: [N, seconds] points. */
export interface Series {
    name: string;
    points: [number, number][];
}

const COLORS = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#dd8452", "#937860", "#da8bc3"];

function escapeXml(text: string): string {
    return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** Powers of ten covering [lo, hi]. */
function decades(lo: number, hi: number): number[] {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
    return out;
}

/** The plot as SVG text: a title, and a smaller line under it (the machine and the date). */
export function plotSvg(series: Series[], title: string, subtitle = ""): string {
    const width = 720;
    const height = 440;
    const margin = { left: 70, right: 150, top: 50, bottom: 50 };
    const all = series.flatMap((s) => s.points);
    if (all.length === 0) throw new Error("nothing to plot");
    const xTicks = decades(Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0])));
    const yTicks = decades(Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1])));
    const [x0, x1] = [Math.log10(xTicks[0]), Math.log10(xTicks.at(-1)!)];
    const [y0, y1] = [Math.log10(yTicks[0]), Math.log10(yTicks.at(-1)!)];
    const plotW = width - margin.left - margin.right;
    const plotH = height - margin.top - margin.bottom;
    const px = (x: number) => margin.left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * plotW;
    const py = (y: number) => margin.top + plotH - ((Math.log10(y) - y0) / (y1 - y0 || 1)) * plotH;
    const parts: string[] = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
        `<rect width="${width}" height="${height}" fill="white"/>`,
        `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
        `<text x="${width / 2}" y="35" text-anchor="middle" font-size="10" fill="#555">${escapeXml(subtitle)}</text>`,
    ];
    for (const t of xTicks) {
        parts.push(`<line x1="${px(t)}" y1="${margin.top}" x2="${px(t)}" y2="${margin.top + plotH}" stroke="#ddd"/>`);
        parts.push(`<text x="${px(t)}" y="${margin.top + plotH + 18}" text-anchor="middle">${t}</text>`);
    }
    for (const t of yTicks) {
        parts.push(`<line x1="${margin.left}" y1="${py(t)}" x2="${margin.left + plotW}" y2="${py(t)}" stroke="#ddd"/>`);
        parts.push(`<text x="${margin.left - 8}" y="${py(t) + 4}" text-anchor="end">${t}</text>`);
    }
    parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">N (containers)</text>`);
    parts.push(
        `<text x="18" y="${margin.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${margin.top + plotH / 2})">seconds (up + destroy)</text>`,
    );
    series.forEach((s, i) => {
        const color = COLORS[i % COLORS.length];
        const points = [...s.points].sort((a, b) => a[0] - b[0]);
        if (points.length > 1)
            parts.push(
                `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")}"/>`,
            );
        for (const [x, y] of points)
            parts.push(
                `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}, N = ${x}: ${y.toFixed(2)} s`)}</title></circle>`,
            );
        const ly = margin.top + 10 + i * 20;
        parts.push(`<line x1="${width - margin.right + 15}" y1="${ly}" x2="${width - margin.right + 40}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
        parts.push(`<text x="${width - margin.right + 46}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
    });
    parts.push("</svg>");
    return `${parts.join("\n")}\n`;
}
