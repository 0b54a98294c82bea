#!/usr/bin/env bash
# The test command: installs the stock tools the interoperability tests
# need (Debian's age and zstd; GNU tar and sha256sum come with the system;
# bsdtar, busybox and Python for the readers matrix, tests/readers.rs)
# when they are missing, makes a Python virtual environment with pyzstd in
# target/pyenv (reused when present), then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in age zstd tar sha256sum bsdtar busybox python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "test.sh: installing ${missing[*]} (Debian packages)" >&2
  pkgs=()
  for tool in "${missing[@]}"; do
    case "$tool" in
      age) pkgs+=(age) ;;
      zstd) pkgs+=(zstd) ;;
      tar) pkgs+=(tar) ;;
      sha256sum) pkgs+=(coreutils) ;;
      bsdtar) pkgs+=(libarchive-tools) ;;
      busybox) pkgs+=(busybox) ;;
      python3) pkgs+=(python3 python3-venv) ;;
    esac
  done
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${pkgs[@]}"
fi

# An independent reader of the zstd seekable format (pyzstd, from PyPI),
# in a virtual environment of its own; tests/readers.rs finds it here.
pyenv=target/pyenv
if ! "$pyenv/bin/python" -c 'import pyzstd' >/dev/null 2>&1; then
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "test.sh: installing python3-venv (Debian package)" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq python3-venv
  fi
  echo "test.sh: making $pyenv with pyzstd" >&2
  rm -rf "$pyenv"
  python3 -m venv "$pyenv"
  "$pyenv/bin/python" -m pip install -q --disable-pip-version-check 'pyzstd>=0.16,<1'
fi

# The interoperability tests fail (not skip) without the stock tools.
export KLUIS_REQUIRE_STOCK_TOOLS=1
cargo test --locked "$@"
