"""What each role can do: one table drives both the navigation bar and the role home pages.

An entry whose endpoint is not registered (an area not built yet) is left out, so the
table can list the whole platform while the pages arrive area by area.
"""

from __future__ import annotations

import dataclasses

from flask import current_app

from foundation.roles import Role

C, IA, QW, IR, P, E, S, CA = (
    Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER,
    Role.PROCTOR, Role.EXAMINER, Role.SUPERVISOR, Role.CANDIDATE,
)
STAFF = (C, IA, QW, IR, P, E, S)


@dataclasses.dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str
    roles: tuple[Role, ...]
    description: str
    in_menu: bool = True
    active_prefix: str = ""  # endpoints starting with this light the entry; default: its blueprint

    @property
    def active_for(self) -> str:
        return self.active_prefix or self.endpoint.split(".")[0] + "."


NAV: tuple[NavEntry, ...] = (
    NavEntry("机构备案", "institutions.index", (C,), "审核评价机构的备案申报，管理评价范围、暂停与退出。"),
    NavEntry("本机构", "institutions.mine", (IA,), "查看本机构的备案信息、评价范围与备案进度。"),
    NavEntry("细目表", "bank.blueprints", (C, QW, IR),
             "鉴定要素细目表：鉴定范围、鉴定点、重要程度与比重，以及试题覆盖情况。", active_prefix="bank.blueprint"),
    NavEntry("试题", "bank.items", (C, QW, IR), "按细目表编写、检索和维护试题；查看版本差异与查重结果。",
             active_prefix="bank.item"),
    NavEntry("审题", "bank.review_queue", (IR,), "待审题与待终审的试题；不含本人编写的试题。",
             active_prefix="bank.review"),
    NavEntry("互斥题组", "bank.enemy_sets", (C, QW, IR), "同组试题不会出现在同一套试卷中：设置、查看与维护互斥题组。",
             active_prefix="bank.enemy"),
    NavEntry("试卷", "bank.papers", (C, IA, IR), "按细目表、题型数量或固定试题组卷，审核并锁定入库。",
             active_prefix="bank.paper"),
    NavEntry("技能操作试题", "bank.skill_tasks", (C, IA, QW, IR),
             "技能操作试题：准备通知单、考生准备通知单、任务书与评分记录表，审核锁定后供操作技能考核使用。",
             active_prefix="bank.skill_task"),
    NavEntry("题目分析", "analysis.runs", (C, IR),
             "导入作答数据、标定试题参数并链接到题库量尺；查看题目与试卷分析报告、DIF。"),
    NavEntry("认定批次", "batches.index", (C, IA),
             "认定计划：考核模块、场次、考场与座位、考生名册、考务人员；报备省中心与中心确认。"),
    NavEntry("技能评分", "skill.index", (E, IA, C),
             "操作技能考核：考评员独立评分（平板可用、断网不丢草稿），组长复核，考评员评分统计。"),
    NavEntry("成绩与结论", "results.index", (C, IA),
             "各批次按科目的成绩（缺成绩标出）、等级认定结论的判定与确认（签名）、复核申请的答复、成绩单导出；省中心只读。"),
    NavEntry("准考证", "batches.my_tickets", (CA,), "下载本人各场次的准考证（省中心确认认定计划后）。"),
    NavEntry("公示与报送", "publicity.manage", (C, IA),
             "合格人员公示（不少于 5 个工作日）、异议的调查答复、成绩及证书数据报送省中心与审核（逾期标出）。",
             active_prefix="publicity."),
    NavEntry("证书", "certificates.index", (C, IA),
             "按批次颁发职业技能等级证书，证书更正与注销（注销须省中心审核），证书发放登记表。",
             active_prefix="certificates."),
    NavEntry("我的证书", "certificates.mine", (CA,), "查看本人的职业技能等级证书并下载 PDF。",
             active_prefix="certificates.mine"),
    NavEntry("我的照片", "photos.my_photo", (CA,), "上传 1 寸证件照，用于准考证、考场身份核验和证书。"),
    NavEntry("监考", "proctor.index", (P,),
             "我的监考考场：实时座位图，开考、暂停、延时、警告、违纪记录、换机审批与考场记录表签名。"),
    NavEntry("督考", "supervise.index", (S,), "只读查看所督考批次的考场实况与考场记录表，每场考试后提交督考报告。"),
    NavEntry("我的评审", "reviews.index", (E,),
             "我所在的评审专家组：查阅业绩材料，独立评分；组长填写评审记录并确认评审结果。"),
    NavEntry("竞赛选拔", "competitions.index", (C,),
             "登记职业技能竞赛及其备案情况，导入竞赛成绩，设置竞赛认定规则。",
             active_prefix="competitions."),
    NavEntry("评审评分细项", "reviews.criteria", (C,), "工作业绩评审与综合评审的评分细项（可选）。", in_menu=False),
    NavEntry("考场与督考", "oversight.rooms", (C,), "只读查阅全部考场的考场记录表与质量督导员的督考报告。",
             active_prefix="oversight."),
    NavEntry("阅卷", "marking.index", (E,),
             "理论知识考试简答、计算、论述题的背靠背阅卷：按阅卷编号评分，不显示考生信息。"),
    NavEntry("成绩暂缓", "holds.index", (C,), "四级违纪暂缓的考生成绩：有关部门处理后填写理由解除暂缓。"),
    NavEntry("账号管理", "users.index", (C, IA), "创建和维护账号；机构管理员管理本机构的工作人员与考生。"),
    NavEntry("职业目录", "occupations.index", STAFF, "查看职业（工种）编码与等级；省中心可编辑和批量导入。"),
    NavEntry("工作日历", "calendar.index", (C, IA), "节假日与调休安排，所有期限按工作日计算；省中心可编辑。"),
    NavEntry("规则配置", "rules.index", (C,),
             "全部可配置规则：评价范围上限、备案受理期、报备时限、考场规则与开考窗口、考务人员配备、预警阈值等。"),
    NavEntry("评价方案", "schemes.index", (C,),
             "各职业、等级与评价方式须考核的科目及各科合格线；默认方案与各职业单独设置。"),
    NavEntry("操作日志", "audit.index", (C,), "全部操作的防篡改记录，可校验哈希链。"),
    NavEntry("我的考试", "exam.index", (CA,), "查看已安排座位的考试场次，进入考场核对身份并在线作答。"),
    NavEntry("我的成绩", "results.mine", (CA,),
             "评价机构确认发布后，查看各科成绩、认定结论及理由，并可在规定期限内申请复核。"),
    NavEntry("机构公示", "public.institutions", STAFF + (CA,), "向社会公开的已备案评价机构名单。", in_menu=False),
    NavEntry("证书查询", "verify.verify", STAFF + (CA,), "按证书编号和姓名（或证件号码）免费查验证书。", in_menu=False),
    NavEntry("修改密码", "auth.change_password", STAFF, "修改本人登录密码。", in_menu=False),
)

