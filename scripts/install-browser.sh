#!/usr/bin/env bash
# The browser of the end-to-end test (test/e2e/console.test.ts): Debian's chromium at /usr/bin/chromium,
# driven by playwright-core (which downloads no browser of its own). Needs root; does nothing when the
# browser is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "installing chromium needs root (apt-get install -y chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium
/usr/bin/chromium --version
