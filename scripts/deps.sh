#!/usr/bin/env bash
# Installs the Debian packages Magpie needs to build and test, only those missing.
# Idempotent and quiet when everything is present.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libuv1-dev libhttp-parser-dev libwslay-dev libssl-dev libjansson-dev
  libsqlite3-dev libsodium-dev libjwt-dev libinih-dev libcmocka-dev
  libicu-dev libcurl4-openssl-dev python3-aiosmtpd python3-websockets
  libvips-dev libmagic-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libvips-tools ffmpeg libimage-exiftool-perl
  libncurses-dev tmux
  libpq-dev postgresql-15 libnats-dev nats-server haproxy
  libsystemd-dev prometheus
  nodejs chromium
)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# npm: Debian's package, unless the installed nodejs brings its own.
command -v npm >/dev/null 2>&1 || missing+=(npm)
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # prometheus is here for its binaries only (the metrics test starts its
  # own on loopback): the service the package just enabled is not wanted.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# The web client's packages, exactly as the lockfile says, whenever the
# lockfile changed since the last install.
web="$(dirname "$0")/../web"
if [ ! -f "$web/node_modules/.package-lock.json" ] ||
   [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  echo "deps: npm ci in web/" >&2
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
fi
