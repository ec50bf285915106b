#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for polytrace, and checks the toolchains.
# Idempotent and quick when everything is present: apt runs only for missing packages.
set -euo pipefail

# postgresql: the private cluster; mosquitto: the MQTT 5 broker; maven + JDK 17: catalog and
# the Zipkin viewer; wrk: the load generator of `make bench`; chromium (with its fonts): the
# browser that the shop's tests and `make screenshots` drive through Playwright, which can
# download no browser of its own here.
# protobuf-compiler and libprotobuf-dev (the well-known .proto files flagd's protocol imports):
# open-feature-flagd's build script compiles that protocol for stock, even in file mode.
packages=(postgresql postgresql-client mosquitto maven openjdk-17-jdk-headless wrk chromium fonts-dejavu-core
          protobuf-compiler libprotobuf-dev)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing apt packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a system-wide cluster and broker on install; polytrace runs its own.
  for unit in postgresql mosquitto; do
    $sudo systemctl disable --now "$unit" >/dev/null 2>&1 || $sudo service "$unit" stop >/dev/null 2>&1 || true
  done
fi

fail() { echo "install-deps: $*" >&2; exit 1; }
command -v python3 >/dev/null || fail "python3 (>= 3.11) is required"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || fail "python3 >= 3.11 is required"
command -v cargo >/dev/null || fail "cargo (Rust >= 1.91, via rustup) is required for services/stock"
command -v node >/dev/null || fail "node (>= 20) and npm are required for services/analytics"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' || fail "node >= 20 is required"
command -v go >/dev/null || fail "go (>= 1.25) is required to build the gateway (Caddy, services/gateway)"
java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])' || fail "a JDK >= 17 is required for services/catalog"
exit 0
