#!/usr/bin/env bash
# The README's test command as a newcomer meets it: a fresh clone of this repository's HEAD, in
# a container of plain Debian bookworm, as root (default) or as a user with sudo (--sudo), runs
# ./.ci/run, which must install everything else and pass. A command given after the options
# runs instead of ./.ci/run (e.g. to try only its set-up).
#
# The base image is built here with debootstrap (no image is pulled) and kept as the Docker
# image pydive-fresh-debian:bookworm; `docker rmi` it to build it again. A container cannot
# download a Rust toolchain, so this machine's (rustc, cargo, rustfmt, clippy, cargo-nextest)
# is mounted read-only, with the CA bundle this machine's HTTPS needs. The container shares
# this machine's network and Docker daemon, as the tests' Docker daemon and registries meet on
# 127.0.0.1; and this machine's /tmp, since a test's temporary directory given to `docker run -v`
# is a path the daemon looks up on this machine. Needs root (debootstrap; CAP_SYS_ADMIN in the container for Podman's service).
set -euo pipefail
cd "$(dirname "$0")/.."
image=pydive-fresh-debian:bookworm
user=root
if [ "${1:-}" = --sudo ]; then
  user=newcomer
  shift
fi
command=${1:-./.ci/run}

if ! docker image inspect "$image" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || apt-get install -y --no-install-recommends debootstrap
  root=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
  tar -C "$root" -c . | docker import - "$image"
  rm -rf "$root"
fi

clone=$(mktemp -d /tmp/pydive-fresh.XXXXXX)
# As a checkout usually is: a test runs pydive as the user nobody, who must reach it.
chmod 755 "$clone"
git clone --quiet --no-local "$PWD" "$clone/pydive"
toolchain=$(dirname "$(dirname "$(rustup which cargo)")")
ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}

# As --sudo: a user who may sudo, as on a developer's machine; root's part installs sudo.
setup='true'
if [ "$user" != root ]; then
  setup="apt-get update -qq && apt-get install -y -qq --no-install-recommends sudo >/dev/null \
    && useradd -m $user && echo '$user ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/$user \
    && cp -r /src/pydive /home/$user/ && chown -R $user /home/$user/pydive"
fi
dir=/src/pydive
[ "$user" != root ] && dir=/home/$user/pydive

start=$(date +%s)
status=0
docker run --rm --network host --cap-add SYS_ADMIN \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v "$toolchain:/opt/rust:ro" \
  -v "$(command -v cargo-nextest):/usr/local/bin/cargo-nextest:ro" \
  -v "$ca:/opt/host-ca.crt:ro" \
  -v "$clone:/src" \
  -v /tmp:/tmp \
  -e CI="${CI:-}" \
  -e SSL_CERT_FILE=/opt/host-ca.crt -e PIP_CERT=/opt/host-ca.crt -e CARGO_HTTP_CAINFO=/opt/host-ca.crt \
  "$image" /bin/bash -c "$setup && cd $dir && \
    su $user -c 'export PATH=/opt/rust/bin:\$PATH SSL_CERT_FILE=\$SSL_CERT_FILE PIP_CERT=\$PIP_CERT \
      CARGO_HTTP_CAINFO=\$CARGO_HTTP_CAINFO CI=\$CI; $command'" || status=$?
echo "fresh-debian: $command as $user exited $status after $(($(date +%s) - start)) s"
rm -rf "$clone"
exit "$status"
