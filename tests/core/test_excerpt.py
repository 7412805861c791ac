"""Excerpts of file content in messages: short, escaped, never cut inside an escape."""

from __future__ import annotations

from gym_conform.core.excerpt import EXCERPT_CHARS, excerpt, quoted, shortened


def test_short_values_are_shown_whole_as_json():
    assert excerpt("MIT") == '"MIT"'
    assert excerpt({"a": [1, None]}) == '{"a": [1, null]}'
    assert quoted("Apache 2.0") == "'Apache 2.0'"
    assert quoted(3) == "3"


def test_unprintable_characters_are_escaped_so_the_message_shows_what_the_file_holds():
    assert quoted("a\x1b[31mb\u202ec") == "'a\\u001b[31mb\\u202ec'"
    assert shortened("x\x07y") == "x\\u0007y"


def test_long_values_are_cut_to_the_limit_with_an_ellipsis_and_never_inside_an_escape():
    long = excerpt("y" * 10_000)
    assert len(long) == EXCERPT_CHARS and long.endswith("…")
    cut = shortened("z" * 95 + "\x1b" * 10)
    assert len(cut) <= EXCERPT_CHARS and cut.endswith("z…")
    assert len(quoted("q" * 500)) == EXCERPT_CHARS and quoted("q" * 500).endswith("…'")
