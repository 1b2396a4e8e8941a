#!/usr/bin/env python3
"""flamegraph.py [FOLDED] > graph.svg: a flame graph (SVG) of folded stacks.

Reads "frame;frame;...;frame count" lines (the profiler's folded output,
PARKING_PROFILE_FORMAT=folded, docs/profiling.md) from FOLDED or standard input and writes
an SVG: the outermost frame at the bottom, each frame as wide as the counts of the stacks
that pass through it (for the profiler: microseconds waited).  Python's standard library
only, so that no new dependency comes with it; Brendan Gregg's flamegraph.pl and speedscope
read the same input.
"""
import html
import sys
import zlib

WIDTH = 1200
ROW = 18
FONT = 11
PAD = 10


def parse(lines):
    root = {"name": "all", "count": 0, "children": {}}
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        node = root
        node["count"] += n
        for frame in stack.split(";"):
            child = node["children"].setdefault(
                frame, {"name": frame, "count": 0, "children": {}})
            child["count"] += n
            node = child
    return root


def depth(node):
    return 1 + max((depth(c) for c in node["children"].values()), default=0)


def colour(name):
    h = zlib.crc32(name.encode())
    if name.startswith(("mutex ", "rwlock ", "bitlock ", "cond ", "wait ")):
        return "rgb(%d,%d,%d)" % (90 + h % 40, 130 + h % 50, 200 + h % 40)
    return "rgb(%d,%d,%d)" % (220 + h % 35, 90 + (h >> 8) % 110, 40 + (h >> 16) % 40)


def emit(node, x, level, scale, height, out):
    w = node["count"] * scale
    if w < 0.5:
        return
    y = height - PAD - (level + 1) * ROW
    label = node["name"]
    title = "%s (%d)" % (label, node["count"])
    chars = int((w - 6) / (FONT * 0.6))
    text = label if len(label) <= chars else (label[: chars - 2] + ".." if chars > 3 else "")
    out.append('<g><title>%s</title><rect x="%.1f" y="%d" width="%.1f" height="%d" '
               'fill="%s" rx="2"/>' % (html.escape(title), x, y, w, ROW - 1, colour(label)))
    if text:
        out.append('<text x="%.1f" y="%d">%s</text>' % (x + 3, y + ROW - 5, html.escape(text)))
    out.append("</g>")
    cx = x
    for child in sorted(node["children"].values(), key=lambda c: c["name"]):
        emit(child, cx, level + 1, scale, height, out)
        cx += child["count"] * scale


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    root = parse(src)
    if root["count"] == 0:
        sys.exit("flamegraph.py: no stacks in the input")
    rows = depth(root)
    height = rows * ROW + 2 * PAD + 24
    scale = (WIDTH - 2 * PAD) / root["count"]
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="monospace" font-size="%d">' % (WIDTH, height, FONT),
           '<rect width="100%" height="100%" fill="#fdfdf6"/>',
           '<text x="%d" y="%d" font-size="14">Contention flame graph '
           '(width: time waited, %d us in all)</text>' % (PAD, PAD + 12, root["count"])]
    emit(root, PAD, 0, scale, height, out)
    out.append("</svg>")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
