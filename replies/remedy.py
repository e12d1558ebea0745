"""The remedy sentence (救济途径告知) of a letter, decided by the engine, never typed by staff.

Since 2024-01-01 a refusal to disclose — including the withheld part of a partial disclosure —
must go to 行政复议 first (复议前置, 行政复议法 Art 23(1)(4)); other decisions may go to 行政复议
within 60 days (Art 20) or straight to 行政诉讼 within 6 months (行政诉讼法 Art 46).
"""

from __future__ import annotations

from core.config import Agency

PRIOR_REVIEW_LAW = "《中华人民共和国行政复议法》第二十三条第一款第（四）项"


def _ordinary(agency: Agency, doc: str) -> str:
    return (f"自收到{doc}之日起六十日内向{agency.review_body}申请行政复议，"
            f"或者自收到{doc}之日起六个月内向{agency.court}提起行政诉讼")


def _prior_review(agency: Agency, doc: str) -> str:
    return (f"根据{PRIOR_REVIEW_LAW}的规定，应当先自收到{doc}之日起六十日内向{agency.review_body}"
            "申请行政复议；对行政复议决定不服的，可以依法向人民法院提起行政诉讼")


def remedy_sentence(kind: str, agency: Agency, title: str) -> str:
    """kind: none / ordinary / refusal / partial (see catalog.LetterSpec.remedy)."""
    doc = "本告知书" if title.endswith("告知书") else "本答复书"
    if kind == "none":
        return ""
    if kind == "ordinary":
        return f"如对{doc}不服，可以{_ordinary(agency, doc)}。"
    if kind == "refusal":
        return f"如对{doc}不服，{_prior_review(agency, doc)}。"
    if kind == "partial":
        return (f"对{doc}中不予公开的部分不服的，{_prior_review(agency, doc)}；"
                f"对{doc}其他内容不服的，可以{_ordinary(agency, doc)}。")
    raise ValueError(f"unknown remedy kind {kind!r}")
