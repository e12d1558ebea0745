"""The Chinese words the pages print for the engine's English codes: stages, events, form fields,
channels, roles and the values of each choice."""

from __future__ import annotations

import re

from access.policy import ROLES
from states.codes import (CONFIDENTIALITY_LABELS, CORRECTIONS, INTERNAL_BODY_LABELS, OUTCOMES,
                          PRIVACY, SERVICE_METHOD_LABELS)
from states.machine import RequestMachine

STAGES = {str(s.id): s.name for s in RequestMachine.states}   # received → 接收, …

CHANNELS = {"in_person": "当面提交", "post": "邮寄", "online": "互联网渠道", "fax": "传真",
            "oral": "口头提出"}

APPLICANT_KINDS = {"natural_person": "自然人", "commercial": "商业企业", "research": "科研机构",
                   "public_interest": "社会公益组织", "legal_service": "法律服务机构", "other": "其他"}

DUE_FILTERS = {"overdue": "已超期", "due_soon": "即将到期"}

ROLE_NAMES = dict(ROLES)

# What staff do, as the 台账 and the request page name it (the audit's event codes otherwise).
EVENTS = {
    "receive": "接收", "register": "登记", "review": "审核", "assign": "指定承办人",
    "request_supplement": "告知补正", "receive_supplement": "收到补正材料",
    "open_consultation": "征求意见", "close_consultation": "收到征求意见答复",
    "request_extension": "申请延期答复", "approve_extension": "批准延期", "refuse_extension": "不批准延期",
    "ask_reasons": "要求说明理由", "receive_reasons": "收到理由说明", "defer_reply": "延后答复",
    "notify_fee": "收费通知", "receive_fee": "收到缴费", "review_confidentiality": "保密审查",
    "open_internal_consultation": "内部会商", "close_internal_consultation": "会商意见",
    "decide": "作出答复决定", "legal_signoff": "法制审核", "approve_reply": "负责人签批",
    "send_reply": "送出答复", "archive": "归档", "withdraw": "申请人撤回",
    "record_service": "登记送达", "lapse_supplement": "补正期限届满", "lapse_consultation": "征求意见期限届满",
    "recompute_clock": "重新计算期限", "flag_deadline": "期限提醒", "issue_letter": "制发文书",
    "render_letter": "生成文书文件", "deliver_reply": "送达答复", "export_archive": "导出归档材料",
    "reveal_id_number": "查看身份证件号码", "reply_approval_withdrawn": "签批失效",
    "legal_signoff_withdrawn": "法制审核失效", "record_challenge": "登记复议/诉讼",
    "record_challenge_result": "登记复议/诉讼结果", "record_proactive_disclosure": "登记主动公开",
    "attach_file": "上传附件",
}

FIELDS = {
    "on": "日期", "note": "备注", "department": "承办部门", "assignee": "承办人",
    "items": "补正事项（每行一项）", "period_days": "期限（工作日）", "reason": "理由",
    "party": "征求对象", "name": "名称", "matter": "征求意见的事项", "consultation_id": "征求意见",
    "opinion": "意见", "days": "延长的工作日数", "method": "计费方式", "pages": "页数",
    "how_to_pay": "缴费方式", "conclusion": "结论", "basis": "审查依据", "body": "会商对象",
    "internal_consultation_id": "内部会商", "outcome": "处理结果",
    "responsible_agency": "负责公开的机关", "responsible_agency_contact": "该机关的联系方式",
    "withheld_ground": "不予公开部分的理由", "correction": "更正答复类型",
    "reasonable": "理由是否合理", "reply_by": "答复日期",
    "redactions": "不予公开或去标识化的内容（每行一项：内容｜理由）",
    "overrides": "第三方不同意仍予公开的（第三十二条，每行一项：征求意见编号｜公开的内容｜理由）",
    # a new request
    "applicant.name": "申请人姓名或名称", "applicant.kind": "申请人类型",
    "applicant.id_number": "身份证件号码", "applicant.phone": "联系电话", "applicant.email": "电子邮箱",
    "applicant.address": "通信地址", "channel": "申请方式", "received_on": "收到日期",
    "description": "申请公开的政府信息", "requested_form": "获取方式", "unit": "承办科室",
}

# The parts of the decision letter staff write (replies/catalog.py DRAFT_PARTS).
DRAFT_LABELS = {
    "findings": "经查（答复内容）", "reasons": "理由", "withheld_parts": "不予公开的内容",
    "provision": "提供方式", "where_public": "已公开信息的获取方式和途径",
    "where_to_apply": "负责公开的机关或申请途径", "provided_form": "提供形式",
    "form_reason": "未按申请的形式提供的理由（第四十条）", "attachments": "附件（每行一项）",
}

