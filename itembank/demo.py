"""Demonstration item bank (演示题库): a 电工 四级/中级工 theory blueprint with real-looking
items that went through the real workflow, and one locked paper of the technician college.

Idempotent: nothing is created twice. Runs after ``foundation.demo.seed_demo``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.accounts import User
from foundation.institutions import Institution
from foundation.occupations import Occupation
from itembank import access
from itembank import items as item_svc
from itembank import papers as paper_svc
from itembank.blueprints import NodeSpec, create_blueprint, replace_nodes
from itembank.items import ItemContent
from itembank.models import Blueprint, Item, Paper

NODES = [
    NodeSpec("A", "基本要求", None, 20),
    NodeSpec("A-A", "职业道德与安全", None, 10),
    NodeSpec("A-A-001", "职业道德基本知识", "X", 0),
    NodeSpec("A-A-002", "安全用电常识", "X", 0),
    NodeSpec("A-B", "电工基础知识", None, 10),
    NodeSpec("A-B-001", "直流电路", "X", 0),
    NodeSpec("A-B-002", "交流电路", "X", 0),
    NodeSpec("B", "相关知识", None, 80),
    NodeSpec("B-A", "电气设备安装与维修", None, 40),
    NodeSpec("B-A-001", "三相异步电动机", "X", 0),
    NodeSpec("B-A-002", "低压电器", "X", 0),
    NodeSpec("B-A-003", "变压器", "Y", 0),
    NodeSpec("B-B", "电气控制与检测", None, 40),
    NodeSpec("B-B-001", "继电控制电路", "X", 0),
    NodeSpec("B-B-002", "电工仪表", "X", 0),
    NodeSpec("B-B-003", "可编程控制器基础", "Z", 0),
]

# (point, stem, options or None for 判断题, key, difficulty)
ITEMS: list[tuple[str, str, list[str] | None, str, float]] = [
    ("A-A-001", "职业道德的核心是（　）。", ["爱岗敬业", "为人民服务", "诚实守信", "办事公道"], "B", 0.8),
    ("A-A-001", "电工作业人员在工作中应当做到（　）。", ["随意更改线路", "严格执行操作规程", "凭经验操作", "节省材料不装保护"], "B", 0.9),
    ("A-A-002", "我国规定的安全电压额定值中，一般场所最高为（　）。", ["12 V", "24 V", "36 V", "42 V"], "C", 0.7),
    ("A-A-002", "发现有人触电时，首先应当（　）。", ["立即拉人", "迅速切断电源", "打电话报警", "进行人工呼吸"], "B", 0.85),
    ("A-A-002", "在潮湿场所使用手持电动工具，应选用Ⅲ类工具或装有漏电保护器的Ⅱ类工具。", None, "√", 0.75),
    ("A-B-001", "电阻 \\(R_1=4\\,\\Omega\\) 与 \\(R_2=6\\,\\Omega\\) 串联，总电阻为（　）。", ["2.4 Ω", "10 Ω", "24 Ω", "1.5 Ω"], "B", 0.85),
    ("A-B-001", "欧姆定律表明，电阻一定时，电流与电压成（　）。", ["正比", "反比", "平方关系", "无关"], "A", 0.9),
    ("A-B-001", "并联电路中，各支路两端的电压相等。", None, "√", 0.8),
    ("A-B-002", "我国工频交流电的频率为（　）。", ["50 Hz", "60 Hz", "100 Hz", "220 Hz"], "A", 0.9),
    ("A-B-002", "正弦交流电的有效值等于最大值的（　）倍。", ["\\(\\sqrt{2}\\)", "\\(1/\\sqrt{2}\\)", "2", "1/2"], "B", 0.6),
    ("A-B-002", "纯电感电路中，电流相位超前电压 90°。", None, "×", 0.55),
    ("B-A-001", "三相异步电动机的转速总是（　）同步转速。", ["大于", "等于", "略低于", "远高于"], "C", 0.65),
    ("B-A-001", "改变三相异步电动机转向的方法是（　）。", ["改变电源电压", "任意对调两根电源相线", "改变电源频率", "改变负载大小"], "B", 0.75),
    ("B-A-001", "三相异步电动机星形接法时，线电压等于相电压的 \\(\\sqrt{3}\\) 倍。", None, "√", 0.6),
    ("B-A-002", "熔断器在电路中主要起（　）保护作用。", ["过载", "短路", "欠压", "失压"], "B", 0.7),
    ("B-A-002", "交流接触器的铁心端面装有短路环，其作用是（　）。", ["减小涡流", "减小振动和噪声", "增大吸力", "防止剩磁"], "B", 0.45),
    ("B-A-002", "热继电器可以用作电动机的短路保护。", None, "×", 0.6),
    ("B-A-003", "变压器的铁心采用硅钢片叠成，主要是为了减小（　）。", ["铜损", "涡流和磁滞损耗", "漏磁", "体积"], "B", 0.6),
    ("B-A-003", "变压器可以改变直流电压。", None, "×", 0.8),
    ("B-B-001", "电动机控制电路中，自锁触点应与起动按钮（　）。", ["串联", "并联", "混联", "无关"], "B", 0.65),
    ("B-B-001", "正反转控制电路中，必须设置（　）以防止相间短路。", ["自锁", "互锁", "延时", "点动"], "B", 0.7),
    ("B-B-001", "点动控制电路需要自锁触点。", None, "×", 0.75),
    ("B-B-002", "用万用表测量电阻前，应先（　）。", ["带电测量", "欧姆调零", "选最大量程后不调零", "接通被测电路电源"], "B", 0.75),
    ("B-B-002", "兆欧表用于测量电气设备的（　）。", ["电流", "绝缘电阻", "功率", "频率"], "B", 0.8),
    ("B-B-002", "钳形电流表可以在不断开电路的情况下测量电流。", None, "√", 0.8),
    ("B-B-003", "PLC 的工作方式是（　）。", ["中断扫描", "循环扫描", "随机执行", "并行处理"], "B", 0.55),
    ("B-B-003", "PLC 输出继电器的触点可以直接驱动大功率电动机。", None, "×", 0.6),
]


def _assign(session: Session, centre: User, jx_admin: User, occupation: Occupation, reviewers: list[User],
            writer: User) -> None:
    """The centre's two demo experts review 电工 for both filed institutions (whose writers
    write the demo items; the technician college's paper is theirs to approve); the
    association's admin lets writer1 revise the association's 电工 items."""
    for reviewer in reviewers:
        for institution_id in sorted({u.institution_id for u in _writers(session) if u.institution_id}):
            if not _assigned(session, reviewer, occupation, institution_id):
                access.assign(session, centre, reviewer.id, occupation_id=occupation.id, institution_id=institution_id)
    if not _assigned(session, writer, occupation, writer.institution_id):
        access.assign(session, jx_admin, writer.id, occupation_id=occupation.id, institution_id=writer.institution_id)


def _writers(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.username.in_(["writer1", "writer2"]))))


def _assigned(session: Session, user: User, occupation: Occupation, institution_id: int | None) -> bool:
    return any(a.occupation_id == occupation.id and a.institution_id == institution_id
               for a in access.assignments_of(session, user.id))


def seed_item_bank(session: Session) -> list[str]:
    """Create the demo bank; return lines describing it for the console."""
    occupation = session.scalar(select(Occupation).where(Occupation.code == "6-31-01-03"))
    centre = session.scalar(select(User).where(User.username == "centre"))
    school = session.scalar(select(Institution).where(Institution.name == "吉林省汽车工业技师学院"))
    people = {u.username: u for u in session.scalars(select(User).where(User.username.in_(
        ["writer1", "writer2", "reviewer1", "reviewer2", "qc_admin", "jx_admin"])))}
    if occupation is None or centre is None or school is None or len(people) < 6:
        raise RuntimeError("run `flask --app web seed demo` (foundation demo) first")
    _assign(session, centre, people["jx_admin"], occupation, [people["reviewer1"], people["reviewer2"]],
            people["writer1"])
    bp = session.scalar(select(Blueprint).where(Blueprint.occupation_id == occupation.id, Blueprint.level == 4,
                                                Blueprint.mode == "theory", Blueprint.work_type_id.is_(None)))
    if bp is None:
        bp = create_blueprint(session, centre, occupation_id=occupation.id, work_type_id=None, level=4, mode="theory")
        replace_nodes(session, centre, bp.id, NODES)
        session.refresh(bp)
    points = {n.code: n for n in bp.points}
    for n, (point, stem, options, key, difficulty) in enumerate(ITEMS, start=1):
        code = f"DG4-{n:03d}"
        if session.scalar(select(Item.id).where(Item.code == code)) is not None:
            continue
        writer = people["writer1"] if n % 2 else people["writer2"]
        spec: dict[str, Any]
        if options is None:
            kind, spec = "true_false", {"key": key}
        else:
            kind = "single_choice"
            spec = {"options": [{"label": "ABCD"[k], "html": o} for k, o in enumerate(options)], "key": [key]}
        item = item_svc.create_item(session, writer, point_id=points[point].id, item_type=kind, code=code,
                                    content=ItemContent(stem_html=f"<p>{stem}</p>", spec=spec, difficulty=difficulty,
                                                        source="电工国家职业技能标准（四级）"))
        item_svc.submit_item(session, writer, item.id)
        if n == len(ITEMS):  # leave one waiting for review, to show the queue
            continue
        item_svc.review_item(session, people["reviewer1"], item.id, "题干与答案无误")
        item_svc.approve_item(session, people["reviewer2"], item.id)
        item_svc.activate_item(session, centre, item.id)
    paper = session.scalar(select(Paper).where(Paper.name == "电工四级理论知识 演示卷"))
    if paper is None:
        paper = paper_svc.assemble_paper(
            session, people["qc_admin"], institution_id=school.id, blueprint_id=bp.id, name="电工四级理论知识 演示卷",
            mode="blueprint", sections=[paper_svc.Section("single_choice", 4, 15.0),
                                        paper_svc.Section("true_false", 2, 20.0)],
            n_forms=2, duration_minutes=60,
        )
        paper_svc.submit_paper(session, people["qc_admin"], paper.id)
        paper_svc.approve_paper(session, people["reviewer1"], paper.id, "符合细目表要求")
    return [f"题库：{bp.name}，{len(ITEMS)} 道试题（1 道待审），试卷「{paper.name}」已锁定（A/B 两卷）"]
