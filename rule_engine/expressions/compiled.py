"""What compiling an expression yields: the compiled expression and the aggregate specs it reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from metamodel.model import EntityModel
from rule_engine.expressions.ast import Node
from rule_engine.expressions.operations import EVALUATION_ERRORS, evaluation_failed
from rule_engine.expressions.values import MappingContext

Fn = Callable[[Any], Any]
# The file name of every function the codegen backend generates: how such a function is recognised.
GENERATED_FILENAME = "<expression>"


def is_generated(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is a generated function (rather than a closure of the closure backend)."""
    code = getattr(fn, "__code__", None)
    return code is not None and code.co_filename == GENERATED_FILENAME and code.co_name == "_expr"


@dataclass(frozen=True)
class AggregateSpec:
    """An aggregate over a child table or the records that link to this one."""

    kind: str  # count | sum | min_of | max_of | last_n_count
    source: EntityModel
    link_field: str | None  # "<entity>.<link field>" sources
    parent_field: str | None  # child-table sources
    field: str | None
    condition: CompiledExpression | None
    n: int = 0
    order_field: str = "created_at"
    sibling: bool = False  # "<this entity>.<link>": records sharing this record's link value


@dataclass
class CompiledExpression:
    """A checked expression ready to evaluate many times."""

    text: str
    entity: str
    result_type: str
    fields_used: set[str]
    node: Node
    fn: Fn = field(repr=False)
    aggregates: list[AggregateSpec] = field(default_factory=list)
    # Reads only the record's own fields: evaluate_record may be used (RecordContext semantics).
    record_only: bool = False
    record_fn: Callable[[Mapping[str, Any], dt.datetime], Any] | None = field(default=None, repr=False)
    model: EntityModel | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if is_generated(self.fn):
            # A generated function maps errors itself: calling it directly saves a call per evaluation.
            self.evaluate = self.fn  # type: ignore[method-assign,assignment]
        if self.record_fn is not None:
            self.evaluate_record = self.record_fn  # type: ignore[method-assign,assignment]

    def evaluate(self, context: Any) -> Any:
        """Evaluate against a context giving field values, links, aggregates and ``now``."""
        try:
            return self.fn(context)
        except EVALUATION_ERRORS as exc:
            evaluation_failed(exc)

    def evaluate_record(self, record: Mapping[str, Any], now: dt.datetime) -> Any:
        """Evaluate on a record mapping as a RecordContext over it would, for ``record_only`` expressions.

        Missing fields are null; JSON-form dates, datetimes and decimals are converted. This is the
        closure-backend fallback; a generated record function replaces it on the instance.
        """
        if not self.record_only or self.model is None:
            raise TypeError(f"{self.text!r} follows links or aggregates: evaluate it with a RecordContext")
        return self.evaluate(MappingContext(self.model, record, now))


__all__ = ["GENERATED_FILENAME", "AggregateSpec", "CompiledExpression", "Fn", "is_generated"]
