"""The engine's codes (ogi-rules.md "Codes the engine uses") and what each means in law.

Each decision (outcome) carries the article relied on, its annual-report row (国办公开办函
〔2021〕30号), and whether it is a refusal to disclose — which since 2024-01-01 must go to
行政复议 first (复议前置, 行政复议法 Art 23(4)).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ApplicantKind(StrEnum):
    natural_person = "natural_person"      # 自然人
    commercial = "commercial"              # 商业企业
    research = "research"                  # 科研机构
    public_interest = "public_interest"    # 社会公益组织
    legal_service = "legal_service"        # 法律服务机构
    other = "other"                        # 其他


APPLICANT_KIND_LABELS = {
    ApplicantKind.natural_person: "自然人", ApplicantKind.commercial: "商业企业",
    ApplicantKind.research: "科研机构", ApplicantKind.public_interest: "社会公益组织",
    ApplicantKind.legal_service: "法律服务机构", ApplicantKind.other: "其他",
}


class Channel(StrEnum):
    """How the request arrived (Art 31 fixes the receipt date by channel)."""
    in_person = "in_person"  # 当面提交
    post = "post"            # 邮寄
    online = "online"        # 互联网渠道
    fax = "fax"              # 传真
    oral = "oral"            # 口头提出，工作人员代为填写


class ConsultationParty(StrEnum):
    third_party = "third_party"  # 第三方 (Art 32)
    agency = "agency"            # 其他机关 (Art 34)


class Opinion(StrEnum):
    consent = "consent"        # 同意公开
    objection = "objection"    # 不同意公开
    no_reply = "no_reply"      # 逾期未答复


class Confidentiality(StrEnum):
    """保密审查's conclusion (先审查后公开, 一事一审)."""
    disclosable = "disclosable"                  # 可以公开
    partly_disclosable = "partly_disclosable"    # 部分可以公开，其余部分不予公开或去标识化处理
    not_disclosable = "not_disclosable"          # 不得公开


CONFIDENTIALITY_LABELS = {Confidentiality.disclosable: "经审查，可以公开",
                          Confidentiality.partly_disclosable: "经审查，部分可以公开",
                          Confidentiality.not_disclosable: "经审查，不得公开"}
# Outcomes that disclose something and so need a recorded review first, and the conclusion each
# needs. (disclosed_already_public points to what is already public: nothing new goes out.)
REVIEWED_OUTCOMES = {"disclosed": Confidentiality.disclosable,
                     "partially_disclosed": Confidentiality.partly_disclosable}
# A part marked in a review: withheld on an Art 36(3) ground, or de-identified (去标识化) for privacy.
PRIVACY = "privacy"


class InternalBody(StrEnum):
    """Whom an agency consults internally; Art 33 ¶3 stops the clock for none of them."""
    legal_adviser = "legal_adviser"      # 法律顾问
    justice_bureau = "justice_bureau"    # 司法局（司法行政部门）
    joint_meeting = "joint_meeting"      # 联席会议 / 会商
    other = "other"                      # 其他内部会商


INTERNAL_BODY_LABELS = {InternalBody.legal_adviser: "法律顾问", InternalBody.justice_bureau: "司法局",
                        InternalBody.joint_meeting: "联席会议", InternalBody.other: "其他内部会商"}


class ServiceMethod(StrEnum):
    """How an outgoing letter reached its addressee (送达方式); the service date counts from it."""
    in_person = "in_person"  # 当面送达 (送达回证, signed the day handed over)
    post = "post"            # 邮寄 (EMS/挂号信: the signed-for date on the return receipt or tracking)
    email = "email"          # 电子邮件 (the day it arrived)
    website = "website"      # 网站/申请平台 (the day it reached the applicant's account)


SERVICE_METHOD_LABELS = {ServiceMethod.in_person: "当面送达", ServiceMethod.post: "邮寄送达",
                         ServiceMethod.email: "电子邮件送达", ServiceMethod.website: "网站（平台）送达"}


@dataclass(frozen=True)
class OutcomeInfo:
    code: str
    label: str          # what the decision says, in Chinese
    basis: str          # the article relied on
    report_group: str   # annual-report group: 予以公开 / 部分公开 / 不予公开 / …
    report_item: int    # item number inside the group (0 where the group has none)
    refusal: bool       # 不予公开 (or a partial refusal): 复议前置 applies
    needs_reason: bool  # staff must state the reason or grounds


