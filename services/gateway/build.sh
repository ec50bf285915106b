#!/usr/bin/env bash
# Builds the gateway's Caddy from source with `go install` (through the Go module proxy) into a
# cache outside the work tree, once per version, and prints the binary's path. The Dockerfile runs
# this same script, so the version is pinned here only.
#
#   services/gateway/build.sh           # build if missing or another version, print the path
#   services/gateway/build.sh --print   # print the path only
#
# GATEWAY_BIN_DIR overrides the folder (default: ${XDG_CACHE_HOME:-~/.cache}/polytrace/gateway/<version>).
set -euo pipefail

CADDY_VERSION=v2.11.9
bin="${GATEWAY_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/polytrace/gateway/$CADDY_VERSION}"
caddy="$bin/caddy"

if [ "${1:-}" = "--print" ]; then
  echo "$caddy"
  exit 0
fi

installed=""
[ -x "$caddy" ] && installed="$("$caddy" version 2>/dev/null | cut -d' ' -f1 || true)"
if [ "$installed" != "$CADDY_VERSION" ]; then
  command -v go >/dev/null || { echo "services/gateway/build.sh: go (>= 1.26) is required to build Caddy" >&2; exit 1; }
  echo "services/gateway/build.sh: building Caddy $CADDY_VERSION (go install; a few minutes the first time)" >&2
  # A static binary (no cgo): the same file runs on the build machine and in the slim image.
  # GOTOOLCHAIN=local: use the installed Go, never fetch another toolchain. Caddy finds its version
  # only when built as a dependency (xcaddy's way), so it is stamped, for `caddy version` and the
  # spans' webengine.version.
  GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local go install \
    -ldflags "-s -w -X github.com/caddyserver/caddy/v2.CustomVersion=$CADDY_VERSION" \
    "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION" >&2
fi
echo "$caddy"
