"""Identifier construction with real check digits (vectorised where volume matters)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
from stdnum.cn import uscc as stdnum_uscc

RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
VIN_WEIGHTS = np.array([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

_VIN_VALUES = np.zeros(128, dtype=np.int64)
for _c, _v in zip("0123456789", range(10), strict=True):
    _VIN_VALUES[ord(_c)] = _v
for _c, _v in zip(
    "ABCDEFGHJKLMNPRSTUVWXYZ",
    (1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9),
    strict=True,
):
    _VIN_VALUES[ord(_c)] = _v


@lru_cache(maxsize=1)
def _admin_code_table() -> tuple[tuple[str, int, int], ...]:
    """County codes from python-stdnum's database: (code, first year, last year)."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    out: list[tuple[str, int, int]] = []
    prov = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            prov = line.split()[0]
            continue
        code, rest = line.strip().split(" ", 1)
        if len(prov + code) != 6 or code.endswith("00"):
            continue  # province/prefecture level
        value = rest.split('"')[1]
        for part in value.split(","):
            if part.endswith("市辖区"):
                continue
            lo, hi = 0, 9999
            if part.startswith("["):
                span = part[1:].split("]")[0]
                a, b = span.split("-")
                lo = int(a) if a else 0
                hi = int(b) if b else 9999
            out.append((prov + code, lo, hi))
    return tuple(out)


@lru_cache(maxsize=1)
def _admin_code_index() -> dict[str, list[tuple[str, int, int]]]:
    index: dict[str, list[tuple[str, int, int]]] = {}
    for row in _admin_code_table():
        index.setdefault(row[0][:2], []).append(row)
        index.setdefault(row[0][:4], []).append(row)
    return index


def admin_codes_for(prefix: str, year: int) -> list[str]:
    """County-level codes under a prefix (2 or 4 digits) valid in `year` (as python-stdnum knows them)."""
    rows = _admin_code_index().get(prefix, [])
    codes = [c for c, lo, hi in rows if lo <= year <= hi]
    # keep urban districts (01-19) when there are some: car buyers mostly live in cities
    urban = [c for c in codes if c[4] in "01"]
    return sorted(set(urban or codes))


def ymd_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, dd


def digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Decimal digits of non-negative ints, most significant first, shape (n, width)."""
    v = values.astype(np.int64).copy()
    out = np.empty((len(v), width), dtype=np.int64)
    for k in range(width - 1, -1, -1):
        out[:, k] = v % 10
        v //= 10
    return out


def resident_ids(admin: np.ndarray, birth_days: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """18-digit resident ids; `seq` is the 3-digit order code (odd = male)."""
    y, m, d = ymd_parts(birth_days)
    body = admin.astype(np.int64) * 10**11 + (y * 10000 + m * 100 + d) * 1000 + seq.astype(np.int64)
    total = digits_matrix(body, 17) @ RIC_WEIGHTS
    check = (12 - total % 11) % 11
    chars = np.array(list("0123456789X"))[check]
    return np.array(
        [f"{b:017d}{c}" for b, c in zip(body.tolist(), chars.tolist(), strict=True)], dtype=object
    )


def ric_is_valid(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], RIC_WEIGHTS.tolist(), strict=True))
    return "0123456789X"[(12 - total % 11) % 11] == value[17].upper()


def vin_check_chars(vins17: np.ndarray) -> np.ndarray:
    """Check characters for VINs (position 9 ignored)."""
    raw = np.frombuffer("".join(vins17.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, 17)
    total = _VIN_VALUES[raw] @ VIN_WEIGHTS
    return np.array(list("0123456789X"))[total % 11]


def vin_is_valid(vin: str) -> bool:
    vin = vin.upper()
    if len(vin) != 17 or any(c in "IOQ" for c in vin) or not vin.isalnum() or not vin.isascii():
        return False
    total = sum(int(_VIN_VALUES[ord(c)]) * w for c, w in zip(vin, VIN_WEIGHTS.tolist(), strict=True))
    return "0123456789X"[total % 11] == vin[8]


def org_code_check(body8: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else ("0" if c == 11 else str(c))


def make_org_code(rng: np.random.Generator) -> str:
    """9-character organisation code (GB 11714), letters restricted to the USCC alphabet."""
    if rng.random() < 0.5:  # new style, issued with the USCC
        body = "MA" + "".join(USCC_ALPHABET[i] for i in rng.integers(0, len(USCC_ALPHABET), 6))
    else:
        body = "".join(str(i) for i in rng.integers(0, 10, 8))
    return body + org_code_check(body)


def make_uscc(region: str, org_code: str, entity: str = "1") -> str:
    body = "9" + entity + region + org_code
    return body + stdnum_uscc.calc_check_digit(body)


@lru_cache(maxsize=4096)
def birth_admin_codes(prefix4: str, year: int) -> tuple[str, ...]:
    """Codes a resident id issued to someone born in `year` near `prefix4` can carry.

    Falls back to the province, then to the area the city belonged to (Chongqing was part of
    Sichuan before 1997), then to Shanghai, so that python-stdnum accepts every id.
    """
    for p in (prefix4, prefix4[:2], {"50": "5102"}.get(prefix4[:2], "3101"), "3101"):
        codes = admin_codes_for(p, year)
        if codes:
            return tuple(codes)
    raise ValueError(f"no admin code for {prefix4} in {year}")
