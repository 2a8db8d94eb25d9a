"""Masking of customers' personal data (names, phones, addresses) for roles that do not need it (SPEC §8)."""

from __future__ import annotations

import pandas as pd


def mask_phone(phones: pd.Series) -> pd.Series:
    """``13812345678`` → ``138****5678``; short numbers keep their last two digits."""
    s = phones.astype("str")
    long = s.str.len() >= 8
    masked = (s.str.slice(0, 3) + "****" + s.str.slice(-4)).where(long, "****" + s.str.slice(-2))
    return masked.where(s.notna() & (s != ""), s)


def mask_name(names: pd.Series) -> pd.Series:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``: the first character stays."""
    s = names.astype("str")
    return (s.str.slice(0, 1) + s.str.slice(1).str.replace(r".", "*", regex=True)).where(s.notna(), s)


def mask_address(addresses: pd.Series) -> pd.Series:
    """Addresses cut to the village or street: everything from the first digit on
    (house, group, building, room numbers) becomes ``…``.

    >>> mask_address(pd.Series(["南丰县白舍镇罗坊村3组12号", "琴城镇东门路1号", "琴城镇"])).tolist()
    ['南丰县白舍镇罗坊村…', '琴城镇东门路…', '琴城镇']
    """
    s = addresses.astype("str")
    return s.str.replace(r"(?s)[0-9０-９].*", "…", regex=True).where(s.notna(), s)


def mask_phones_in_text(text: pd.Series) -> pd.Series:
    """Phone numbers inside free text masked: mobiles anywhere (``…13812345678…`` → ``…138****5678…``),
    and any other number given as a phone (``phone '1397945123'`` → ``phone '139*****23'``).

    >>> mask_phones_in_text(pd.Series(["call 13812345678", "phone '0794-1234567' is invalid"])).tolist()
    ['call 138****5678', "phone '079*******67' is invalid"]
    """
    s = text.astype("str").str.replace(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)", r"\1****\2", regex=True)
    return s.str.replace(r"(phone '?)(\+?\d[\d\- ]{3,}\d)",
                         lambda m: m.group(1) + m.group(2)[:3] + "*" * (len(m.group(2)) - 5) + m.group(2)[-2:],
                         regex=True)
