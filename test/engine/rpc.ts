/**
 * The gRPC plumbing of the test engine: the protos shipped inside @pulumi/pulumi, Struct
 * conversion, and promise wrappers for unary calls.
 */
import * as grpc from "@grpc/grpc-js";

/* eslint-disable @typescript-eslint/no-require-imports */
export const structproto = require("google-protobuf/google/protobuf/struct_pb");
export const emptyproto = require("google-protobuf/google/protobuf/empty_pb");
export const provproto = require("@pulumi/pulumi/proto/provider_pb");
export const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
export const resproto = require("@pulumi/pulumi/proto/resource_pb");
export const resrpc = require("@pulumi/pulumi/proto/resource_grpc_pb");
export const engineproto = require("@pulumi/pulumi/proto/engine_pb");
export const enginerpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
export const plugproto = require("@pulumi/pulumi/proto/plugin_pb");

/** The value the engine sends for an input unknown during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Props = Record<string, any>;

/** A plain object as a protobuf Struct (undefined fields dropped, as JSON would). */
export function toStruct(value: Props): any {
    return structproto.Struct.fromJavaScript(JSON.parse(JSON.stringify(value ?? {})));
}

/** A protobuf Struct as a plain object. */
export function fromStruct(struct: any): Props {
    return struct ? struct.toJavaScript() : {};
}

/** Calls a unary method of a grpc-js client as a promise. */
export function unary<T>(client: any, method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
        client[method](request, (err: grpc.ServiceError | null, response: T) => (err ? reject(err) : resolve(response)));
    });
}

export { grpc };
