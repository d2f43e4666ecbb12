/**
 * The host command layer: the only code that runs programs on the host. Providers build argument
 * vectors with the helpers here, run them, and read kernel state back as typed JSON.
 * @module
 */
export * from "./batch";
export * from "./command";
export * from "./errors";
export * from "./etcNetns";
export * from "./files";
export * from "./ip";
export * from "./remote";
export * from "./store";