_O = OutcomeInfo
OUTCOMES: dict[str, OutcomeInfo] = {o.code: o for o in [
    _O("disclosed_already_public", "已主动公开，告知获取方式和途径", "第三十六条第（一）项", "予以公开", 0, False, False),
    _O("disclosed", "予以公开", "第三十六条第（二）项", "予以公开", 0, False, False),
    _O("partially_disclosed", "部分公开", "第三十七条", "部分公开", 0, True, True),
    _O("withheld_state_secret", "属于国家秘密", "第十四条", "不予公开", 1, True, True),
    _O("withheld_prohibited_by_law", "其他法律行政法规禁止公开", "第十四条", "不予公开", 2, True, True),
    _O("withheld_security_stability", "危及“三安全一稳定”", "第十四条", "不予公开", 3, True, True),
    _O("withheld_third_party_rights", "保护第三方合法权益", "第十五条", "不予公开", 4, True, True),
    _O("withheld_internal_affairs", "属于三类内部事务信息", "第十六条第一款", "不予公开", 5, True, True),
    _O("withheld_process_information", "属于四类过程性信息", "第十六条第二款", "不予公开", 6, True, True),
    _O("withheld_enforcement_file", "属于行政执法案卷", "第十六条第二款", "不予公开", 7, True, True),
    _O("withheld_administrative_query", "属于行政查询事项", "第三十六条第（七）项", "不予公开", 8, True, True),
    _O("unavailable_not_held", "本机关不掌握相关政府信息", "第三十六条第（四）项", "无法提供", 1, False, False),
    _O("unavailable_not_this_agency", "不属于本机关负责公开", "第三十六条第（五）项", "无法提供", 1, False, False),
    _O("unavailable_needs_creation", "没有现成信息需要另行制作", "第三十八条", "无法提供", 2, False, False),
    _O("unavailable_unclear_after_supplement", "补正后申请内容仍不明确", "第三十条", "无法提供", 3, False, False),
    _O("not_processed_petition", "信访举报投诉类申请", "第三十九条第一款", "不予处理", 1, False, False),
    _O("not_processed_repeat", "重复申请", "第三十六条第（六）项", "不予处理", 2, False, False),
    _O("not_processed_publication", "要求提供公开出版物", "第三十九条第二款", "不予处理", 3, False, False),
    _O("not_processed_excessive", "无正当理由大量反复申请", "第三十五条", "不予处理", 4, False, True),
    _O("not_processed_confirmation", "要求行政机关确认或重新出具已获取信息", "", "不予处理", 5, False, False),
    _O("other_no_supplement", "申请人无正当理由逾期不补正", "第三十条", "其他处理", 1, False, False),
    _O("other_fee_unpaid", "申请人逾期未按收费通知要求缴纳费用", "国办函〔2020〕109号", "其他处理", 2, False, False),
    _O("other", "其他处理", "", "其他处理", 3, False, True),
]}

OUTCOME_CODES = tuple(OUTCOMES)

# How a letter tells the applicant why a part is withheld (the outcome labels above are the
# annual report's shorthand, not words for a letter).
WITHHELD_GROUNDS = {
    "withheld_state_secret": "属于国家秘密",
    "withheld_prohibited_by_law": "属于法律、行政法规禁止公开的信息",
    "withheld_security_stability": "公开后可能危及国家安全、公共安全、经济安全、社会稳定",
    "withheld_third_party_rights": "涉及商业秘密、个人隐私等，公开会对第三方合法权益造成损害",
    "withheld_internal_affairs": "属于人事管理、后勤管理、内部工作流程等内部事务信息",
    "withheld_process_information": "属于讨论记录、过程稿、磋商信函、请示报告等过程性信息",
    "withheld_enforcement_file": "属于行政执法案卷信息",
}

# Art 41 replies to a request to correct a record about the applicant (decided as outcome "other").
CORRECTIONS = {
    "corrected": "经审核属实，予以更正",
    "transferred": "不属于本机关职能范围，转送有权更正的行政机关处理",
    "not_verified": "经审核，申请更正的内容与事实不符或证据不足，不予更正",
}
