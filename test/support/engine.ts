/** Runs the test engine on a project from tests, and reads its steps. */
import { expect } from "vitest";
import { type EngineOptions, type Operation, type Result, run } from "../engine/engine";

export const TYPE = "pulumi-nodejs:dynamic/overlay:";

/** Runs the engine on a project and keeps its printed lines for the failure message. */
/** `up` skips the preview pass here (as `pulumi up --skip-preview`): these tests look at the update itself. */
export function engineFor(programDir: string, stateFile: string, baseConfig: Record<string, string>, extra: Partial<EngineOptions> = {}) {
    return async (operation: Operation, config: Record<string, string> = {}): Promise<Result> => {
        const lines: string[] = [];
        const options: EngineOptions = {
            operation,
            programDir,
            stack: "test",
            stateFile,
            config: { ...baseConfig, ...config },
            print: (l) => lines.push(l),
            skipPreview: true,
            ...extra,
        };
        const result = await run(options);
        expect(result.errors, lines.join("\n")).toEqual([]);
        expect(JSON.parse(lines.at(-1)!)).toEqual(result.summary); // the last line is the JSON summary
        return result;
    };
}

/** The steps of one kind, as "Type name". */
export function stepsOf(result: Result, op: string): string[] {
    return result.steps
        .filter((s) => s.op === op)
        .map((s) => `${s.type.replace(TYPE, "")} ${s.name}`)
        .sort();
}
