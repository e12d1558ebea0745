"""The Chinese words the pages print for the engine's English codes: stages, channels, roles."""

from __future__ import annotations

from access.policy import ROLES
from states.machine import RequestMachine

STAGES = {str(s.id): s.name for s in RequestMachine.states}   # received → 接收, …

CHANNELS = {"in_person": "当面提交", "post": "邮寄", "online": "互联网渠道", "fax": "传真",
            "oral": "口头提出"}

DUE_FILTERS = {"overdue": "已超期", "due_soon": "即将到期"}

ROLE_NAMES = dict(ROLES)
