/**
 * The engine's decisions, pure: what a registration becomes given the old state, the checked
 * inputs and the provider's diff, with the program's resource options. Unit-tested without root
 * (test/unit/engine/decide.test.ts); engine.ts carries the decisions out.
 * @module
 */
import type { Props } from "./rpc";

/** What the provider's Diff answered. */
export interface DiffAnswer {
    changes: "some" | "none" | "unknown";
    replaces: string[];
    deleteBeforeReplace: boolean;
}

/** The options of a registration that bear on the decision. */
export interface StepOptions {
    replaceOnChanges: string[];
    deleteBeforeReplace: boolean;
    deleteBeforeReplaceDefined: boolean;
}

/** What to do with a resource that is in the old state. */
export type Decision = { op: "same" } | { op: "update"; keys: string[] } | { op: "replace"; replaces: string[]; deleteFirst: boolean };

function sameJson(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

/** Keys whose values differ between two property bags (the engine's own diff for display). */
export function changedKeys(olds: Props, news: Props): string[] {
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
    keys.delete("__provider");
    return [...keys].filter((k) => !sameJson(olds[k], news[k])).sort();
}

/**
 * The properties of `ignoreChanges` keep their old values before Check (step_generator.go:
 * processIgnoreChanges); top-level property names.
 */
export function withIgnoredChanges(news: Props, oldInputs: Props | undefined, ignoreChanges: readonly string[]): Props {
    const result = { ...news };
    if (oldInputs) for (const key of ignoreChanges) if (key in oldInputs) result[key] = oldInputs[key];
    return result;
}

/**
 * Same, update or replace (step_generator.go: diff and continueStepsFromDiff): DIFF_NONE is same;
 * DIFF_UNKNOWN compares the inputs; `replaceOnChanges` forces a replacement on a change of those
 * properties (`*`: any); `deleteBeforeReplace` is tri-state, the program's when it set one, else
 * the provider's.
 */
export function decide(oldInputs: Props, inputs: Props, diff: DiffAnswer, options: StepOptions): Decision {
    const changedInputs = changedKeys(oldInputs, inputs).filter((key) => key !== "logicalName");
    const forced = options.replaceOnChanges.includes("*") ? changedInputs : options.replaceOnChanges.filter((key) => changedInputs.includes(key));
    const replaces = [...new Set([...diff.replaces, ...forced])];
    const changed = forced.length > 0 || diff.changes === "some" || (diff.changes === "unknown" && !sameJson(oldInputs, inputs));
    if (!changed) return { op: "same" };
    if (replaces.length === 0) return { op: "update", keys: changedInputs };
    const deleteFirst = options.deleteBeforeReplaceDefined ? options.deleteBeforeReplace : diff.deleteBeforeReplace;
    return { op: "replace", replaces, deleteFirst };
}

/**
 * The input properties of `dependent` whose values came from `condemned` (its property
 * dependencies): a delete-before-replace of `condemned` makes them unknown, and the dependent's
 * Diff says whether it must be replaced too (step_generator.go: calculateDependentReplacements).
 */
export function inputsFrom(dependent: { propertyDependencies?: Record<string, string[]> }, condemned: string): string[] {
    return Object.entries(dependent.propertyDependencies ?? {})
        .filter(([, urns]) => urns.includes(condemned))
        .map(([key]) => key);
}

/** Whether a delete leaves the object: `retainOnDelete`, or `deletedWith` a resource that goes in the same operation. */
export function keepsObject(resource: { retainOnDelete?: boolean; deletedWith?: string }, deleting: ReadonlySet<string>): boolean {
    return resource.retainOnDelete === true || (resource.deletedWith !== undefined && deleting.has(resource.deletedWith));
}

/** The warning every operation gives while creates a crash cut off are pending (deployment_executor.go: printPendingOperationsWarning). */
export function pendingWarning(urns: readonly string[]): string {
    return (
        `warning: ${urns.length} create(s) from an earlier operation were interrupted: ${urns.join(", ")}. ` +
        "The objects may or may not exist; `up` creates them again (pulumi-overlay takes over what carries their mark), " +
        "and `refresh --clear-pending-creates` forgets them."
    );
}
