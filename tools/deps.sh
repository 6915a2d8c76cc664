#!/bin/sh
# Installs the Debian packages Knit builds and tests with, only those missing,
# non-interactively and without recommended packages. Starts no daemon.
set -eu

PACKAGES="build-essential pkg-config libcurl4-openssl-dev libjansson-dev libyaml-dev
libwebsockets-dev libssl-dev zlib1g-dev libcmocka-dev curl jq openssl ca-certificates
cppcheck clang-tidy clang-format clang libclang-rt-14-dev prometheus python3"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "deps: installing$missing"
# Package scripts would start daemons (prometheus) on default ports; a
# policy-rc.d that exits 101 tells them not to.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
