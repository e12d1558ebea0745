"""Checks for the personal identifiers an applicant gives (个人信息): a number that fails its check
character is a typo, refused before it is stored, never discovered in a letter.

- 居民身份证号码 (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check character (0–9 or X).
- 统一社会信用代码 (GB 32100-2015): 18 characters from 0–9 and A–Z less I, O, Z, S, V; the last is
  a MOD 31 check character over the first 17.
- Telephone: a mainland mobile number, or a landline with its area code (0 and 2–3 digits).

And the key that groups one applicant's requests (`applicant_key`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")


def is_resident_id(value: str) -> bool:
    """A valid 18-character 居民身份证号码 (check character per GB 11643)."""
    if not re.fullmatch(r"\d{17}[\dXx]", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17].upper()


def is_credit_code(value: str) -> bool:
    """A valid 统一社会信用代码 (check character per GB 32100)."""
    value = value.upper()
    if len(value) != 18 or any(ch not in _CODE_CHARS for ch in value):
        return False
    total = sum(_CODE_CHARS.index(ch) * w for ch, w in zip(value[:17], _CODE_WEIGHTS))
    return _CODE_CHARS[(31 - total % 31) % 31] == value[17]


def check_id_number(value: str, *, person: bool) -> str:
    """The applicant's identifier, normalised; ValueError naming what it should be."""
    value = value.strip().upper()
    if person:
        if not is_resident_id(value):
            raise ValueError("a natural person gives an 18-character 居民身份证号码 whose last "
                             "character is its GB 11643 check (0–9 or X)")
    elif not is_credit_code(value):
        raise ValueError("an organisation gives its 18-character 统一社会信用代码 whose last "
                         "character is its GB 32100 check")
    return value


def check_phone(value: str) -> str:
    compact = re.sub(r"[\s()（）]", "", value)
    if compact.startswith("+86"):
        compact = compact[3:]
    if not (_MOBILE.fullmatch(compact) or _LANDLINE.fullmatch(compact)):
        raise ValueError("a mainland mobile number (11 digits, 1[3-9]…) or a landline with its area "
                         "code, e.g. 0571-87000000")
    return compact


def applicant_key(kind: str, name: str, id_number: str | None = None, phone: str | None = None,
                  email: str | None = None, address: str | None = None) -> str | None:
    """What groups one applicant's requests (Art 35 counts, per-item fees, repeats). A hash, so
    grouping needs neither the ID number nor the phone in another column: the ID number
    (身份证号 / 统一社会信用代码) when given, else the kind, the name and the phone, e-mail or address
    — two people called 张伟 stay apart unless they also share a telephone number (or, with no
    phone or e-mail, an address). None when nothing but the name is known: such a request is
    grouped with no other (no per-item fee, no monthly count, no repeat).
    Migration 0013 computed it for the requests before it: change it only with a migration."""
    if id_number and id_number.strip():
        canonical = "id:" + unicodedata.normalize("NFKC", id_number).strip().upper()
    else:
        contact = (re.sub(r"\D", "", phone or "") or (email or "").strip().lower()
                   or re.sub(r"\s+", "", unicodedata.normalize("NFKC", address or "")))
        if not contact:
            return None
        plain_name = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))
        canonical = f"name:{kind}:{plain_name}:{contact}"
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
