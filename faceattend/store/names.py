"""Names as people see them: "José", "JOSE" and a decomposed "Jose\u0301" are one person.

A name is stored as typed (trimmed, single-spaced, NFC) and compared by its key: Unicode NFKC
normalisation then case folding, so full-width letters, ligatures, accents typed as combining
marks, accents on Latin letters and every script's case all compare equal. The key has a
UNIQUE index in the database, so two people whose names only look different to a computer can
never both exist.
"""

from __future__ import annotations

import unicodedata

from faceattend.store.errors import StoreError

MAX_NAME_LENGTH = 100
#: Zero-width (non-)joiners are invisible but part of how Persian and Indic names are spelt.
_JOINERS = "\u200c\u200d"




def clean_name(name: str) -> str:
    """Trimmed, single-spaced, NFC, non-empty and at most ``MAX_NAME_LENGTH`` characters."""
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    if not cleaned:
        raise StoreError("the name is empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise StoreError(f"the name is {len(cleaned)} characters long; at most {MAX_NAME_LENGTH} are allowed")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") and c not in _JOINERS for c in cleaned):
        raise StoreError("the name contains control or invisible characters")
    return cleaned


def name_key(name: str) -> str:
    """What two names must share to be the same person: NFKC, case-folded, accents dropped.

    Accents are dropped only from Latin, Greek and Cyrillic letters ("José" = "Jose"); in
    other scripts combining marks are letters' vowels and tell names apart, so they stay.
    """
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", name).casefold())
    kept: list[str] = []
    for char in text:
        if unicodedata.category(char) == "Mn" and kept and ord(kept[-1]) < 0x0530:
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", " ".join("".join(kept).split()))
