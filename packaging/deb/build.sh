#!/usr/bin/env bash
# Builds dist-pkg/launcho_<version>_<arch>.deb from the source tree: compiles src/ afresh into a
# staging dir, installs the production npm dependencies there (the repo's node_modules and dist/
# are only read), bundles the Node.js runtime and assembles the package with dpkg-deb.
#
# Environment: LAUNCHO_DEB_OUT (output dir, default dist-pkg), LAUNCHO_NODE (the node binary to
# bundle, default the one on PATH), LAUNCHO_NODE_LICENSE (its LICENSE file, found by default),
# LAUNCHO_DEB_FAST=1 (gzip -1 instead of xz -6: the same files in a larger .deb, a minute or two
# sooner; for tests).
# Needs: node, npm, the repo's dev dependencies (npm ci), dpkg-dev, binutils.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${LAUNCHO_DEB_OUT:-$repo/dist-pkg}
# The Node.js the package bundles: the official binary that scripts/install-node.sh fetches from
# the npm registry (installed there if missing), not whatever node the build machine has.
if [ -z "${LAUNCHO_NODE:-}" ]; then
  LAUNCHO_NODE_LINKS=${LAUNCHO_NODE_LINKS:-/usr/local/bin} bash "$here/../../scripts/install-node.sh" >/dev/null
  LAUNCHO_NODE=${LAUNCHO_NODE_PREFIX:-/opt/launcho-node}/bin/node
fi
node_bin=$(readlink -f "$LAUNCHO_NODE")

die() {
  echo "build.sh: $*" >&2
  exit 1
}

[ -x "$repo/node_modules/.bin/tsc" ] || die "run 'npm ci' first: the build uses the repo's typescript and oclif"
"$node_bin" -e 'process.exit(Number(process.versions.node.split(".")[0]) === 24 ? 0 : 1)' ||
  die "$node_bin is Node.js $("$node_bin" --version); the package bundles Node.js 24 LTS"

version=$(node -p "require('$repo/package.json').version")
arch=$(dpkg --print-architecture)
node_license=${LAUNCHO_NODE_LICENSE:-}
if [ -z "$node_license" ]; then
  for candidate in "$(dirname "$node_bin")/../LICENSE" "$(dirname "$node_bin")/../share/doc/node/LICENSE" /usr/share/doc/nodejs/LICENSE; do
    if [ -f "$candidate" ]; then
      node_license=$candidate
      break
    fi
  done
fi
[ -f "$node_license" ] || die "cannot find the LICENSE of $node_bin; set LAUNCHO_NODE_LICENSE"

work=$(mktemp -d /var/tmp/launcho-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
app=$root/usr/lib/launcho
mkdir -p "$app" "$root/DEBIAN"

echo "== production dependencies (npm ci --omit=dev)"
cp "$repo/package.json" "$repo/package-lock.json" "$app/"
# No optional dependencies: dbus-next's optional native socket (usocket) is not built in the repo
# either, so the package runs exactly the code the tests run. No install scripts: none is needed.
(cd "$app" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)
rm "$app/package-lock.json"

echo "== compile src/"
cat >"$work/tsconfig.json" <<EOF
{
  "extends": "$repo/tsconfig.json",
  "compilerOptions": {"rootDir": "$repo", "outDir": "$app/dist", "sourceMap": false, "typeRoots": ["$repo/node_modules/@types"]},
  "include": ["$repo/src/**/*.ts"]
}
EOF
"$repo/node_modules/.bin/tsc" -p "$work/tsconfig.json"
cp -r "$repo/bin" "$repo/templates" "$app/"
(cd "$app" && OCLIF_SKIP_NEW_VERSION_CHECK=1 "$repo/node_modules/.bin/oclif" manifest >/dev/null)
bash "$here/prune.sh" "$app"

echo "== Node.js $("$node_bin" --version) from $node_bin"
strip --strip-unneeded --remove-section=.comment --remove-section=.note -o "$app/node" "$node_bin"

echo "== system files"
install -D -m 0755 "$here/launcho.sh" "$root/usr/bin/launcho"
install -D -m 0644 "$repo/templates/launcho.service" "$root/lib/systemd/system/launcho.service"
install -D -m 0644 "$repo/templates/config.yaml" "$root/etc/launcho/config.yaml"
install -D -m 0644 "$here/launcho.1" "$root/usr/share/man/man1/launcho.1"
gzip -9n "$root/usr/share/man/man1/launcho.1"
doc=$root/usr/share/doc/launcho
mkdir -p "$doc"
date_epoch=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
maintainer=$(sed -n 's/^Maintainer: //p' "$here/control.in")
printf 'launcho (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
  "$version" "$version" "$maintainer" "$(date -R -u -d "@$date_epoch")" | gzip -9n >"$doc/changelog.gz"
node "$here/copyright.mjs" "$doc/copyright" "$app" "$node_license"
install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/launcho"

echo "== control"
for script in postinst prerm postrm; do
  install -m 0755 "$here/$script" "$root/DEBIAN/$script"
done
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
# Conffiles (all of etc/) are left out: dpkg keeps their sums itself.
(cd "$root" && find . -type f -not -path './DEBIAN/*' -not -path './etc/*' -printf '%P\0' | sort -z |
  xargs -0 md5sum) >"$root/DEBIAN/md5sums"
mkdir -p "$work/debian"
printf 'Source: launcho\n\nPackage: launcho\nArchitecture: any\n' >"$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps --warnings=1 -O -e"$app/node" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no dependencies for the node binary"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
  -e "s/@SHLIBS_DEPENDS@/$shlibs/" "$here/control.in" >"$root/DEBIAN/control"

chmod -R u+rwX,go+rX,go-w "$root"
# Reproducible: no file is newer than the last commit.
find "$root" -newermt "@$date_epoch" -exec touch -h -d "@$date_epoch" {} +

mkdir -p "$out"
deb=$out/launcho_${version}_${arch}.deb
compression=(-Zxz)
if [ "${LAUNCHO_DEB_FAST:-}" = 1 ]; then compression=(-Zgzip -z1); fi
SOURCE_DATE_EPOCH=$date_epoch dpkg-deb --root-owner-group "${compression[@]}" --build "$root" "$deb" >/dev/null
echo "$deb"
