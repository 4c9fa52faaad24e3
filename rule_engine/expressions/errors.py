"""Errors of the expression language."""

from __future__ import annotations

from metamodel.errors import Problem


class ExpressionError(Exception):
    """An expression cannot be compiled: a syntax, name or type error at a position of the source."""

    def __init__(self, message: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{message}{where}")
        self.message = f"{message}{where}"
        self.position = position

    def as_problem(self, path: str) -> Problem:
        """Return this error as a metadata problem at ``path``."""
        return Problem(path, self.message, "expression")


class EvaluationError(ExpressionError):
    """An expression failed while running: division by zero, a too large result, too much time."""
