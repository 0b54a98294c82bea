#!/usr/bin/env bash
# The test command: installs the stock programs the tests run against when
# they are missing (Debian packages, one line each in TOOLS below), makes a
# Python virtual environment with pyzstd in target/pyenv (reused when
# present), then runs the whole test suite. The interoperability tests fail,
# never skip, when a program is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# program  Debian package(s)   what needs it
TOOLS=(
  "age       age"              # interop: stock age
  "zstd      zstd"             # interop: stock zstd
  "tar       tar"              # interop: GNU tar
  "sha256sum coreutils"        # interop: sha256sum -c
  "bsdtar    libarchive-tools" # readers matrix (tests/readers.rs)
  "busybox   busybox"          # readers matrix
  "python3   python3,python3-venv" # readers matrix: tarfile, pyzstd venv
  "bash      bash"             # completions (tests/cli/conventions.rs)
  "zsh       zsh"              # completions
  "fish      fish"             # completions
  "mandoc    mandoc"           # man pages
  "groff     groff-base"       # man pages
  "script    bsdutils"         # colour on a pseudo-terminal
  "minisign  minisign"         # signatures (tests/keys_and_signatures.rs)
  "signify-openbsd signify-openbsd" # signatures
  "zbarimg   zbar-tools"       # the paper kit's QR code
  "rsvg-convert librsvg2-bin"  # the paper kit's QR code, SVG to PNG
  "par2      par2"             # parity: stock par2 verify and repair (tests/parity.rs)
  "psql      postgresql-client" # databases: loading schema.sql back (tests/databases.rs)
)

pkgs=()
for line in "${TOOLS[@]}"; do
  read -r tool pkg <<<"$line"
  command -v "$tool" >/dev/null 2>&1 || pkgs+=(${pkg//,/ })
done
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || pkgs+=(python3-venv)
if ((${#pkgs[@]})); then
  echo "test.sh: installing ${pkgs[*]} (Debian packages)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${pkgs[@]}"
fi

# An independent reader of the zstd seekable format (pyzstd, from PyPI),
# in a virtual environment of its own; tests/readers.rs finds it here.
pyenv=target/pyenv
if ! "$pyenv/bin/python" -c 'import pyzstd' >/dev/null 2>&1; then
  echo "test.sh: making $pyenv with pyzstd" >&2
  rm -rf "$pyenv"
  python3 -m venv "$pyenv"
  "$pyenv/bin/python" -m pip install -q --disable-pip-version-check 'pyzstd>=0.16,<1'
fi

export KLUIS_REQUIRE_STOCK_TOOLS=1
cargo test --locked "$@"
