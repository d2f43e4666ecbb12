/**
 * The gRPC services a Pulumi program talks to while it runs: ResourceMonitor (resource
 * registrations) and Engine (logging, the root resource). Registrations are handed to the engine
 * as they arrive, concurrently, the way the real engine receives them.
 */
import { type Props, emptyproto, engineproto, enginerpc, fromStruct, grpc, resproto, resrpc, toStruct } from "./rpc";

/** One `RegisterResource` call, in plain values. */
export interface Registration {
    type: string;
    name: string;
    parent: string;
    custom: boolean;
    inputs: Props;
    dependencies: string[];
    /** For each input property, the URNs its value came from (the program's outputs it used). */
    propertyDependencies: Record<string, string[]>;
    deleteBeforeReplace: boolean;
    /** Whether the program set `deleteBeforeReplace` at all: an explicit false overrides the provider. */
    deleteBeforeReplaceDefined: boolean;
    protect: boolean;
    retainOnDelete: boolean;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    /** The URN of the resource whose delete takes this one with it, or "". */
    deletedWith: string;
    /** URNs this resource was known by before (`aliases`, as the SDK computes them). */
    aliases: string[];
    /** Where the program registered it, as the SDK sends it: `file://` URI, line and column. */
    sourcePosition?: SourcePosition;
    /** The registration's stack, outermost last; undefined for frames the SDK could not place (Node.js's own). */
    stackTrace: (SourcePosition | undefined)[];
}

/** A position in the program's source, as the SDK sends it. */
export interface SourcePosition {
    uri: string;
    line: number;
    column: number;
}

/** A SourcePosition message in plain values; undefined when absent. */
function positionOf(pos: any): SourcePosition | undefined {
    return pos ? { uri: pos.getUri(), line: pos.getLine(), column: pos.getColumn() } : undefined;
}

/** The features this engine implements, as SupportsFeature answers them. */
export const SUPPORTED_FEATURES = ["deletedWith"];

/** What the engine answers a registration with. */
export interface Registered {
    urn: string;
    id: string;
    outputs: Props;
}

/** What the monitor asks of the engine. */
export interface MonitorHandlers {
    register(reg: Registration): Promise<Registered>;
    registerOutputs(urn: string, outputs: Props): Promise<void>;
    log(severity: string, message: string, urn: string): void;
}

const SEVERITY = ["debug", "info", "warning", "error"];

/** Serves ResourceMonitor and Engine on a loopback port. */
export class Monitor {
    private readonly server = new grpc.Server();
    private rootUrn = "";
    /** The address to pass as --monitor and --engine. */
    address = "";

    constructor(private readonly handlers: MonitorHandlers) {
        const failWith = (callback: grpc.sendUnaryData<unknown>, err: unknown) => {
            const details = err instanceof Error ? err.message : String(err);
            callback({ code: grpc.status.UNKNOWN, details, message: details, name: "Error" } as grpc.ServiceError, null);
        };
        this.server.addService(resrpc.ResourceMonitorService, {
            supportsFeature: (call: any, callback: grpc.sendUnaryData<unknown>) => {
                const resp = new resproto.SupportsFeatureResponse();
                resp.setHassupport(SUPPORTED_FEATURES.includes(call.request.getId()));
                callback(null, resp);
            },
            registerResource: (call: any, callback: grpc.sendUnaryData<unknown>) => {
                const req = call.request;
                const dependencies = new Set<string>(req.getDependenciesList());
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
                    propertyDependencies[key] = deps.getUrnsList() as string[];
                    for (const urn of propertyDependencies[key]) dependencies.add(urn);
                });
                const reg: Registration = {
                    type: req.getType(),
                    name: req.getName(),
                    parent: req.getParent(),
                    custom: req.getCustom(),
                    inputs: fromStruct(req.getObject()),
                    dependencies: [...dependencies],
                    propertyDependencies,
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    deleteBeforeReplaceDefined: req.getDeletebeforereplacedefined(),
                    protect: req.getProtect(),
                    retainOnDelete: req.getRetainondelete(),
                    ignoreChanges: req.getIgnorechangesList(),
                    replaceOnChanges: req.getReplaceonchangesList(),
                    deletedWith: req.getDeletedwith(),
                    aliases: req.getAliasurnsList(),
                    sourcePosition: positionOf(req.getSourceposition()),
                    stackTrace: (req.getStacktrace()?.getFramesList() ?? []).map((frame: any) => positionOf(frame.getPc())),
                };
                this.handlers.register(reg).then(
                    (done) => {
                        const resp = new resproto.RegisterResourceResponse();
                        resp.setUrn(done.urn);
                        resp.setId(done.id);
                        resp.setObject(toStruct(done.outputs));
                        callback(null, resp);
                    },
                    (err) => failWith(callback, err),
                );
            },
            registerResourceOutputs: (call: any, callback: grpc.sendUnaryData<unknown>) => {
                this.handlers.registerOutputs(call.request.getUrn(), fromStruct(call.request.getOutputs())).then(
                    () => callback(null, new emptyproto.Empty()),
                    (err) => failWith(callback, err),
                );
            },
            signalAndWaitForShutdown: (_call: any, callback: grpc.sendUnaryData<unknown>) => callback(null, new emptyproto.Empty()),
        });
        this.server.addService(enginerpc.EngineService, {
            log: (call: any, callback: grpc.sendUnaryData<unknown>) => {
                const req = call.request;
                this.handlers.log(SEVERITY[req.getSeverity()] ?? "info", req.getMessage(), req.getUrn());
                callback(null, new emptyproto.Empty());
            },
            getRootResource: (_call: any, callback: grpc.sendUnaryData<unknown>) => {
                const resp = new engineproto.GetRootResourceResponse();
                resp.setUrn(this.rootUrn);
                callback(null, resp);
            },
            setRootResource: (call: any, callback: grpc.sendUnaryData<unknown>) => {
                this.rootUrn = call.request.getUrn();
                callback(null, new engineproto.SetRootResourceResponse());
            },
        });
    }

    async start(): Promise<string> {
        const port = await new Promise<number>((resolve, reject) =>
            this.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
        );
        this.address = `127.0.0.1:${port}`;
        return this.address;
    }

    async stop(): Promise<void> {
        await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    }
}
