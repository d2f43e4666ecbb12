// Route's provider as Pulumi stores it in the state (see lazy.ts): keep this path.
import { lazyProvider } from "./lazy";

export = lazyProvider("route");