ROLE_INTROS: dict[Role, str] = {
    C: "您负责评价机构备案审核、认定计划受理、题库与题目分析、规则配置与全程监管（操作日志、成绩与结论）。",
    IA: "您负责本机构的认定批次、考场、考务人员、考生名册与组卷，并确认（签名）发布等级认定结论。",
    QW: "您依据鉴定要素细目表编写试题。",
    IR: "您审核并终审试题和试卷，但不审核本人编写的试题。",
    P: "您负责理论考试考场的现场监考。",
    E: "您负责操作技能考核的评分：在「技能评分」中为各工位考生独立评分并签名，担任组长时复核评分差过大的成绩；"
       "在评审专家组中独立评审考生的业绩材料与综合评审，组长填写评审记录；受指派阅卷时在「阅卷」中评阅主观题。",
    S: "您可以只读查看考场实况，并在每场考试后提交督考报告。",
    CA: "您可以上传照片、下载准考证、进入考场参加在线理论考试，在「我的成绩」中查看已发布的成绩与认定结论并申请复核，"
        "查看和下载本人的证书。",
}


def entries_for(role: Role | str, *, menu_only: bool = False) -> list[NavEntry]:
    role = Role(role)
    registered = current_app.view_functions
    return [
        e for e in NAV
        if role in e.roles and e.endpoint in registered and (e.in_menu or not menu_only)
    ]
