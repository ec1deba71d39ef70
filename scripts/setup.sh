#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine:
# system libraries (OpenSSL, libsrtp2, libpcap), the real peers and tools the
# tests drive (Chromium + chromedriver, Firefox ESR, tshark, iproute2), and the Python
# packages of the test harness (aiortc, selenium, marionette-driver, websockets, pyjwt).
# Idempotent: a second run only checks.
#
#   scripts/setup.sh            everything (server + tests)
#   scripts/setup.sh --server   only what building and running the server needs
set -euo pipefail

mode=${1:-all}
server_pkgs=(pkg-config libssl-dev libsrtp2-dev libpcap-dev)
test_pkgs=(tshark chromium chromium-driver firefox-esr iproute2 procps python3-pip)

need=()
want=("${server_pkgs[@]}")
[ "$mode" = "--server" ] || want+=("${test_pkgs[@]}")
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "$mode" != "--server" ]; then
  py_req="$(dirname "$0")/requirements-test.txt"
  if ! python3 -c 'import aiortc, selenium, websockets, jwt, pytest, requests, marionette_driver' 2>/dev/null; then
    echo "setup: installing Python packages from $py_req"
    python3 -m pip install -q --disable-pip-version-check -r "$py_req"
  fi
fi

command -v swift >/dev/null || { echo "setup: Swift 6.x toolchain not found on PATH (expected at /opt/swift)"; exit 1; }
echo "setup: ok"
