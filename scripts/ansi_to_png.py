#!/usr/bin/python3
"""Draws a terminal screen, as `tmux capture-pane -e -p` prints it (text with SGR escapes),
into a PNG: pyte replays the escapes onto a grid of cells, Pillow draws each cell in DejaVu
Sans Mono. Debian: python3-pyte, python3-pil, fonts-dejavu-core.

usage: ansi_to_png.py COLUMNS ROWS OUTPUT.png < screen.ansi
"""

import sys

import pyte
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
FOREGROUND = "#d8dee9"
BACKGROUND = "#1d2129"
# The 16 ANSI colours, by pyte's names and by the xterm values pyte gives 256-colour indices 0-15.
NAMED = {
    "black": "#3b4252", "red": "#e0585b", "green": "#8fc270", "brown": "#e5b85c",
    "yellow": "#e5b85c", "blue": "#5e8dd6", "magenta": "#c27ab8", "cyan": "#5fb8c2",
    "white": "#d8dee9", "brightblack": "#6b7385", "brightred": "#ff7b7e",
    "brightgreen": "#a9de89", "brightbrown": "#ffd17a", "brightyellow": "#ffd17a",
    "brightblue": "#82aaff", "brightmagenta": "#e09ad6", "brightcyan": "#82dde6",
    "brightwhite": "#eceff4",
}
XTERM = dict(zip(
    ["000000", "cd0000", "00cd00", "cdcd00", "0000ee", "cd00cd", "00cdcd", "e5e5e5",
     "7f7f7f", "ff0000", "00ff00", "ffff00", "5c5cff", "ff00ff", "00ffff", "ffffff"],
    ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
     "brightblack", "brightred", "brightgreen", "brightyellow", "brightblue",
     "brightmagenta", "brightcyan", "brightwhite"],
))


def colour(value, default):
    if value == "default":
        return default
    if value in NAMED:
        return NAMED[value]
    if value.lower() in XTERM:
        return NAMED[XTERM[value.lower()]]
    return "#" + value


def main():
    columns, rows, output = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    screen = pyte.Screen(columns, rows)
    stream = pyte.Stream(screen)
    # capture-pane ends lines with \n only; a terminal needs the carriage return too.
    stream.feed(sys.stdin.read().replace("\n", "\r\n"))

    regular, bold = ImageFont.truetype(FONT, SIZE), ImageFont.truetype(BOLD, SIZE)
    width = round(regular.getlength("M"))
    ascent, descent = regular.getmetrics()
    height = ascent + descent
    margin = 12
    image = Image.new("RGB", (columns * width + 2 * margin, rows * height + 2 * margin), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for y in range(rows):
        line = screen.buffer[y]
        for x in range(columns):
            cell = line[x]
            fg, bg = colour(cell.fg, FOREGROUND), colour(cell.bg, BACKGROUND)
            if cell.reverse:
                fg, bg = bg, fg
            left, top = margin + x * width, margin + y * height
            if bg != BACKGROUND:
                draw.rectangle([left, top, left + width - 1, top + height - 1], fill=bg)
            if cell.data.strip():
                draw.text((left, top), cell.data, font=bold if cell.bold else regular, fill=fg)
    image.save(output, optimize=True)


if __name__ == "__main__":
    main()
