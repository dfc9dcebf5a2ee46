#!/bin/sh
# Installs the Debian packages a make target needs, and says what it installs.
# Usage: tools/deps.sh test|demo|names|langid|topics|bench
# Runs apt-get as root, or through sudo; without either it names the missing
# packages and leaves them (the test legs that need them then say SKIPPED).
set -u
langid="fortunes fortunes-de fortunes-es fortunes-it fortunes-br fortunes-pl fortunes-cs fortunes-ru wamerican wngerman wfrench wspanish witalian wportuguese wdutch wpolish wswedish"
case ${1:-test} in
test)  pkgs="pkg-config libstb-dev gcc g++ clang libclang-rt-14-dev tcc libopenblas-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user gcc-mingw-w64-x86-64-win32 wine wine64 $langid" ;;
demo)  pkgs="pkg-config libstb-dev gcc" ;;
names) pkgs="pkg-config libstb-dev gcc wamerican" ;;
langid) pkgs="pkg-config libstb-dev gcc $langid" ;;
topics) pkgs="pkg-config libstb-dev gcc fortunes" ;;
bench) pkgs="pkg-config libstb-dev gcc libopenblas-dev python3-torch libdnnl-dev" ;;
*) echo "deps.sh: unknown target $1" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""
elif command -v sudo >/dev/null 2>&1; then sudo="sudo"
else
    echo "deps: missing Debian packages:$missing"
    echo "deps: not root and no sudo; install them with: apt-get install$missing"
    exit 0
fi
echo "deps: installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; fetch them once if an install fails.
$sudo apt-get install -y -qq $missing >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq $missing; } || {
    echo "deps: apt-get could not install:$missing"; exit 1; }
echo "deps: installed:$missing"
