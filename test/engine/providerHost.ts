/**
 * @pulumi/pulumi's own dynamic-provider server, started as the engine starts it, and a client
 * that speaks to it over gRPC the way the engine does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { type Props, fromStruct, grpc, provproto, provrpc, toStruct, unary } from "./rpc";

/** The engine's view of a Check: inputs and failures. */
export interface CheckResponse {
    inputs: Props;
    failures: { property: string; reason: string }[];
}

/** The engine's view of a Diff. */
export interface DiffResponse {
    changes: "none" | "some" | "unknown";
    replaces: string[];
    deleteBeforeReplace: boolean;
}

/** A running dynamic-provider server and its client. */
export class ProviderHost {
    private constructor(
        private readonly child: ChildProcess,
        private readonly client: any,
        /** What the server wrote to stderr, kept for error messages. */
        readonly stderr: string[],
    ) {}

    /** The process id of the server. */
    get pid(): number | undefined {
        return this.child.pid;
    }

    /**
     * Starts `node <@pulumi/pulumi/cmd/dynamic-provider> <engine address>` in `cwd` (the program's
     * folder, so that serialized providers resolve the program's node_modules) and connects.
     * `onLine` gets each line the server writes to stderr.
     */
    static async start(cwd: string, engineAddress = "127.0.0.1:1", onLine?: (line: string) => void): Promise<ProviderHost> {
        // The plugin script resolves the dynamic-provider server from its cwd, the program's folder.
        let entry: string;
        try {
            entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [cwd] });
        } catch {
            entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider");
        }
        // `node` from PATH, as the plugin script pulumi-resource-pulumi-nodejs starts it.
        const child = spawn("node", [entry, engineAddress], { cwd, stdio: ["ignore", "pipe", "pipe"] });
        const stderr: string[] = [];
        let partial = "";
        child.stderr!.on("data", (chunk: Buffer) => {
            stderr.push(chunk.toString());
            const lines = (partial + chunk.toString()).split("\n");
            partial = lines.pop()!;
            if (onLine) for (const line of lines) onLine(line);
        });
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            const onData = (chunk: Buffer) => {
                out += chunk.toString();
                const match = /^(\d+)\s*$/m.exec(out);
                if (match) {
                    child.stdout!.off("data", onData);
                    resolve(Number(match[1]));
                }
            };
            child.stdout!.on("data", onData);
            child.once("exit", (code) => reject(new Error(`the dynamic-provider server exited (${code}) before printing its port: ${stderr.join("")}`)));
        });
        const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        return new ProviderHost(child, client, stderr);
    }

    /** Configure, as the engine sends it once before any other call. */
    async configure(config: Props = {}): Promise<void> {
        const req = new provproto.ConfigureRequest();
        req.setArgs(toStruct(config));
        req.setAcceptsecrets(false);
        req.setAcceptresources(false);
        await unary(this.client, "configure", req);
    }

    async check(urn: string, olds: Props, news: Props): Promise<CheckResponse> {
        const req = new provproto.CheckRequest();
        req.setUrn(urn);
        req.setOlds(toStruct(olds));
        req.setNews(toStruct(news));
        const resp: any = await unary(this.client, "check", req);
        return {
            inputs: fromStruct(resp.getInputs()),
            failures: resp.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
        };
    }

    async diff(urn: string, id: string, olds: Props, news: Props, oldInputs: Props = {}): Promise<DiffResponse> {
        const req = new provproto.DiffRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setOlds(toStruct(olds));
        req.setNews(toStruct(news));
        req.setOldInputs(toStruct(oldInputs));
        const resp: any = await unary(this.client, "diff", req);
        const kinds = provproto.DiffResponse.DiffChanges;
        const changes = resp.getChanges() === kinds.DIFF_SOME ? "some" : resp.getChanges() === kinds.DIFF_NONE ? "none" : "unknown";
        return { changes, replaces: resp.getReplacesList(), deleteBeforeReplace: resp.getDeletebeforereplace() };
    }

    async create(urn: string, properties: Props): Promise<{ id: string; outputs: Props }> {
        const req = new provproto.CreateRequest();
        req.setUrn(urn);
        req.setProperties(toStruct(properties));
        const resp: any = await unary(this.client, "create", req);
        return { id: resp.getId(), outputs: fromStruct(resp.getProperties()) };
    }

    /** Read: an empty id means the resource is gone. */
    async read(urn: string, id: string, properties: Props, inputs: Props): Promise<{ id: string; outputs: Props; inputs?: Props }> {
        const req = new provproto.ReadRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setProperties(toStruct(properties));
        req.setInputs(toStruct(inputs));
        const resp: any = await unary(this.client, "read", req);
        return { id: resp.getId(), outputs: fromStruct(resp.getProperties()), inputs: resp.getInputs() ? fromStruct(resp.getInputs()) : undefined };
    }

    async update(urn: string, id: string, olds: Props, news: Props, oldInputs: Props = {}): Promise<Props> {
        const req = new provproto.UpdateRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setOlds(toStruct(olds));
        req.setNews(toStruct(news));
        req.setOldInputs(toStruct(oldInputs));
        const resp: any = await unary(this.client, "update", req);
        return fromStruct(resp.getProperties());
    }

    async delete(urn: string, id: string, properties: Props): Promise<void> {
        const req = new provproto.DeleteRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setProperties(toStruct(properties));
        await unary(this.client, "delete", req);
    }

    /** Stops the server. */
    async stop(): Promise<void> {
        this.client.close();
        if (this.child.exitCode === null) {
            const exited = new Promise((resolve) => this.child.once("exit", resolve));
            this.child.kill("SIGTERM");
            await exited;
        }
    }
}

/** The provider's error text from a failed gRPC call (the engine shows the same). */
export function providerErrorText(err: unknown): string {
    const e = err as { details?: string; message?: string };
    return e.details || e.message || String(err);
}
