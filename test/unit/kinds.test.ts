/**
 * The one list of kinds (providers/kinds.ts) against what must follow it: each provider module
 * exports `provider`, its shim module (what the state's provider text requires) exports a provider, the SDK exports the class, the compatibility doc names the module, the kind
 * has its page under docs/resources/ and its row in the resources table.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROVIDER_KINDS } from "../../providers/kinds";
import * as sdk from "../../sdk";
import * as sdkProvider from "../../sdk/provider";

const ROOT = path.resolve(__dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

describe("the list of kinds", () => {
    it.each(PROVIDER_KINDS.map((k) => [k.kind, k]))(
        "%s: provider module, shim module, SDK class, compatibility row, page, table row",
        async (_kind, { kind, module, page }) => {
            const implementation = await import(path.join(ROOT, "providers", `${module}.ts`));
            expect(typeof implementation.provider?.create, `providers/${module}.ts exports provider`).toBe("function");
            // The module the state's provider text requires: its export is a provider.
            const shim = await import(path.join(ROOT, "providers/shims", `${module}.ts`));
            expect(sdkProvider.providerText(module)).toContain(`require("pulumi-overlay/dist/providers/shims/${module}.js")`);
            expect(typeof shim.default.create, `providers/shims/${module}.ts exports a provider`).toBe("function");
            expect(typeof (sdk as Record<string, unknown>)[kind], `sdk exports ${kind}`).toBe("function");
            expect(read("docs/compatibility.md")).toMatch(new RegExp(`\\| ${kind}[^|]*\\| \`${module}\` \\|`));
            expect(existsSync(path.join(ROOT, "docs/resources", page)), `docs/resources/${page}`).toBe(true);
            expect(read("docs/resources/README.md")).toContain(`[${kind}](${page})`);
            expect(read("docs/resources/README.md")).toMatch(new RegExp(`^\\| \`${kind} \\{`, "m"));
        },
    );

    it("has no provider module or compatibility row that is not on the list", () => {
        const listed = new Set<string>(PROVIDER_KINDS.map((k) => k.module));
        const modules = readdirSync(path.join(ROOT, "providers")).filter(
            (file) => file.endsWith(".ts") && /^export const provider\b/m.test(read(`providers/${file}`)),
        );
        expect(modules.map((file) => file.replace(/\.ts$/, "")).sort()).toEqual([...listed].sort());
        for (const line of read("docs/compatibility.md").split("\n")) {
            const module = /^\| [A-Za-z ()']+ \| `([A-Za-z]+)` \|$/.exec(line)?.[1];
            if (module) expect(listed.has(module), module).toBe(true);
        }
    });
});
