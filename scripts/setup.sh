#!/usr/bin/env bash
# setup.sh: install what skyprobe needs on Debian 12 and build it into ./build.
#
#   scripts/setup.sh           # runtime + build dependencies, then build
#   scripts/setup.sh --tests   # also what the tests need (tshark, python3)
#
# Idempotent: packages already installed are not fetched again, an existing
# build directory is reused (meson reconfigures itself when needed).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PACKAGES=(
  g++ meson ninja-build pkg-config
  libdpdk-dev dpdk
  libsystemd-dev      # -lsystemd: a static DPDK driver's (meson -Ddpdk_link=static)
  libpcap-dev
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc  # grpc_cpp_plugin; grpc_python_plugin for python/
  libabsl-dev libyaml-cpp-dev libxxhash-dev libre2-dev
  libssl-dev          # libcrypto: SHA-1 of Community ID, MD5 and SHA-256 of JA3/JA4
  libgtest-dev libgmock-dev libbenchmark-dev
  librdkafka-dev      # --kafka (src/export/kafka_sink.cc); tests: rdkafka_mock.h
  prometheus-cpp-dev  # --metrics-listen
  python3
)
TEST_PACKAGES=(tshark openssl tcpdump)
TEST_PACKAGES+=(python3-grpcio)  # request_limits_test.py, python_client_test.py (python/)
TEST_PACKAGES+=(tmux)  # top_test.py: skyprobectl top in a terminal (send-keys, capture-pane)
TEST_PACKAGES+=(iproute2)  # live_test.py: network namespace and veth pair
TEST_PACKAGES+=(iputils-ping)  # live_time_test.py: ping, the sender's own round-trip times
TEST_PACKAGES+=(kcat python3-protobuf)  # kafka_test.py: the consumer, skyprobe.v1.Flow parsing
TEST_PACKAGES+=(prometheus)  # metrics_test.py: promtool and a real server scraping the probe
TEST_PACKAGES+=(tmux)  # progress_test.py: the progress line on a real terminal
TEST_PACKAGES+=(systemd)  # deploy_test.py: systemd-analyze verify and security of docker/skyprobe.service
TEST_PACKAGES+=(docker-compose)  # deploy_test.py: docker-compose config of docker/compose.yaml
# IPFIX: the IANA registry file and a decoder (python3-ipfix), readers and
# collectors to check the export against (ipfix_test.py, ipfix_interop_test.py).
TEST_PACKAGES+=(python3-ipfix libfixbuf-tools nfdump pmacct)
TEST_PACKAGES+=(clang-tidy)  # scripts/tidy.sh, run by .ci/run
TEST_PACKAGES+=(softflowd)  # scripts/bench_peers.sh (with nfdump's nfpcapd): the peers measured

want=("${BUILD_PACKAGES[@]}")
if [[ "${1:-}" == "--tests" ]]; then want+=("${TEST_PACKAGES[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release >/dev/null
fi
# Two cores on the reference machine: ninja's default is fine elsewhere.
ninja -C build >/dev/null
echo "setup: built build/src/app/skyprobe" >&2
