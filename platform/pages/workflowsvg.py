"""The workflow diagram drawn on the server: a layered layout of the states (rounded boxes tinted with the
state option's colour) and the transitions as labelled arrows. No script and no library: an inline SVG,
top to bottom (or left to right), never drawn larger than its natural size; every text escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

BOX_W, BOX_H = 148.0, 44.0
NAMED = frozenset("blue azure indigo purple pink red orange yellow lime green teal cyan gray dark".split())
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class Node:
    """A state placed on the drawing."""

    name: str
    label: str
    colour: str
    x: float
    y: float
    initial: bool
    final: bool


@dataclass(frozen=True)
class Edge:
    """A transition from one state to another (a transition from several states gives several edges)."""

    source: str
    target: str
    label: str
    guard: str
    any_state: bool


def tone(colour: str | None) -> str:
    """A CSS colour for an option colour: a Tabler name or #hex, grey otherwise (never raw input)."""
    if colour in NAMED:
        return f"var(--tblr-{colour})"
    if colour and colour.startswith("#") and len(colour) in (4, 7) and set(colour[1:]) <= _HEX_DIGITS:
        return colour
    return "var(--tblr-secondary)"


def layers(states: Sequence[str], edges: Sequence[Edge], first: str) -> dict[str, int]:
    """Each state's layer: its distance from the initial state (unreachable ones after the rest)."""
    found = {first: 0}
    queue = [first]
    while queue:
        current = queue.pop(0)
        for edge in edges:
            if edge.source == current and edge.target not in found and not edge.any_state:
                found[edge.target] = found[current] + 1
                queue.append(edge.target)
    last = max(found.values(), default=0)
    for state in states:
        found.setdefault(state, last + 1)
    return found


def _edges(doc: Mapping[str, Any], names: Sequence[str], label_of: Any) -> list[Edge]:
    edges = []
    for transition in doc.get("transitions") or []:
        target = str(transition.get("to"))
        sources = [str(s) for s in transition.get("from") or []]
        wild = "*" in sources
        if wild:
            sources = [n for n in names if n != target]
        for source in sources:
            if source in names and target in names:
                label = label_of(transition, str(transition.get("name")))
                edges.append(Edge(source, target, label, str(transition.get("guard") or ""), wild))
    return edges


def place(doc: Mapping[str, Any], colours: Mapping[str, str], label_of: Any, vertical: bool) -> list[Node]:
    """Lay the states out in layers (columns, or rows when ``vertical``)."""
    states = [s for s in doc.get("states") or [] if s.get("name")]
    names = [str(s["name"]) for s in states]
    if not names:
        return []
    first = next((str(s["name"]) for s in states if s.get("initial")), names[0])
    layer = layers(names, _edges(doc, names, label_of), first)
    slots: dict[int, int] = {}
    nodes = []
    for state in states:
        name = str(state["name"])
        slot = slots.get(layer[name], 0)
        slots[layer[name]] = slot + 1
        along, across = (
            40 + layer[name] * (BOX_H + 70 if vertical else BOX_W + 110),
            30 + slot * (BOX_W + 24 if vertical else BOX_H + 56),
        )
        x, y = (across, along) if vertical else (along, across)
        nodes.append(
            Node(
                name,
                label_of(state, name),
                tone(colours.get(name)),
                x,
                y,
                bool(state.get("initial")),
                bool(state.get("final")),
            )
        )
    return nodes


def _clip(cx: float, cy: float, dx: float, dy: float) -> tuple[float, float]:
    """Where the ray from a box's centre towards (dx, dy) leaves the box."""
    scale = min(
        (BOX_W / 2 + 3) / abs(dx) if dx else math.inf,
        (BOX_H / 2 + 3) / abs(dy) if dy else math.inf,
    )
    return cx + dx * scale, cy + dy * scale


def _text_width(text: str) -> float:
    return sum(13.0 if ord(ch) > 0x2E80 else 7.0 for ch in text) + 10


def _short(text: str, room: float) -> str:
    while len(text) > 1 and _text_width(text) > room:
        text = text[:-2] + "…"
    return text


