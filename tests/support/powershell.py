"""PowerShell's verbatim (single-quoted) string literal, read as the language specification defines it.

No ``pwsh`` can be installed here from the package registries this project uses (PyPI, Debian, npm), so
quoting is checked against the grammar of the PowerShell Language Specification 3.0, section 2.3.5.2:

    verbatim-string-literal:  single-quote-character verbatim-string-characters? single-quote-character
    single-quote-character:   ' (U+0027)  U+2018  U+2019  U+201A  U+201B
    verbatim-string-part:     any Unicode character except single-quote-character
                              single-quote-character single-quote-character

PowerShell's tokenizer keeps the second character of a doubled pair (``ScanStringLiteral``).
"""

from __future__ import annotations

#: Every character that opens, closes or (doubled) escapes a verbatim string.
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def parse_verbatim(source: str) -> tuple[str, str]:
    """The value of the verbatim string literal *source* starts with, and the source after it."""
    assert source[0] in SINGLE_QUOTES, f"not a verbatim string: {source[:20]!r}"
    value: list[str] = []
    i = 1
    while True:
        assert i < len(source), "unterminated verbatim string"
        if source[i] in SINGLE_QUOTES:
            if i + 1 >= len(source) or source[i + 1] not in SINGLE_QUOTES:
                return "".join(value), source[i + 1 :]
            value.append(source[i + 1])
            i += 2
        else:
            value.append(source[i])
            i += 1
