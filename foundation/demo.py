"""Demonstration data (演示数据): the provincial centre, two filed institutions with different
scopes, one application still under review, staff for every role and 60 candidates.

Everything goes through the real services, so the demo is valid by construction and its
creation is in the audit trail. Running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation import audit
from foundation import institutions as reg
from foundation.accounts import CandidateCategory, User, create_user, hash_password
from foundation.idcard import check_digit
from foundation.institutions import FilingStatus, Institution, ScopeBasis
from foundation.occupations import Occupation
from foundation.passwords import published_demo_password
from foundation.roles import Role

DEMO_PASSWORD = "Demo1234"  # noqa: S105  (published demo login, printed by `seed demo`)
FILING_DAY = dt.date(2026, 3, 25)  # inside the March filing window

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "涛", "明", "超", "秀英", "桂英",
         "志强", "海燕", "建华", "晓东", "丽华", "国庆", "春梅", "宏伟", "文博", "子涵", "浩然", "雨桐"]
# Jilin region codes: 长春 南关区, 吉林 船营区, 四平 铁西区.
REGIONS = ["220102", "220204", "220302"]

INSTITUTIONS: list[dict[str, Any]] = [
    {
        "key": "jx",
        "name": "吉林省机械工业行业协会",
        "kind": "association",
        "tier": "provincial",
        "credit_code": None,  # filled from the serial below with a valid check character
        "legal_representative": "孙立新",
        "address": "吉林省长春市朝阳区人民大街 3688 号",
        "supervising_body": "吉林省工业和信息化厅",
        "contact_name": "周静",
        "contact_phone": "0431-88880001",
        "unit_details": "省级机械行业协会，会员单位 320 家，长期承担车工、焊工等职业培训与竞赛。",
        "serial": "000001",
        "scope": [("6-18-01-01", "普通车工", 5, 1), ("6-18-01-01", "数控车工", 5, 2), ("6-18-02-04", None, 5, 1)],
        "admin": ("jx_admin", "周静"),
    },
    {
        "key": "qc",
        "name": "吉林省汽车工业技师学院",
        "kind": "school",
        "tier": "technician_college",
        "credit_code": None,
        "legal_representative": "高建华",
        "address": "吉林省长春市绿园区西新工业园区 1 号",
        "supervising_body": "吉林省人力资源和社会保障厅",
        "contact_name": "刘海燕",
        "contact_phone": "0431-88880002",
        "unit_details": "国家级重点技师学院，主体专业为汽车维修与电气自动化。",
        "serial": "000002",
        "main_majors": ["4-12-01-01", "6-31-01-03"],
        "scope": [("4-12-01-01", None, 5, 2), ("6-31-01-03", None, 5, 3)],
        "admin": ("qc_admin", "刘海燕"),
    },
]
PENDING = {
    "name": "长春一汽零部件制造有限公司",
    "kind": "enterprise",
    "tier": "enterprise",
    "legal_representative": "马国庆",
    "address": "吉林省长春市汽车经济技术开发区东风大街 88 号",
    "supervising_body": "长春市工业和信息化局",
    "contact_name": "罗晓东",
    "contact_phone": "0431-88880003",
    "unit_details": "汽车零部件制造企业，已取得职业技能等级自主评价资格。",
    "has_self_evaluation": True,
    "self_evaluation": [("4-12-01-01", None, 5, 3), ("6-31-01-03", None, 5, 4)],
    "scope": [("4-12-01-01", None, 5, 3)],
}

STAFF: list[tuple[str, Role, str, str | None]] = [
    ("supervisor", Role.SUPERVISOR, "郑督导", None),  # the centre's, dispatched to batches
    ("supervisor2", Role.SUPERVISOR, "钱督导", "qc"),  # the institutions' own 质量督导员
    ("supervisor3", Role.SUPERVISOR, "孙督导", "jx"),
    ("writer1", Role.QUESTION_WRITER, "韩命题", "jx"),
    ("writer2", Role.QUESTION_WRITER, "唐命题", "qc"),
    ("reviewer1", Role.ITEM_REVIEWER, "冯审题", None),
    ("reviewer2", Role.ITEM_REVIEWER, "于终审", None),
    ("proctor1", Role.PROCTOR, "董监考", "jx"),
    ("proctor2", Role.PROCTOR, "萧监考", "jx"),
    ("proctor3", Role.PROCTOR, "谢监考", "qc"),
    ("proctor4", Role.PROCTOR, "宋监考", "qc"),
    ("examiner1", Role.EXAMINER, "梁考评", "jx"),
    ("examiner2", Role.EXAMINER, "罗考评", "jx"),
    ("examiner3", Role.EXAMINER, "何考评", "jx"),
    ("examiner4", Role.EXAMINER, "林考评", "qc"),
]

_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def demo_credit_code(n: int) -> str:
    """A well-formed 统一社会信用代码 (GB 32100-2015) for demo institution ``n``."""
    body = f"51220000{n:09d}"
    total = sum(_CREDIT_CHARS.index(ch) * w for ch, w in zip(body, _CREDIT_WEIGHTS, strict=True))
    return body + _CREDIT_CHARS[(31 - total % 31) % 31]


def demo_id_number(n: int) -> str:
    region = REGIONS[n % len(REGIONS)]
    birth = dt.date(1975, 1, 1) + dt.timedelta(days=(n * 397) % 9000)
    first17 = f"{region}{birth:%Y%m%d}{(n * 7) % 1000:03d}"
    return first17 + check_digit(first17)


def demo_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 5) % len(GIVEN)]


def _centre_admin(session: Session) -> User:
    user = session.scalar(select(User).where(User.username == "centre"))
    if user is None:
        # The first account cannot be made by another account; it is the system's.

        user = User(role=Role.CENTRE_ADMIN.value, name="吉林省职业技能鉴定中心管理员", username="centre",
                    password_hash=hash_password(DEMO_PASSWORD), active=True)
        session.add(user)
        session.flush()
        audit.record(session, None, "user.create", "user", user.id, after={"username": "centre", "role": user.role})
    return user


def _occupation(session: Session, code: str) -> Occupation:
    occ = session.scalar(select(Occupation).where(Occupation.code == code))
    if occ is None:
        raise RuntimeError(f"occupation {code} missing: run `flask --app web seed reference` first")
    return occ


def _institution(session: Session, centre: User, spec: dict[str, Any], n: int) -> Institution:
    inst = session.scalar(select(Institution).where(Institution.name == spec["name"]))
    if inst is not None:
        return inst
    fields = {k: spec[k] for k in ("name", "kind", "tier", "legal_representative", "address", "supervising_body",
                                   "contact_name", "contact_phone", "unit_details")}
    inst = reg.register_application(
        session, centre, **fields, credit_code=demo_credit_code(n),
        has_self_evaluation=spec.get("has_self_evaluation", False),
        ministry_code="0000", today=FILING_DAY,
    )
    for code in spec.get("main_majors", []):
        reg.add_scope_entry(session, centre, inst.id, occupation_id=_occupation(session, code).id, work_type_id=None,
                            lowest_level=5, highest_level=1, basis=ScopeBasis.MAIN_MAJOR.value)
    if spec.get("has_self_evaluation"):
        for code, work_type, lowest, highest in spec.get("self_evaluation", []):
            _scope(session, centre, inst, code, work_type, lowest, highest, ScopeBasis.SELF_EVALUATION)
    for code, work_type, lowest, highest in spec.get("scope", []):
        _scope(session, centre, inst, code, work_type, lowest, highest, ScopeBasis.FILED)
    if "serial" not in spec:
        return inst
    reg.advance_filing(session, centre, inst.id, FilingStatus.LOCAL_REVIEW.value, "材料齐全，进入初审。")
    reg.advance_filing(session, centre, inst.id, FilingStatus.EXPERT_ASSESSMENT.value, "初审通过，提交专家评估。")
    reg.advance_filing(session, centre, inst.id, FilingStatus.FILED.value, "专家评估通过，准予备案。",
                       serial=spec["serial"])
    return inst


def _scope(session: Session, centre: User, inst: Institution, code: str, work_type: str | None,
           lowest: int, highest: int, basis: ScopeBasis) -> None:

    occ = _occupation(session, code)
    wt = next((w.id for w in occ.work_types if w.name == work_type), None) if work_type else None
    reg.add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=wt,
                        lowest_level=lowest, highest_level=highest, basis=basis.value)


def _staff(session: Session, actor: User, username: str, role: Role, name: str, institution_id: int | None) -> None:
    if session.scalar(select(User).where(User.username == username)) is None:
        with published_demo_password():  # printed for everyone on purpose: only length rules apply
            create_user(session, actor, role=role, name=name, username=username, password=DEMO_PASSWORD,
                        institution_id=institution_id)


def seed_demo(session: Session) -> list[tuple[str, str, str]]:
    """Create (or find) the demo data; return (role label, login, note) rows to print."""
    centre = _centre_admin(session)
    insts: dict[str, Institution] = {}
    admins: dict[str, User] = {}
    for n, spec in enumerate(INSTITUTIONS, start=1):
        inst = _institution(session, centre, spec, n)
        insts[spec["key"]] = inst
        username, name = spec["admin"]
        _staff(session, centre, username, Role.INSTITUTION_ADMIN, name, inst.id)
        admins[spec["key"]] = session.scalar(select(User).where(User.username == username))  # type: ignore[assignment]
    _institution(session, centre, PENDING, 3)

    for username, role, name, key in STAFF:
        if key is None:
            _staff(session, centre, username, role, name, None)
        else:
            _staff(session, admins[key], username, role, name, insts[key].id)

    categories = list(CandidateCategory)
    for n in range(60):
        key = "jx" if n < 30 else "qc"
        # Accounts only: a candidate's ticket number is issued when they join a batch (the demo
        # exam room, examroom.demo, lists the 30 of the technician college).
        if session.scalar(select(User).where(User.role == Role.CANDIDATE.value, User.institution_id == insts[key].id,
                                             User.id_number == demo_id_number(n))) is None:
            create_user(session, admins[key], role=Role.CANDIDATE, name=demo_name(n), id_number=demo_id_number(n),
                        candidate_category=categories[n % len(categories)].value)
    session.flush()

    logins = [
        (Role.CENTRE_ADMIN.label, "centre", "省职业技能鉴定中心"),
        (Role.INSTITUTION_ADMIN.label, "jx_admin", insts["jx"].name),
        (Role.INSTITUTION_ADMIN.label, "qc_admin", insts["qc"].name),
    ]
    for username, role, _name, key in STAFF:
        logins.append((role.label, username, insts[key].name if key else "省中心"))
    # The first candidate the demo exam room (examroom.demo) lists gets ticket 2026020001 there;
    # the other institution's 30 candidates are on no batch yet, so they hold no ticket.
    logins.append((Role.CANDIDATE.label, f"2026020001 / {demo_id_number(30)}",
                   "准考证号 / 身份证号码登录，无密码；已安排在线考试演示考场（准考证号随批次报名签发）"))
    return logins
