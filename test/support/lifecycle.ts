/**
 * Drives a provider the way the engine does (check, then create / diff / update / read / delete)
 * for kernel tests, and reads kernel state back.
 */
import type * as pulumi from "@pulumi/pulumi";
import { expect } from "vitest";
import { type LinkInfo, ipCommand, runCommand, runJson, toolCommand } from "../../providers/host";

type Provider = pulumi.dynamic.ResourceProvider;
type Props = Record<string, any>;

/** Checks inputs and expects no failures; returns the normalised inputs. */
export async function checked(provider: Provider, news: Props, olds: Props = {}): Promise<Props> {
    const result = await provider.check!(olds, news);
    expect(result.failures ?? []).toEqual([]);
    return result.inputs as Props;
}

/** Check + create, as `pulumi up` does for a new resource. */
export async function created(provider: Provider, news: Props): Promise<{ id: string; outs: Props; inputs: Props }> {
    const inputs = await checked(provider, news);
    const { id, outs } = await provider.create(inputs);
    return { id, outs, inputs };
}

/** Check + diff + update, as `pulumi up` does for an in-place change; expects no replacement. */
export async function updated(provider: Provider, id: string, olds: Props, news: Props): Promise<Props> {
    const inputs = await checked(provider, news, olds);
    const diff = await provider.diff!(id, olds, inputs);
    expect(diff.changes).toBe(true);
    expect(diff.replaces ?? []).toEqual([]);
    const { outs } = await provider.update!(id, olds, inputs);
    return outs;
}

/**
 * Check + diff + delete-before-replace + create, as `pulumi up` does for a replacement whose
 * provider asks for deleteBeforeReplace. Returns the new resource.
 */
export async function replaced(provider: Provider, id: string, olds: Props, news: Props, replaces: string[]): Promise<{ id: string; outs: Props }> {
    const inputs = await checked(provider, news, olds);
    const diff = await provider.diff!(id, olds, inputs);
    expect(diff.changes).toBe(true);
    expect(diff.replaces).toEqual(replaces);
    if (diff.deleteBeforeReplace) {
        await provider.delete!(id, olds);
        const next = await provider.create(inputs);
        return { id: next.id, outs: next.outs as Props };
    }
    const next = await provider.create(inputs);
    await provider.delete!(id, olds);
    return { id: next.id, outs: next.outs as Props };
}

/** Reads and expects the resource to be reported gone. */
export async function expectGone(provider: Provider, id: string, props: Props): Promise<void> {
    const result = await provider.read!(id, props);
    expect(result.id ?? "").toBe("");
}

/** One link as the kernel reports it, or undefined. */
export async function kernelLink(netns: string, name: string): Promise<LinkInfo | undefined> {
    const links = await runJson<LinkInfo[]>(ipCommand(netns, ["-j", "-d", "link", "show"]));
    return links.find((l) => l.ifname === name);
}

/** `iptables-save -t nat` of a namespace. */
export async function natRules(netns: string): Promise<string> {
    // Without iptables-save's "# Generated ... on <time>" lines: two reads a second apart differed.
    const { stdout } = await runCommand(toolCommand(netns, "iptables-save", ["-t", "nat"]));
    return stdout
        .split("\n")
        .filter((line) => !line.startsWith("#"))
        .join("\n");
}

/** A sysctl value in a namespace. */
export async function sysctlValue(netns: string, key: string): Promise<string> {
    return (await runCommand(toolCommand(netns, "sysctl", ["-n", key]))).stdout.trim();
}

/** Runs `ip -n NETNS ARGS` out of band (the way a person at the shell would). */
export async function ipOutOfBand(netns: string, ...args: string[]): Promise<void> {
    await runCommand(ipCommand(netns, args));
}
