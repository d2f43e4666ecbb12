import * as pulumi from "@pulumi/pulumi";

/**
 * Where a resource lives when it is not this machine: a host reached over SSH, in the manner of
 * @pulumi/command's remote commands. Its commands run there (argument vectors, quoted for the
 * remote shell by one tested function), its records are kept there, and one SSH connection per host
 * serves every resource on it. Nothing is needed on the host but sshd, iproute2 and the firewall
 * tools. A preview opens no connection.
 *
 * Equivalent to: `ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -l USER -p PORT HOST -- 'ip' 'link' ...`.
 */
export interface ConnectionArgs {
    /** The host name or address. Changing it (or the port) replaces the resource: it is made on the new host. */
    host: pulumi.Input<string>;
    /** The SSH port, default 22. */
    port?: pulumi.Input<number>;
    /** The user: root, or one with CAP_NET_ADMIN. Default: SSH's (the local user). */
    user?: pulumi.Input<string>;
    /**
     * The private key's text (OpenSSH or PEM). It goes to an ssh-agent of the provider process on
     * its stdin and lives only in that agent's memory: never on disk, in a log, an error or the
     * command log; in the state the whole connection is a secret. Omitted: the user's agent and keys.
     */
    privateKey?: pulumi.Input<string>;
    /**
     * The host's public key as in known_hosts (`ssh-ed25519 AAAA...`): the only one accepted.
     * Omitted: the user's known_hosts decides. An unknown host or a mismatch is an error, never accepted silently.
     */
    hostKey?: pulumi.Input<string>;
}

/**
 * A resource's arguments as its inputs, the connection made secret. Without a connection there is
 * no `connection` property at all: each property, even an undefined one, costs the program an
 * output and its promises (docs/performance.md). Other undefined arguments stay: some are outputs
 * too (an automatic name).
 */
export function inputsOf<T extends { connection?: pulumi.Input<ConnectionArgs> }>(args: T): T {
    const { connection, ...rest } = args;
    return (connection === undefined ? rest : { ...rest, connection: pulumi.secret(connection) }) as T;
}

/** The resource options with the connection output kept secret too. */
export function connectionOptions(args: { connection?: unknown }, opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions | undefined {
    if (args.connection === undefined) return opts;
    return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] };
}
