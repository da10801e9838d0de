"""What a person's search text means: its words, and only its words.

Every character that is not a letter or a digit separates words, so nothing a person types
can reach a database's query syntax (quotes, `*`, `:`, `&`, `NEAR`, …); the store quotes
each word. Text too long to be a search, or with no word in it, is no search at all.
"""

from __future__ import annotations

import re

# A search is a few words: more are left out, and text this long is not a search.
MAX_WORDS = 8
MAX_CHARS = 300
MAX_WORD = 40

_WORD = re.compile(r"[^\W_]+")


def search_words(typed: str) -> tuple[str, ...]:
    """The words to look for, lower-cased, each once, at most MAX_WORDS of them (each cut to
    MAX_WORD characters); none for text with no letter or digit, or longer than MAX_CHARS."""
    if len(typed) > MAX_CHARS:
        return ()
    words = dict.fromkeys(w.lower()[:MAX_WORD] for w in _WORD.findall(typed))
    return tuple(words)[:MAX_WORDS]
