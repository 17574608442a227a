"""English for generated names and messages: plurals of nouns and of camelCase identifiers."""

from __future__ import annotations

import re

# (`-as`: alias, canvas; rarer plurals like `ideas` are taken as singular)
_ES_ENDINGS = ("ss", "us", "is", "as", "x", "z", "ch", "sh")


def is_plural(word: str) -> bool:
    """`players`, `aliases`: ends in a plural `s` (not `status`, `class`, `analysis`)."""
    return word.endswith("s") and not word.endswith(_ES_ENDINGS)


def plural(word: str) -> str:
    """The plural of a noun or of a camelCase identifier's last word: `player` -> `players`,
    `category` -> `categories`, `key` -> `keys`, `coach` -> `coaches`, `status` ->
    `statuses`; a word that is already plural is kept (`players`)."""
    if is_plural(word):
        return word
    if word.endswith("y") and len(word) > 1 and word[-2].lower() not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(_ES_ENDINGS):
        return word + "es"
    return word + "s"


def singular(word: str) -> str:
    """`categories` -> `category`, `coaches` -> `coach`, `users` -> `user`; a word that is not
    plural (`is_plural`) is kept: `status`, `analysis`, `class`, `alias`."""
    if not is_plural(word):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]  # coaches -> coach
    return word[:-1]


def last_word(identifier: str) -> str:
    """`findSimilarPlayers` -> `Players`, `get_user` -> `user`."""
    parts = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])|_", identifier)
    words = [p for p in parts if p != "_"]
    return words[-1] if words else identifier
