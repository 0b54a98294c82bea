#!/usr/bin/env bash
# The test command: installs the stock tools the interoperability tests
# need (Debian's age and zstd; GNU tar and sha256sum come with the system)
# and the programs that check the shell completions and man pages (zsh,
# fish, mandoc, groff; bash and script come with the system) when they are
# missing, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in age zstd tar sha256sum bash zsh fish mandoc groff script; do
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
      bash) pkgs+=(bash) ;;
      zsh) pkgs+=(zsh) ;;
      fish) pkgs+=(fish) ;;
      mandoc) pkgs+=(mandoc) ;;
      groff) pkgs+=(groff-base) ;;
      script) pkgs+=(bsdutils) ;;
    esac
  done
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${pkgs[@]}"
fi

# The interoperability tests fail (not skip) without the stock tools.
export KLUIS_REQUIRE_STOCK_TOOLS=1
cargo test --locked "$@"
