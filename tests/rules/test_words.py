"""Plurals in generated names and fix titles (no `findSimilarPlayerses`)."""

from __future__ import annotations

import pytest

from convex_xray.rules.n_plus_one_call import _batch_name
from convex_xray.rules.support.words import last_word, plural, singular


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("player", "players"),
        ("players", "players"),
        ("category", "categories"),
        ("key", "keys"),
        ("coach", "coaches"),
        ("box", "boxes"),
        ("status", "statuses"),
        ("alias", "aliases"),
        ("class", "classes"),
    ],
)
def test_plural(word, expected):
    assert plural(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("users", "user"),
        ("categories", "category"),
        ("coaches", "coach"),
        ("addresses", "address"),
        ("status", "status"),
        ("orderStatus", "orderStatus"),
        ("analysis", "analysis"),
        ("class", "class"),
        ("alias", "alias"),
        ("player", "player"),
    ],
)
def test_singular(word, expected):
    assert singular(word) == expected


def test_last_word():
    assert last_word("findSimilarPlayers") == "Players"
    assert last_word("get_user") == "user"
    assert last_word("loadURL") == "URL"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("internal.players.getPlayer", "internal.players.getPlayers"),
        ("internal.players.findSimilarPlayers", "internal.players.findSimilarPlayersBatch"),
        ("internal.players.lookupAlias", "internal.players.lookupAliases"),
        ("internal.keys.getKey", "internal.keys.getKeys"),
        ("internal.teams.getCategory", "internal.teams.getCategories"),
        ("internal.voiceNotes.transcribe", "internal.voiceNotes.transcribeMany"),
        ("internal.users.get", "internal.users.getMany"),
        ("internal.insights.applyOne", "internal.insights.applyMany"),
    ],
)
def test_batch_function_names(ref, expected):
    assert _batch_name(ref) == expected
