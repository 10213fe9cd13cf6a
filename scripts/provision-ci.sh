#!/usr/bin/env bash
# Debian packages the test suite talks to: Dovecot (a real IMAP server for adapter-email) and
# Chromium (the chat widget's browser tests). Installed once; services are never started by the
# package scripts (policy-rc.d), the tests start their own throwaway instances.
set -euo pipefail
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd dovecot-lmtpd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then echo "[ci] need root to apt-get install ${need[*]}" >&2; exit 1; fi
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
