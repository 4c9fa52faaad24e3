"""The colours a select option or a workflow state may carry: the design system's (Tabler's) named colours.

A badge of colour c reads ``bg-<c>-lt``; anything else is shown grey.
"""

from __future__ import annotations

PALETTE = (
    "gray",
    "blue",
    "azure",
    "indigo",
    "purple",
    "pink",
    "red",
    "orange",
    "yellow",
    "lime",
    "green",
    "teal",
)
