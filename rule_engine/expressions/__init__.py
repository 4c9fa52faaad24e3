"""The expression language of rules: parsed with py-expression-eval, type-checked, compiled to closures."""

from rule_engine.expressions.cache import ExpressionCache
from rule_engine.expressions.compiler import AggregateSpec, CompiledExpression, compile_expression
from rule_engine.expressions.context import DictContext
from rule_engine.expressions.errors import EvaluationError, ExpressionError
from rule_engine.expressions.functions import Function, FunctionRegistry, register_builtin_functions
from rule_engine.expressions.record_context import RecordContext
from rule_engine.expressions.sql import to_sql
from rule_engine.expressions.values import python_value

__all__ = [
    "AggregateSpec",
    "CompiledExpression",
    "DictContext",
    "EvaluationError",
    "ExpressionCache",
    "ExpressionError",
    "Function",
    "FunctionRegistry",
    "RecordContext",
    "compile_expression",
    "python_value",
    "register_builtin_functions",
    "to_sql",
]
