#!/usr/bin/env bash
# The pictures in the README, made from the real program: docs/images/*.png. Run it again after
# a change to what they show, and commit the PNGs.
#
# A terminal shot runs pydive in a detached tmux server of its own, types keys into it, and
# draws the captured screen (text and colour escapes) with scripts/ansi_to_png.py. A page shot
# opens an HTML report in headless Chromium at 1280x800. To add a picture, write a function
# that makes docs/images/NAME.png and list it in `shots` at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/images
mkdir -p "$out"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# Debian's python3 (not a virtual environment's) with Debian's pyte and Pillow.
python=/usr/bin/python3
missing=()
command -v tmux >/dev/null || missing+=(tmux)
"$python" -c 'import pyte' 2>/dev/null || missing+=(python3-pyte)
"$python" -c 'import PIL' 2>/dev/null || missing+=(python3-pil)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || missing+=(fonts-dejavu-core)
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cargo build --quiet
pydive=$PWD/target/debug/pydive
socket=pydive-screenshots-$$
trap 'tmux -L "$socket" kill-server 2>/dev/null || true' EXIT

# The screen, with colours, once it has stopped changing.
settled_screen() {
  local before="" now
  for _ in $(seq 50); do
    sleep 0.2
    now=$(tmux -L "$socket" capture-pane -t shot -e -p)
    [ "$now" = "$before" ] && [ -n "$now" ] && break
    before=$now
  done
  printf '%s' "$now"
}

# terminal_shot NAME COLUMNS ROWS COMMAND [KEYS...]: runs COMMAND in a COLUMNS x ROWS terminal,
# sends each KEYS argument (tmux send-keys names: Tab, Enter, ']', ...) after the screen settles,
# and writes docs/images/NAME.png.
terminal_shot() {
  local name=$1 columns=$2 rows=$3 command=$4
  shift 4
  tmux -L "$socket" kill-server 2>/dev/null || true
  tmux -L "$socket" new-session -d -s shot -x "$columns" -y "$rows" \
    "env TERM=xterm-256color COLORTERM= $command; sleep 600"
  settled_screen >/dev/null
  for key in "$@"; do
    tmux -L "$socket" send-keys -t shot "$key"
    settled_screen >/dev/null
  done
  settled_screen | "$python" scripts/ansi_to_png.py "$columns" "$rows" "$out/$name.png"
  tmux -L "$socket" kill-server
  echo "wrote $out/$name.png"
}

# The explorer on the demo image, on the layer that installs the Python packages.
explorer() {
  terminal_shot explorer 120 36 "$pydive demo" ']' ']' ']' ']' ']'
}

# The explorer's treemap of the whole image as of the last layer.
explorer_treemap() {
  terminal_shot explorer-treemap 120 36 "$pydive demo" ']' ']' ']' ']' ']' ']' ']' m t
}

# page_shot NAME HTML: a 1280x800 screenshot of the top of a page, as a reader first sees it.
page_shot() {
  local name=$1 html=$2 profile
  profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$profile" --window-size=1280,800 \
    --screenshot="$PWD/$out/$name.png" "file://$html" >/dev/null 2>&1
  rm -rf "$profile"
  echo "wrote $out/$name.png"
}

# The HTML report of the demo image.
html_report() {
  local dir
  dir=$(mktemp -d)
  "$pydive" demo --format html >"$dir/report.html"
  page_shot html-report "$dir/report.html"
  rm -rf "$dir"
}

shots=(explorer explorer_treemap html_report)
for shot in "${shots[@]}"; do "$shot"; done
