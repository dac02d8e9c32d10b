"""Version comparison and the dispatcher's check, as DTFx VersioningSettings defines them."""

from __future__ import annotations

import pytest

from helpers.host.engine.versioning import Versioning, compare_versions


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        (None, None, 0),
        ("", None, 0),
        (None, "1.0", -1),
        ("1.0", "", 1),
        ("1.0", "1.0", 0),
        ("1.0", "2.0", -1),
        ("1.10", "1.9", 1),  # numeric, not text
        ("1.0", "1.0.0", -1),  # System.Version: an absent part is -1
        ("1", "2", -1),
        ("10", "9", -1),  # one part is not a System.Version: compared as text
        ("v1.0-RELEASE", "v1.0-release", 0),  # case-insensitive text
    ],
)
def test_compare_versions(a, b, sign) -> None:
    assert compare_versions(a, b) == sign
    assert compare_versions(b, a) == -sign


def test_current_or_older_refuses_only_newer_instances() -> None:
    host = Versioning(default_version="2.0")
    assert host.accepts("2.0") and host.accepts("1.0") and host.accepts(None) and not host.accepts("3.0")


def test_without_a_default_version_an_explicit_version_is_newer_than_the_host() -> None:
    assert Versioning().accepts(None) and not Versioning().accepts("1.5")


def test_strict_requires_the_same_version_and_none_accepts_all() -> None:
    strict = Versioning(default_version="2.0", match_strategy="Strict")
    assert strict.accepts("2.0") and not strict.accepts("1.0") and not strict.accepts(None)
    assert Versioning(default_version="2.0", match_strategy="None").accepts("9.9")
