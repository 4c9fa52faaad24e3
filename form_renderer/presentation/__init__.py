"""Field-type presentation: display, list cell, form widget and filter widget per registered type."""

from __future__ import annotations

from form_renderer.presentation.base import (
    EMPTY,
    DisplayContext,
    FilterWidget,
    Presentation,
    PresentationRegistry,
    Shown,
    register_all,
)
from form_renderer.presentation.builtin import BUILTIN_PRESENTATIONS


def register_builtin_presentations(registry: PresentationRegistry) -> PresentationRegistry:
    """Register the presentation of every built-in field type into ``registry`` and return it."""
    return register_all(registry, BUILTIN_PRESENTATIONS)


__all__ = [
    "BUILTIN_PRESENTATIONS",
    "EMPTY",
    "DisplayContext",
    "FilterWidget",
    "Presentation",
    "PresentationRegistry",
    "Shown",
    "register_builtin_presentations",
]
