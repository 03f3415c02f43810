#!/usr/bin/env bash
# Installs what Bridgeline needs to build, test and run, from Debian 12 packages only.
# Idempotent and non-interactive: packages already present are skipped.
#   scripts/install-deps.sh            build and unit-test dependencies
#   scripts/install-deps.sh --test     also what the integration tests and the fuzzer need
#   scripts/install-deps.sh --bench    also the peers the benchmarks compare against (Alertmanager)
set -euo pipefail

build_packages=(
  cmake make g++ ccache pkg-config curl tzdata ca-certificates
  libboost1.81-dev libboost-url1.81-dev
  libprotobuf-dev protobuf-compiler
  librocksdb-dev catch2 libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  libre2-dev libhowardhinnant-date-dev libssl-dev libjemalloc-dev
)
# Request Tracker 5 (SQLite, standalone server) for the rt5 connector's integration test.
test_packages=(tmux python3 openssl clang clang-format libclang-rt-14-dev chromium prometheus
  request-tracker5 rt5-db-sqlite rt5-standalone)
bench_packages=(prometheus-alertmanager)

wanted=("${build_packages[@]}")
case "${1:-}" in
  --test) wanted+=("${test_packages[@]}") ;;
  --bench) wanted+=("${test_packages[@]}" "${bench_packages[@]}") ;;
esac

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# RT's package would set up a system-wide database through dbconfig; the tests make their own.
echo "request-tracker5 request-tracker5/dbconfig-install boolean false" |
  "${sudo_cmd[@]}" debconf-set-selections
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
