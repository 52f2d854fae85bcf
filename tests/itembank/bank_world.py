"""A bank shared by two institutions, for the access tests (services and pages).

Institutions A and B each have writers and two reviewers assigned to (电工, own institution);
each has an active 电工 item with an image, a submitted one, and a paper (A's locked, B's
submitted). A second occupation has its own blueprint and an item of A.
"""

from __future__ import annotations

import io
import itertools

from PIL import Image
from sqlalchemy.orm import Session

from foundation.roles import Role
from itembank import access
from itembank import items as item_svc
from itembank.images import image_url, store_image
from itembank.items import ItemContent
from itembank.models import Item, Paper, PaperForm, PaperItem
from tests.factories import make_blueprint, make_institution, make_user

_colours = itertools.count(1)


def png() -> bytes:
    buf = io.BytesIO()
    n = next(_colours)
    Image.new("RGB", (8, 6), (n % 256, (n * 7) % 256, (n * 13) % 256)).save(buf, format="PNG")
    return buf.getvalue()


class World:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.centre = make_user(session, Role.CENTRE_ADMIN)
        self.bp = make_blueprint(session, self.centre)
        self.other_bp = make_blueprint(session, self.centre)
        self.inst = {k: make_institution(session) for k in "AB"}  # papers are made directly: no filing needed
        self.admin = {k: make_user(session, Role.INSTITUTION_ADMIN, institution=i) for k, i in self.inst.items()}
        self.writer = {k: make_user(session, Role.QUESTION_WRITER, institution=i) for k, i in self.inst.items()}
        self.colleague = {k: make_user(session, Role.QUESTION_WRITER, institution=i) for k, i in self.inst.items()}
        self.reviewers = {k: (make_user(session, Role.ITEM_REVIEWER), make_user(session, Role.ITEM_REVIEWER))
                          for k in "AB"}
        for k, pair in self.reviewers.items():
            for reviewer in pair:
                access.assign(session, self.centre, reviewer.id, occupation_id=self.bp.occupation_id,
                              institution_id=self.inst[k].id)
                access.assign(session, self.centre, reviewer.id, occupation_id=self.other_bp.occupation_id,
                              institution_id=self.inst[k].id)
        self.proctor = make_user(session, Role.PROCTOR, institution=self.inst["A"])
        self.examiner = make_user(session, Role.EXAMINER, institution=self.inst["A"])
        self.supervisor = make_user(session, Role.SUPERVISOR)
        self.image = {}
        self.active = {}
        self.submitted = {}
        self.paper = {}
        for k in "AB":
            self.image[k] = store_image(session, self.writer[k], png(), f"{k}.png")
            self.active[k] = self._item(k, f"<p>机构{k}的启用试题？<img src=\"{image_url(self.image[k])}\"></p>")
            self._approve(self.active[k], k)
            item_svc.activate_item(session, self.centre, self.active[k].id)
            self.submitted[k] = self._item(k, f"<p>机构{k}等待审题的试题？</p>")
            self.paper[k] = self._paper(k, self.active[k])
        self.paper["A"].status = "locked"
        self.paper["B"].status = "submitted"
        self.other_item = item_svc.create_item(
            session, self.writer["A"], point_id=self.other_bp.points[0].id, item_type="true_false",
            content=ItemContent("<p>另一职业的试题。</p>", {"key": "√"}))
        session.flush()

    def reviewer(self, k: str) -> object:
        return self.reviewers[k][0]

    def _item(self, k: str, stem: str) -> Item:
        spec = {"options": [{"label": x, "html": f"选项{x}"} for x in "ABCD"], "key": ["B"]}
        item = item_svc.create_item(self.session, self.writer[k], point_id=self.bp.points[0].id,
                                    item_type="single_choice", content=ItemContent(stem, spec, difficulty=0.6))
        item_svc.submit_item(self.session, self.writer[k], item.id)
        return item

    def _approve(self, item: Item, k: str) -> None:
        first, second = self.reviewers[k]
        item_svc.review_item(self.session, first, item.id)
        item_svc.approve_item(self.session, second, item.id)

    def _paper(self, k: str, item: Item) -> Paper:
        paper = Paper(name=f"机构{k}的试卷", institution_id=self.inst[k].id, blueprint_id=self.bp.id,
                      mode="type_counts", layout_json='[{"type": "single_choice", "count": 1, "points": 1.0}]',
                      created_by_id=self.admin[k].id, status="draft", scale_to_100=True)
        paper.forms.append(PaperForm(label="A", items=[PaperItem(position=1, item_id=item.id,
                                                                 item_version_id=item.current_version_id,
                                                                 points=1.0)]))
        self.session.add(paper)
        self.session.flush()
        return paper
