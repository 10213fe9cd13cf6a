# Sourced by scripts/run and .ci/run: puts Node >= 22 and the pinned pnpm first on PATH.
# The system install is never touched: when the system Node is older than 22, Node 24 comes
# from the npm registry (the `node` package) into .tools/, which is git-ignored.
set -euo pipefail
DIALOGI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$DIALOGI_ROOT/.tools"
NODE_VERSION_WANTED="24"
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$DIALOGI_ROOT/package.json")"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 22 ]; then
  if [ ! -x "$TOOLS/node/node_modules/node/bin/node" ]; then
    echo "[dialogi] system Node is $(node -v 2>/dev/null || echo missing); installing Node $NODE_VERSION_WANTED into .tools/node" >&2
    mkdir -p "$TOOLS/node"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$TOOLS/node" "node@$NODE_VERSION_WANTED" >&2
  fi
  export PATH="$TOOLS/node/node_modules/node/bin:$PATH"
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(cd / && pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  if [ ! -x "$TOOLS/pnpm/node_modules/.bin/pnpm" ] || [ "$(cd "$TOOLS" && "$TOOLS/pnpm/node_modules/.bin/pnpm" --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    echo "[dialogi] installing pnpm $PNPM_VERSION into .tools/pnpm" >&2
    mkdir -p "$TOOLS/pnpm"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$TOOLS/pnpm" "pnpm@$PNPM_VERSION" >&2
  fi
  export PATH="$TOOLS/pnpm/node_modules/.bin:$PATH"
fi
export COREPACK_ENABLE_STRICT=0