# Other keys of audit events' data, as the timeline prints them.
FACT_LABELS = {
    "due_on": "答复期限", "number": "编号", "agency_id": "机关", "applicant_kind": "申请人类型",
    "reviewed_by": "审查人", "approved_by": "批准人", "signed_by": "审核人", "doc_number": "文号",
    "recipient": "收件人", "sha256": "SHA-256", "size": "字节数", "template_version": "模板版本",
    "title": "文书", "decided_on": "决定日期", "supplement_deadline": "补正期限",
    "lapses_on": "期限届满日", "flag": "提醒", "served_on": "送达日期", "tracking_number": "邮件单号",
    "extension_days": "延长工作日数", "filename": "文件名", "content_type": "文件类型",
    "attachment_id": "附件编号", "file": "附件", "kind": "类型", "unreadable": "无法读取的记录内容",
    "requested_by": "提出人", "requested_on": "提出日期", "extension_lapsed": "延期申请失效",
    "previous": "原值", "previous_assignee": "原承办人", "previous_department": "原承办部门",
    "reply_approval_withdrawn": "签批失效", "legal_signoff_withdrawn": "法制审核失效",
    "old_due_on": "原答复期限", "why": "原因", "by": "经办", "extended_on": "延期日期",
    "reviewed_on": "审查日期", "reviewer": "审查人", "period": "期限类型", "fee_deadline": "缴费期限",
    "unit_id": "承办科室", "amount_yuan": "金额（元）", "units": "计费数量", "reasons_deadline": "说明理由期限",
}

# Codes an event's data holds, as the timeline names them.
VALUE_LABELS = {
    "period": {"supplement": "补正", "consultation": "征求意见", "fee": "缴费", "reasons": "说明理由"},
    "flag": {"overdue": "已超期", "due_soon": "即将到期"},
    "previous": {"overdue": "已超期", "due_soon": "即将到期"},
    "kind": {"application": "申请书（扫描件）", "identity": "身份证明（复印件）", "other": "其他材料"},
}

FIELDS_SERVICE = {"method": "送达方式", "served_on": "送达日期", "tracking_number": "邮件单号"}

CHOICES = {
    "outcome": {code: o.label if o.label == o.report_group else f"{o.report_group}：{o.label}"
                for code, o in OUTCOMES.items()},
    "withheld_ground": {code: o.label for code, o in OUTCOMES.items() if code.startswith("withheld_")},
    "party": {"third_party": "第三方（第三十二条）", "agency": "其他机关（第三十四条）"},
    "opinion": {"consent": "同意公开", "objection": "不同意公开", "no_reply": "逾期未答复"},
    "conclusion": {**{str(k): v for k, v in CONFIDENTIALITY_LABELS.items()},
                   "approved": "审核通过", "returned": "退回修改"},
    "body": {str(k): v for k, v in INTERNAL_BODY_LABELS.items()},
    "method": {"per_item": "按件计收", "per_volume": "按量计收"},
    "correction": dict(CORRECTIONS),
    "ground": {PRIVACY: "个人隐私（去标识化）"},
    "service_method": {str(k): v for k, v in SERVICE_METHOD_LABELS.items()},
    "applicant.kind": APPLICANT_KINDS,
    "applicant_kind": APPLICANT_KINDS,
    "channel": CHANNELS,
}


# audit.verify's reasons, as the legal reviewer's page states them.
_VERIFY_REASONS = (
    (re.compile(r"event (\d+) is missing \(found seq (\d+)\)"), "第{0}条记录缺失（其后为第{1}条）"),
    (re.compile(r"event (\d+) does not link to event (\d+)"), "第{0}条记录与第{1}条不相接"),
    (re.compile(r"event (\d+) was altered after it was written"), "第{0}条记录写入后被改动"),
    (re.compile(r"events (\d+)\.\.(\d+) are missing"), "第{0}至第{1}条记录被删除"),
    (re.compile(r"event (\d+) was added outside the one door"), "第{0}条记录不是经办理程序写入的"),
    (re.compile(r"event (\d+) does not match the head recorded on the request"),
     "第{0}条记录与申请记录上的链头不符"),
    (re.compile(r"event (\d+) no longer leads to the signed root"),
     "第{0}条记录已推不出签名时的默克尔树根：签名后有记录被改动"),
    (re.compile(r"event (\d+) the checkpoint covers is missing"), "检查点覆盖的第{0}条记录已被删除"),
    (re.compile(r"the checkpoint in the database differs from its file"),
     "数据库中的检查点与写在数据库之外的检查点文件不一致"),
    (re.compile(r"checkpoint #(\d+): the signature does not hold"), "第{0}号检查点的签名不成立"),
    (re.compile(r"checkpoint #(\d+) is signed by key .*, not by the trusted key .*"),
     "第{0}号检查点不是用本系统的签名密钥签的"),
)


def verify_reason(reason: str | None) -> str:
    for pattern, chinese in _VERIFY_REASONS:
        found = pattern.fullmatch(reason or "")
        if found:
            return chinese.format(*found.groups())
    return reason or ""


def field_label(name: str) -> str:
    """A field's Chinese name; a part of a list (redactions.0.part) by its list's name."""
    return (FIELDS.get(name) or DRAFT_LABELS.get(name) or FACT_LABELS.get(name)
            or FIELDS.get(name.split(".", 1)[0]) or name)


def refusal(broken) -> str:
    """A rule the one door refused, as the page says it: the field, then the rule in Chinese
    where the rule has its Chinese words (the API answers in English)."""
    return f"{field_label(broken.field)}：{broken.rule_zh or broken.rule}"
