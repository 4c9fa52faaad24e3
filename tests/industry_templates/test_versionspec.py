"""Version numbers and specifiers of packs, plugins and the platform."""

from __future__ import annotations

import pytest

from industry_templates.versionspec import check_specifier, parse_version, satisfies


def test_versions_are_padded_triples_of_plain_numbers() -> None:
    assert parse_version("1") == (1, 0, 0)
    assert parse_version(" 1.2 ") == (1, 2, 0)
    assert parse_version("10.2.3") > parse_version("9.20.30")
    for bad in ("", "1.2.3.4", "v1", "1.0a1", "1..2"):
        with pytest.raises(ValueError, match="is not a version"):
            parse_version(bad)


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("1.0.0", "==1.0", True),
        ("1.0.1", "==1.0", False),
        ("1.0.0", "!=1", False),
        ("1.1.0", ">=1.0,<2.0", True),
        ("2.0.0", ">=1.0,<2.0", False),
        ("1.0.0", ">1.0", False),
        ("1.0.1", " > 1.0 ", True),
        ("0.9.9", "<=1.0", True),
        ("10.0.0", ">9.99", True),
    ],
)
def test_a_version_meets_every_clause_of_a_specifier(version: str, spec: str, expected: bool) -> None:
    assert satisfies(version, spec) is expected


def test_only_plain_comparison_clauses_are_specifiers() -> None:
    assert check_specifier(">=1.0, <2") is None
    assert check_specifier("  ") == "an empty version specifier; write e.g. '>=1.0'"
    for bad in ("~=1.0", "==1.*", ">=1.0a1", "1.0", ">=1.0,,<2"):
        problem = check_specifier(bad)
        assert problem is not None and "is not a version clause" in problem
        with pytest.raises(ValueError, match="is not a version clause"):
            satisfies("1.0.0", bad)
