"""Shared text helpers for the conformers (internal)."""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

import opencc

# Spellings that mean "no value" in the raw feeds (compared after NFKC + lower-case).
EMPTY_TOKENS = frozenset(
    {"", "null", "none", "nan", "nat", "n/a", "na", "-", "--", "/", "\\n", "无", "暂无", "空", "不详", "未知"}
)

_WS = re.compile(r"\s+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def to_text(raw: object) -> str | None:
    """NFKC-folded, stripped text of a raw cell, or None for null-like cells.

    Numbers are accepted too (parquet/Excel exports give phones as ints or floats like 13800138000.0).
    """
    if raw is None:
        return None
    if isinstance(raw, float):
        if math.isnan(raw):
            return None
        raw = str(int(raw)) if raw.is_integer() else str(raw)
    elif not isinstance(raw, str):
        if type(raw).__name__ in ("NAType", "NaTType"):
            return None
        raw = str(raw)
    text = unicodedata.normalize("NFKC", raw).strip()
    return None if text.lower() in EMPTY_TOKENS else text


def remove_whitespace(text: str) -> str:
    return _WS.sub("", text)


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (OpenCC t2s); other characters pass through."""
    return _t2s().convert(text)
