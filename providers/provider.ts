/**
 * The typed contract of a provider kind: what it implements, typed by its inputs (after check)
 * and its outputs, and what every kind gets for free from {@link defineProvider}: the default diff
 * from its rules, the ownership mark chosen by check, and results without undefined values.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { type DiffRules, type Props, diffProperties, logicalNameOf, ownerMark, withoutUndefined } from "./common";
import { type Connection, connect, onHost, redactInLog } from "./host";
import { type CheckFailure, checkConnection } from "./validate";

/** What `check` returns: the normalised inputs and the failures (none when the inputs are good). */
export interface Checked<I> {
    inputs: I;
    failures: readonly (CheckFailure | undefined)[];
}

/** What `read` returns: nothing when the resource is gone; else its outputs and the inputs they imply. */
export interface Read<I, O> {
    id?: string;
    props?: O;
    inputs?: Partial<I>;
}

/** Every input a marked kind has: the mark that check chose. */
export interface MarkedInputs {
    /** The ownership mark (see {@link defineProvider}). */
    mark?: string;
}

/**
 * A provider kind. `I` is its inputs after check, `O` its outputs (which the state keeps, and
 * which every later diff, update, read and delete receives as the old properties).
 */
export interface ProviderDefinition<I extends object, O extends object> {
    /** Which changes replace the object and which update it in place: the default diff. */
    rules: DiffRules;
    /**
     * True for kinds that mark what they make (a link alias, a rule comment, a record). Check then
     * gives the resource its mark as the input `mark`, once: kept from the old inputs after that,
     * like an automatic name, so that the mark is known before create runs and an object a
     * crashed create left can be found by it.
     */
    marked: boolean;
    /** Validates and normalises the program's inputs; never touches the host. */
    check(olds: Partial<I>, news: Props): Promise<Checked<I>>;
    /** Compares the old outputs with the new inputs; default: {@link diffProperties} by `rules`. */
    diff?(id: string, olds: O, news: I): Promise<pulumi.dynamic.DiffResult>;
    create(inputs: I): Promise<{ id: string; outs: O }>;
    read(id: string, props: O): Promise<Read<I, O>>;
    update?(id: string, olds: O, news: I): Promise<{ outs: O }>;
    delete(id: string, props: O): Promise<void>;
}

/**
 * The dynamic provider of a kind. Results leave out undefined values (an optional property that
 * is not set), which the dynamic-provider server cannot encode ("Unexpected struct type").
 */
export function defineProvider<I extends object, O extends object>(definition: ProviderDefinition<I, O>): pulumi.dynamic.ResourceProvider {
    const provider: pulumi.dynamic.ResourceProvider = {
        async check(olds, news) {
            // A check opens no connection (previews run it): a remote host is not read here.
            const { inputs, failures } = await onHost(news.connection, () => definition.check(olds as Partial<I>, news), true);
            if (definition.marked) (inputs as MarkedInputs).mark = chooseMark(olds, news, inputs);
            if (news.connection !== undefined) (inputs as Props).connection = news.connection;
            const all = [...failures, ...checkConnection(news.connection)];
            return withoutUndefined({ inputs, failures: all.filter((f): f is CheckFailure => f !== undefined) });
        },
        async diff(id, olds, news) {
            const result = await (definition.diff ? definition.diff(id, olds as O, news as I) : diffProperties(olds, news, definition.rules));
            return withConnectionDiff(result, olds.connection, news.connection);
        },
        create: (inputs) => remotely(inputs.connection, async () => withConnection(withoutUndefined(await definition.create(inputs as I)), inputs.connection)),
        read: (id, props) =>
            remotely(props.connection, async () => {
                const result = withoutUndefined(await definition.read(id, props as O)) as pulumi.dynamic.ReadResult;
                // What a read finds keeps the way to its host (the state's outputs and inputs both).
                if (props.connection === undefined || !result.props) return result;
                return {
                    ...result,
                    props: { ...result.props, connection: props.connection },
                    ...(result.inputs ? { inputs: { ...result.inputs, connection: props.connection } } : {}),
                };
            }),
        delete: (id, props) => remotely(props.connection, () => definition.delete(id, props as O)),
    };
    const { update } = definition;
    if (update)
        provider.update = (id, olds, news) =>
            remotely(news.connection, async () => withConnection(withoutUndefined(await update(id, olds as O, news as I)), news.connection));
    return provider;
}

/** The outputs keep the connection, so that read, update and delete find the host again. */
function withConnection<R extends { outs: object }>(result: R, connection: Connection | undefined): R {
    return connection === undefined ? result : { ...result, outs: { ...result.outs, connection } };
}

/**
 * Runs an operation on the host of its `connection` (none: this machine), the connection opened
 * first; the private key is kept out of the command log.
 */
function remotely<T>(connection: Connection | undefined, work: () => Promise<T>): Promise<T> {
    if (typeof connection?.privateKey === "string") redactInLog(connection.privateKey);
    return onHost(connection, async () => {
        await connect();
        return work();
    });
}

/**
 * A `connection` to another host (or port) replaces the object, which is made on the new host
 * before the old one goes; another user or key is an update (only the way in changed).
 */
function withConnectionDiff(result: pulumi.dynamic.DiffResult, olds: Connection | undefined, news: Connection | undefined): pulumi.dynamic.DiffResult {
    const place = (c: Connection | undefined) => (c ? `${c.host}:${c.port ?? 22}` : "");
    if (place(olds) !== place(news)) return { ...result, changes: true, replaces: [...(result.replaces ?? []), "connection"] };
    if (JSON.stringify(olds ?? null) !== JSON.stringify(news ?? null)) return { ...result, changes: true };
    return result;
}

/**
 * The mark check gives a resource: the one it was given before (old inputs), else one the program
 * passed, else one derived from its identity (the SDK's hidden input `identity`) and its checked
 * inputs: the same for a create the CLI repeats after a crash, another for a stack of the same
 * name that declares other objects (see {@link ownerMark}).
 */
function chooseMark(olds: Props, news: Props, inputs: object): string {
    if (typeof olds.mark === "string") return olds.mark;
    if (typeof news.mark === "string") return news.mark;
    const { mark: _mark, logicalName: _name, ...content } = inputs as Props;
    return ownerMark(logicalNameOf(news), news.identity, canonicalJson(content));
}

/** JSON with keys in order, for a digest that does not depend on key order. */
function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
    const entries = Object.entries(value as object)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The mark a create uses: the one check chose, or a new one for callers that skipped check. */
export function markOf(inputs: MarkedInputs & { logicalName?: string }): string {
    return typeof inputs.mark === "string" ? inputs.mark : ownerMark(logicalNameOf(inputs));
}

/**
 * The mark of a resource from its stored properties, whatever its outputs call it: `alias` (links,
 * namespaces), `comment` (rules), `claimToken` (sysctls), else the input `mark` (outputs written
 * before that output existed, or a create whose result was lost).
 */
export function markOfResource(props: { mark?: string; alias?: string; comment?: string; claimToken?: string }): string | undefined {
    return props.alias ?? props.comment ?? props.claimToken ?? props.mark;
}
