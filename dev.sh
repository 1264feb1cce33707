#!/bin/bash
# The README's two Quick start commands, for a Debian 12 machine (run as root to install):
#   ./dev.sh serve [server options]  install what is missing, build, start neops-remote-lab
#   ./dev.sh test                    install what is missing, build every flavour, run every test
# and one more:
#   ./dev.sh package                 install what is missing, build the Debian packages into
#                                    build/packages/ (dpkg-buildpackage -us -uc -b)
# .ci/run calls `./dev.sh test`. Any failing step (an install included) fails the command.
set -euo pipefail
cd "$(dirname "$0")"

# What the build needs (libseccomp-dev: test_common_spawn_nopidfd, built with everything,
# runs the child-process tests with pidfd_open(2) failing).
BUILD_PKGS=(gcc cmake ninja-build pkg-config libmicrohttpd-dev libsystemd-dev libjansson-dev
            libcurl4-openssl-dev libxml2-dev libsqlite3-dev libmariadb-dev libssl-dev uuid-dev
            libcmocka-dev libkrb5-dev gss-ntlmssp gss-ntlmssp-dev libyaml-dev python3 python3-yaml
            libseccomp-dev)
# What the tests need on top: clang for the second compiler and libFuzzer, make for the
# client example (built against the installed library with pkg-config), Debian's pytest
# and requests for the e2e suites, python3-winrm to cross-check the fake WinRM endpoint, a
# real MariaDB server for the ops-worker's database tests, a real Prometheus parser for the
# metrics exposition, a few system tools, and chromium and node for the status page's browser
# test (tests/e2e/ui drives chromium with playwright-core, which the suite installs itself
# with `npm ci` into the build tree).
TEST_PKGS=(clang libclang-rt-14-dev make python3-pytest python3-requests python3-winrm
           python3-requests-ntlm python3-gssapi python3-prometheus-client mariadb-server
           openssl procps iproute2 iputils-ping chromium nodejs)
# What the Debian packages need on top: debhelper and the dpkg tools to build them; lintian,
# systemd (systemd-analyze), man-db, adduser, curl and iproute2 for the package test
# (tests/package), which installs them into a scratch root and starts the daemons there.
PACKAGE_PKGS=(build-essential debhelper dpkg-dev fakeroot lintian systemd man-db adduser curl
              iproute2)

say() { printf '\033[1mdev.sh:\033[0m %s\n' "$*" >&2; }

install_missing() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing missing packages: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		say "installing packages needs root; run as root or install them yourself"
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

jobs() { nproc 2>/dev/null || echo 2; }

cmd_serve() {
	install_missing "${BUILD_PKGS[@]}"
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRL_SANITIZE=OFF -DRL_FUZZ=OFF
	cmake --build build -j "$(jobs)"
	# Loopback and port 8000 unless the extra arguments say otherwise (the last one wins).
	local args=(--host 127.0.0.1 --port 8000 "$@")
	if command -v netlab >/dev/null 2>&1 && netlab version >/dev/null 2>&1 &&
	   ! netlab version 2>&1 | grep -q netlab-sim; then
		say "using the real netlab at $(command -v netlab)"
	else
		say "================================================================="
		say "no working netlab found: starting with the bundled netlab SIMULATOR"
		say "(tools/netlab-sim). No lab devices are started. Install netlab"
		say "(https://netlab.tools/install/ubuntu/) for real labs."
		say "================================================================="
		export PATH="$PWD/build/netlab-sim-path:$PATH"
	fi
	say "starting build/bin/neops-remote-lab ${args[*]}  (Ctrl-C stops it)"
	exec build/bin/neops-remote-lab "${args[@]}"
}

cmd_test() {
	local t0=$SECONDS
	install_missing "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${PACKAGE_PKGS[@]}"
	# npm: Debian's package, unless the installed nodejs brings its own (NodeSource's does,
	# and conflicts with Debian's npm).
	command -v npm >/dev/null 2>&1 || install_missing npm
	tools/check-banned
	# 1. gcc with AddressSanitizer + UndefinedBehaviorSanitizer: every unit and e2e test.
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRL_SANITIZE=ON
	cmake --build build-asan -j "$(jobs)"
	# 2. clang, warnings as errors, with the libFuzzer targets.
	CC=clang cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRL_FUZZ=ON
	cmake --build build-clang -j "$(jobs)"
	say "unit tests (gcc, ASan+UBSan)"
	ctest --test-dir build-asan -L unit -j "$(jobs)" --output-on-failure
	# The e2e suites spend most of their time waiting on daemons, netlab-sim and timers, so
	# three run at once (their tests assert properties, never timings), the longest first
	# (their COST); the package test (a whole package build, contents, lintian, install into
	# a scratch root) is RUN_SERIAL: it runs alone once they are done.
	say "end-to-end tests (real daemons on loopback, gcc, ASan+UBSan) and the Debian packages"
	ctest --test-dir build-asan -L 'e2e|package' -j 3 --output-on-failure
	say "fuzz smoke runs (clang, libFuzzer)"
	ctest --test-dir build-clang -L fuzz -j "$(jobs)" --output-on-failure
	say "all tests passed in $((SECONDS - t0)) s"
}

cmd_package() {
	install_missing "${BUILD_PKGS[@]}" "${PACKAGE_PKGS[@]}"
	tools/build-debs build/packages
	say "packages in build/packages/ (check them: ctest --test-dir <build dir> -L package)"
}

case "${1:-}" in
serve) shift; cmd_serve "$@" ;;
test) shift; cmd_test "$@" ;;
package) shift; cmd_package "$@" ;;
*)
	echo "usage: $0 serve [neops-remote-lab options] | test | package" >&2
	exit 2
	;;
esac
