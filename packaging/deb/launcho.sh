#!/bin/sh
# /usr/bin/launcho: runs launcho on the Node.js shipped with it, never on a `node` from PATH.
set -eu
exec /usr/lib/launcho/node /usr/lib/launcho/bin/launcho.js "$@"
