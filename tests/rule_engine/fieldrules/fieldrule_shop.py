"""The metadata of the field-rule tests: members, their orders and order lines."""

from __future__ import annotations

import copy
from typing import Any

from rule_engine.testing.world import entity, select_field

TWELVE_MONTHS = "placed >= add_months(today(), -12)"


def shop(**changes: Any) -> dict[str, Any]:
    """Return the shop bundle; ``changes`` replace whole entity documents."""
    bundle: dict[str, Any] = {
        "entity": {
            "member": entity(
                "member",
                [
                    {"name": "name", "type": "text", "required": True},
                    {
                        "name": "spent_12m",
                        "type": "currency",
                        "rules": {
                            "rollup": {
                                "source": "purchase.member",
                                "kind": "sum",
                                "field": "amount",
                                "filter": TWELVE_MONTHS,
                            }
                        },
                    },
                    {
                        "name": "lifetime",
                        "type": "currency",
                        "rules": {"rollup": {"source": "purchase.member", "kind": "sum", "field": "total"}},
                    },
                    {
                        "name": "orders",
                        "type": "integer",
                        "rules": {"rollup": {"source": "purchase.member", "kind": "count"}},
                    },
                    {
                        "name": "biggest",
                        "type": "currency",
                        "rules": {"rollup": {"source": "purchase.member", "kind": "max", "field": "amount"}},
                    },
                    {
                        "name": "first_order",
                        "type": "date",
                        "rules": {"rollup": {"source": "purchase.member", "kind": "min", "field": "placed"}},
                    },
                    select_field(
                        "tier",
                        ["standard", "gold"],
                        rules={"formula": "if(spent_12m >= 1000, 'gold', 'standard')"},
                    ),
                ],
                title_field="name",
            ),
            "purchase": entity(
                "purchase",
                [
                    {"name": "title", "type": "text"},
                    {"name": "member", "type": "link", "target": "member", "on_delete": "cascade"},
                    {"name": "amount", "type": "currency"},
                    {"name": "placed", "type": "date", "rules": {"default": "today()"}},
                    {"name": "lines", "type": "child_table", "child_entity": "order_line"},
                    {
                        "name": "total",
                        "type": "currency",
                        "rules": {"rollup": {"source": "lines", "kind": "sum", "field": "amount"}},
                    },
                    {
                        "name": "line_count",
                        "type": "integer",
                        "rules": {"rollup": {"source": "lines", "kind": "count"}},
                    },
                    {
                        "name": "big_lines",
                        "type": "integer",
                        "rules": {"rollup": {"source": "lines", "kind": "count", "filter": "amount >= 100"}},
                    },
                    {
                        "name": "cheapest",
                        "type": "currency",
                        "rules": {"rollup": {"source": "lines", "kind": "min", "field": "price"}},
                    },
                    {
                        "name": "dearest",
                        "type": "currency",
                        "rules": {"rollup": {"source": "lines", "kind": "max", "field": "price"}},
                    },
                    {"name": "discount", "type": "currency"},
                    {
                        "name": "net",
                        "type": "currency",
                        "rules": {"formula": "total - coalesce(discount, 0)"},
                    },
                ],
            ),
            "order_line": entity(
                "order_line",
                [
                    {"name": "item", "type": "text", "required": True},
                    {"name": "qty", "type": "integer", "rules": {"default": "1"}},
                    {"name": "price", "type": "currency"},
                    {"name": "amount", "type": "currency", "rules": {"formula": "qty * price"}},
                ],
                is_child=True,
            ),
        }
    }
    for name, doc in changes.items():
        bundle["entity"][name] = copy.deepcopy(doc)
    return bundle
