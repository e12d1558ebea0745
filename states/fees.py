"""信息处理费 (国办函〔2020〕109号《政府信息公开信息处理费管理办法》): the amount computed from the
request, never typed, with the basis the 收费通知书 prints.

Two methods, one per request, never both (ogi-rules.md, "Fees"):
- 按件计收 (per item): the applicant's requests to one agency in one calendar month, counted in
  order of receipt; the 1st–10th are free, the 11th–30th cost 100 元 each, and above 30 each
  further band of 10 costs 100 元 more per item (31st–40th 200 元, 41st–50th 300 元 …). A request
  is charged for its own place in that count.
- 按量计收 (per volume): the pages of one request; pages 1–30 free, 31–100 at 10 元, 101–200 at
  20 元, above 200 at 40 元 a page, each band at its own rate (progressive, not flat).
"""

from __future__ import annotations

from dataclasses import dataclass

METHODS = {"per_item": "按件计收", "per_volume": "按量计收"}
FREE_ITEMS = 10
# (first page of the band, last page or None, 元 a page)
PAGE_BANDS = ((1, 30, 0), (31, 100, 10), (101, 200, 20), (201, None, 40))
MAX_PAGES = 1_000_000      # a request of more pages is a typing error, not a fee


@dataclass(frozen=True)
class Fee:
    method: str            # per_item / per_volume
    units: int             # per_item: the request's place in the applicant's month; per_volume: pages
    amount_yuan: int
    lines: tuple[str, ...]  # the basis, band by band, as the notice prints it

    @property
    def basis(self) -> str:
        return "；".join(self.lines)


def item_price(n: int) -> int:
    """元 for the n-th request of one applicant in one calendar month (109号 第六条)."""
    if n <= FREE_ITEMS:
        return 0
    if n <= 30:
        return 100
    return 100 * (2 + (n - 31) // 10)


def per_item(n: int, month: str) -> Fee:
    """`month`: as printed, e.g. 2026年3月."""
    price = item_price(n)
    if n <= FREE_ITEMS:
        band = f"同一申请人一个自然月内累计申请{FREE_ITEMS}件以下（含{FREE_ITEMS}件）的，不收费"
    elif n <= 30:
        band = "累计申请11件至30件（含30件）的部分，每件100元"
    else:
        low = 31 + (n - 31) // 10 * 10
        band = f"30件以上的部分以10件为一档、每增加一档每件提高100元，第{low}件至第{low + 9}件每件{price}元"
    line = f"按件计收：本申请为您{month}向本机关提出的第{n}件政府信息公开申请；{band}；本件{price}元"
    return Fee("per_item", n, price, (line,))


def per_volume(pages: int) -> Fee:
    lines, total = [], 0
    for first, last, rate in PAGE_BANDS:
        if pages < first:
            break
        upto = pages if last is None else min(pages, last)
        count = upto - first + 1
        span = f"第{first}页至第{upto}页" if upto > first else f"第{first}页"
        if rate == 0:
            lines.append(f"{span}共{count}页不收费")
        else:
            lines.append(f"{span}共{count}页，每页{rate}元，计{count * rate}元")
        total += count * rate
    head = f"按量计收：本申请所需信息共{pages}页，30页以下（含30页）不收费，31页至100页每页10元，" \
           "101页至200页每页20元，200页以上每页40元，分段累计"
    return Fee("per_volume", pages, total, (head, *lines, f"合计{total}元"))
