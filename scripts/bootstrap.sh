#!/usr/bin/env bash
# Installs everything ndaa-scan needs on a fresh Debian machine, as root: the system
# packages the lab and the probes use, a virtual environment, and the package itself
# with its development tools. Safe to run again: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
# iproute2: lab namespaces and bridges; nmap: the optional -sV pass and its MAC-prefix data;
# nftables: the scale lab's per-host-MAC rule; tcpdump: packet-capture tests; python3-venv: the venv.
# libpango-1.0-0, libpangoft2-1.0-0, fonts-dejavu-core: what WeasyPrint (the PDF report) loads at run
# time; chromium: the test that opens the HTML report headless and checks for console errors;
# postgresql: the history-store test runs a throwaway cluster on a Unix socket; redis-server: the
# Celery broker the site-worker tests start on a Unix socket; masscan: the second speed anchor of
# benchmarks/sweep_scale.py; lighttpd: a third-party HTTP digest (RFC 7616) server for the
# credentialed-probe tests. One package per line, so branches that add one merge cleanly.
# openssh-server, inetutils-telnetd + inetutils-inetd, vsftpd, nginx, wsdd, minidlna: real
# third-party daemons the lab runs inside its host namespaces (scanner/lab/daemons.py).
APT_PACKAGES=(
    iproute2 nmap nftables tcpdump python3-venv python3-pip procps
    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core chromium
    postgresql
    redis-server
    masscan
    lighttpd
    openssh-server
    inetutils-telnetd
    inetutils-inetd
    vsftpd
    nginx
    wsdd
    minidlna
    snmpd
    snmp
)
# The lab starts these itself, inside namespaces; the machine's own network must not get them.
LAB_DAEMON_SERVICES=(ssh inetutils-inetd vsftpd nginx wsdd minidlna snmpd)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bootstrap: missing system packages (${missing[*]}); run as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # policy-rc.d exit 101 = "do not start services": installing a daemon package must not open
    # ports in the root namespace (Debian starts them on install otherwise).
    own_policy=no
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=yes
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}" || status=$?
    if [ "$own_policy" = yes ]; then rm -f /usr/sbin/policy-rc.d; fi
    if [ "${status:-0}" -ne 0 ]; then exit "$status"; fi
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        for unit in "${LAB_DAEMON_SERVICES[@]}"; do
            systemctl disable --now "$unit" >/dev/null 2>&1 || true
        done
    fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[dev]"
# An editable install leaves the package's own modules uncompiled, and a shell that sets
# PYTHONDONTWRITEBYTECODE never caches them: every command would compile them again (~0.3 s).
"$VENV/bin/python" -m compileall -q -j 0 scanner fingerprints reports >/dev/null
