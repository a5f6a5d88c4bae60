"""Differences between near-duplicate texts, for reviewers: which words a copy changed.

``diff_segments`` aligns two texts (or two lists of names) and ``inline_diff`` renders the changes
compactly ("…[-2023-]{+2024+}年…"); the cluster views show them side by side.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence

__all__ = ["diff_segments", "inline_diff"]

# Separates the names of an indicator set: a set differs name by name, a text character by character.
_NAME_SEPARATOR = "；"


def diff_segments(old: Sequence[str], new: Sequence[str]) -> list[tuple[str, str, str]]:
    """SequenceMatcher opcodes as (tag, old part, new part); parts of name lists are joined with ；.

    Changes of punctuation width or spacing alone (，/,) count as equal: they are not edits a reviewer
    needs to see.

    >>> diff_segments("保障社会保险工作，顺利开展", "保障公费医疗工作,顺利开展")
    [('equal', '保障', '保障'), ('replace', '社会保险', '公费医疗'), ('equal', '工作，顺利开展', '工作,顺利开展')]
    """
    glue = _glue(old, new)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    segments: list[tuple[str, str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        before, after = glue.join(old[i1:i2]), glue.join(new[j1:j2])
        if tag != "equal" and _cosmetic(before, after):
            tag = "equal"
        if tag == "equal" and segments and segments[-1][0] == "equal":
            _, last_before, last_after = segments.pop()
            before, after = glue.join((last_before, before)), glue.join((last_after, after))
        segments.append((tag, before, after))
    return segments


def _glue(old: Sequence[str], new: Sequence[str]) -> str:
    return "" if isinstance(old, str) and isinstance(new, str) else _NAME_SEPARATOR


def _cosmetic(before: str, after: str) -> bool:
    def bare(text: str) -> str:
        return "".join(
            ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch)[0] not in "PZ"
        )

    return bare(before) == bare(after)


def inline_diff(old: Sequence[str], new: Sequence[str], *, context: int = 8) -> str:
    """A short inline diff of ``new`` against ``old``: ``[-deleted-]{+inserted+}``, long equal runs elided.

    Empty when the two differ in punctuation or spacing at most.

    >>> inline_diff("保障番禺区社会保险工作的顺利开展", "保障番禺区公费医疗审核等工作的顺利开展")
    '保障番禺区[-社会保险-]{+公费医疗审核等+}工作的顺利开展'
    >>> inline_diff(["资金到位率", "支出的合规性", "满意度"], ["资金到位率", "支出的相关性", "满意度"])
    '资金到位率；[-支出的合规性-]{+支出的相关性+}；满意度'
    """
    segments = diff_segments(old, new)
    if all(tag == "equal" for tag, _, _ in segments):
        return ""
    glue = _glue(old, new)
    last = len(segments) - 1
    parts = []
    for index, (tag, before, after) in enumerate(segments):
        if tag != "equal":
            parts.append((f"[-{before}-]" if before else "") + (f"{{+{after}+}}" if after else ""))
            continue
        units: Sequence[str] = after.split(glue) if glue else after
        # A run of a set's names keeps one whole name at each edge, and is cut only from three names on.
        keep, edge = (1, 2) if glue else (context, context)
        head, tail = glue.join(units[:keep]), glue.join(units[-keep:])
        if index == 0 and len(units) > edge:
            parts.append("…" + glue + tail if glue else "…" + tail)
        elif index == last and len(units) > edge:
            parts.append(head + glue + "…" if glue else head + "…")
        elif 0 < index < last and len(units) > 2 * keep + 1:
            parts.append(glue.join((head, "…", tail)) if glue else head + "…" + tail)
        else:
            parts.append(after)
    return glue.join(parts)


# -------------------------------------------------------------------------------------- union-find