def _edge_svg(edge: Edge, nodes: Mapping[str, Node], bend: float, marker: str) -> Markup:
    a, b = nodes[edge.source], nodes[edge.target]
    ax, ay, bx, by = a.x + BOX_W / 2, a.y + BOX_H / 2, b.x + BOX_W / 2, b.y + BOX_H / 2
    length = math.hypot(bx - ax, by - ay) or 1.0
    nx, ny = -(by - ay) / length, (bx - ax) / length  # the normal: bends go sideways
    mx, my = (ax + bx) / 2 + nx * bend, (ay + by) / 2 + ny * bend
    sx, sy = _clip(ax, ay, mx - ax, my - ay)
    ex, ey = _clip(bx, by, mx - bx, my - by)
    # The label sits on the curve's middle (a quadratic's midpoint is halfway to its control point).
    lx, ly = (sx + ex) / 4 + mx / 2, (sy + ey) / 4 + my / 2
    text = ("◇ " if edge.guard else "") + edge.label
    text = _short(text, 150)
    width = _text_width(text)
    dash = ' stroke-dasharray="5 4"' if edge.any_state else ""
    title = f"{edge.label}: {edge.guard}" if edge.guard else edge.label
    return Markup(
        '<g class="crm-wf-edge"><title>{title}</title>'
        '<path d="M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}" fill="none" stroke="#5b6b82" '
        'stroke-width="1.6"{dash} marker-end="url(#{marker})"/>'
        '<rect x="{rx:.1f}" y="{ry:.1f}" width="{w:.1f}" height="20" rx="4" fill="#ffffff" stroke="#dce1e7"/>'
        '<text x="{lx:.1f}" y="{ty:.1f}" text-anchor="middle" font-size="12" fill="#1d273b">{text}</text></g>'
    ).format(
        title=title,
        sx=sx,
        sy=sy,
        mx=mx,
        my=my,
        ex=ex,
        ey=ey,
        dash=Markup(dash),
        marker=marker,
        rx=lx - width / 2,
        ry=ly - 10,
        w=width,
        lx=lx,
        ty=ly + 4,
        text=text,
    )


def _node_svg(node: Node) -> Markup:
    text = _short(node.label, BOX_W - 12)
    border = 3.0 if node.initial else 1.6
    double = (
        Markup(
            '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="9" fill="none" '
            'style="stroke: {c}" stroke-width="1"/>'
        ).format(x=node.x + 4, y=node.y + 4, w=BOX_W - 8, h=BOX_H - 8, c=node.colour)
        if node.final
        else Markup("")
    )
    return Markup(
        '<g class="crm-wf-state" data-state="{name}"><title>{label}</title>'
        '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="12" fill="#ffffff"/>'
        '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="12" '
        'style="fill: {c}; stroke: {c}" fill-opacity="0.16" stroke-width="{b}"/>{double}'
        '<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="middle" font-size="14" font-weight="600" '
        'fill="#1d273b">{text}</text></g>'
    ).format(
        name=node.name,
        label=node.label,
        x=node.x,
        y=node.y,
        w=BOX_W,
        h=BOX_H,
        c=node.colour,
        b=border,
        double=double,
        tx=node.x + BOX_W / 2,
        ty=node.y + BOX_H / 2 + 5,
        text=text,
    )


def diagram(
    doc: Mapping[str, Any],
    colours: Mapping[str, str],
    label_of: Any,
    *,
    vertical: bool = False,
    title: str = "",
    description: str = "",
) -> Markup:
    """Return the workflow as an inline ``<svg>`` (states laid out in layers, transitions as arrows)."""
    nodes = place(doc, colours, label_of, vertical)
    if not nodes:
        return Markup("")
    by_name = {n.name: n for n in nodes}
    suffix = "v" if vertical else "h"
    marker = f"crm-wf-arrow-{suffix}"
    seen: dict[frozenset[str], int] = {}
    edges = []
    for edge in _edges(doc, list(by_name), label_of):
        if edge.source == edge.target:
            continue
        pair = frozenset((edge.source, edge.target))
        count = seen.get(pair, 0)
        seen[pair] = count + 1
        # Parallel and opposite arrows bend apart; the first of a pair is straight unless it goes back.
        bend = (count + 1) // 2 * 46 * (1 if count % 2 else -1) if count else 0.0
        a, b = by_name[edge.source], by_name[edge.target]
        if not count and math.hypot(a.x - b.x, a.y - b.y) > 1.5 * (BOX_H + 70 if vertical else BOX_W + 110):
            bend = 56.0  # skips a layer: bend around the states in between
        edges.append(_edge_svg(edge, by_name, bend, marker))
    width = max(n.x for n in nodes) + BOX_W + 40
    height = max(n.y for n in nodes) + BOX_H + 40
    return Markup(
        '<svg class="crm-wf-diagram crm-wf-{suffix}" viewBox="0 0 {w:.0f} {h:.0f}" style="max-width: {w:.0f}px" role="img" '
        'aria-labelledby="crm-wf-title-{suffix} crm-wf-desc-{suffix}" xmlns="http://www.w3.org/2000/svg" '
        "font-family=\"system-ui, -apple-system, 'Segoe UI', 'Noto Sans SC', sans-serif\">"
        '<title id="crm-wf-title-{suffix}">{title}</title><desc id="crm-wf-desc-{suffix}">{desc}</desc>'
        '<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5b6b82"/></marker></defs>'
        "{edges}{nodes}</svg>"
    ).format(
        suffix=suffix,
        w=width,
        h=height,
        title=title,
        desc=description,
        marker=marker,
        edges=Markup("").join(edges),
        nodes=Markup("").join(_node_svg(n) for n in nodes),
    )


__all__ = ["diagram", "layers", "place", "tone"]
