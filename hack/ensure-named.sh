#!/usr/bin/env bash
# Makes sure BIND 9's named (Debian's bind9 package) is installed: the test
# bed's DNS server. Installs it when running as root, else says how.
set -euo pipefail
if command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "named (BIND 9) is missing: run 'sudo apt-get install -y bind9'" >&2
	exit 1
fi
echo "Installing bind9 from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq bind9 >/dev/null
