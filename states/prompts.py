"""What staff are prompted to consider on a request while it is reviewed: an applicant above the
agency's monthly threshold (Art 35: ask for reasons, 说明理由), and earlier requests of the same
applicant for similar information (Art 36(6): 重复申请). Prompts propose; staff decide."""

from __future__ import annotations

from sqlmodel import Session

from states.applicants import month_count
from states.models import Request
from states.agency import agency_of

PROMPTED_STATES = ("received", "registered", "reviewing", "consulting")


def prompts_for(session: Session, row: Request, similar: list[dict], *,
                counted: int | None = None) -> list[dict]:
    """`counted`: the applicant's `month_count`, when read already (states/presence.py)."""
    if row.state not in PROMPTED_STATES:
        return []
    out = []
    threshold = agency_of(session, row).excess_threshold
    if threshold and row.applicant_key and row.reasons_requested_on is None:
        count = month_count(session, row) if counted is None else counted
        if count > threshold:
            out.append({"kind": "excessive_requests", "count": count, "threshold": threshold,
                        "message": f"该申请人{row.received_on.year}年{row.received_on.month}月已向本机关"
                                   f"提出{count}件政府信息公开申请，超过本机关设定的每月{threshold}件；"
                                   "申请数量、频次明显超过合理范围的，可以要求申请人说明理由"
                                   "（《中华人民共和国政府信息公开条例》第三十五条，ask_reasons，"
                                   "说明理由告知书）"})
    answered = [s for s in similar if s["replied_on"]]  # Art 36(6): already answered
    if similar:
        numbers = "、".join(s["number"] for s in similar[:5])
        out.append({"kind": "possible_repeat", "count": len(similar), "threshold": None,
                    "message": f"该申请人此前提出的{numbers}等{len(similar)}件申请内容相近"
                               + ("，其中已有答复" if answered else "")
                               + "；行政机关已就申请人提出的政府信息公开申请作出答复、申请人重复申请公开"
                                 "相同政府信息的，告知申请人不予重复处理（第三十六条第（六）项，"
                                 "not_processed_repeat）"})
    return out
