"""The review API beyond single decisions: the filtered queue, projects, "my decisions", bulk
decisions over identical items or a boilerplate group, double-review assignments and agreement (κ),
and the reviewer workbook. Thin routes over ``nlp.review``, ``nlp.review_groups``,
``nlp.review_double`` and ``nlp.workbook``; errors keep the one JSON shape of ``nlp.web``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from nlp.messages_zh import TIME_ZONE
from nlp.review import QueueFilter, counts, my_decisions, project_detail, queue
from nlp.review_double import agreement_by_pair, assign, assign_queue, assignment_counts
from nlp.review_groups import SCOPES, apply_bulk, bulk_preview, undo_bulk
from nlp.review_rows import LIMITS
from nlp.store import Store
from nlp.taxonomy import LEAVES, PROCESS
from nlp.web import AdminDep, Page, ReviewerDep, Size

__all__ = ["install_review_routes"]

_CODES = "|".join((*LEAVES, PROCESS))
Department = Annotated[str, Query(max_length=255)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BulkIn(BaseModel):
    """A decision for every item identical to ``indicator_id`` (``identical``) or in its group (``cluster``)."""

    indicator_id: int = Field(ge=1, le=2**31 - 1)
    scope: str = Field(pattern="^(identical|cluster)$")
    cluster_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    action: str = Field(default="accept", pattern="^(accept|keep|choose|process)$")
    code: str = Field(default="", max_length=4)
    comment: str = Field(default="", max_length=LIMITS["comment"])
    expected: int = Field(default=-1, ge=-1, le=100_000, description="the count the preview showed")


class AssignIn(BaseModel):
    """Give items to reviewers who decide them blind: ``indicator_ids``, or the first ``limit`` of the queue."""

    reviewers: list[str] = Field(min_length=2, max_length=5)
    indicator_ids: list[int] = Field(default_factory=list, max_length=1000)
    limit: int = Field(default=20, ge=1, le=100)


def install_review_routes(app: FastAPI) -> None:
    db: Store = app.state.db
    reasons: dict[str, str] = app.state.reasons

    @app.get("/api/queue", tags=["review"])
    def review_queue(
        reviewer: ReviewerDep,
        department: Department = "",
        project: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        reason: Annotated[str, Query(pattern=r"^[a-z0-9_]{0,40}$")] = "",
        score_min: Annotated[float | None, Query(ge=0, le=1)] = None,
        score_max: Annotated[float | None, Query(ge=0, le=1.01)] = None,
        declared: Annotated[str, Query(pattern=f"^({_CODES})?$")] = "",
        tier: Annotated[str, Query(pattern="^(flagged|review|all)$")] = "flagged",
        sort: Annotated[str, Query(pattern="^(score|department|project|name)$")] = "score",
        mine: Annotated[bool, Query(description="only the items assigned to me (double review)")] = False,
        page: Page = 1,
        size: Size = 20,
    ) -> dict[str, Any]:
        """Flags without a decision, most likely right first, filtered; the counts of what is left."""
        f = QueueFilter(department=department, project_id=project, reason=reason, min_score=score_min,
                        max_score=score_max, declared=declared, tier=tier, sort=sort,
                        assigned_to=reviewer.id if mine else None)  # fmt: skip
        result = queue(db, page=page, size=size, reasons=reasons, filters=f, viewer=reviewer.id)
        if mine:
            result["assignment"] = assignment_counts(db, reviewer.id)
        return result

    @app.get("/api/counts", tags=["review"])
    def review_counts(_reviewer: ReviewerDep, department: Department = "") -> dict[str, int]:
        return counts(db, department=department)

    @app.get("/api/projects/{project_id}", tags=["review"])
    def get_project(reviewer: ReviewerDep, project_id: int) -> dict[str, Any]:
        """A project with its goal, budget and whole indicator set in its 一级/二级 layout."""
        return project_detail(db, project_id, reasons=reasons, viewer=reviewer.id)

    @app.get("/api/my-decisions", tags=["review"])
    def get_my_decisions(reviewer: ReviewerDep, page: Page = 1, size: Size = 50) -> dict[str, Any]:
        """Every decision you made, newest first, with whether it still stands."""
        return my_decisions(db, reviewer.id, page=page, size=size)

    @app.get("/api/bulk/preview", tags=["review"])
    def preview_bulk(
        _reviewer: ReviewerDep,
        indicator_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
        scope: Annotated[str, Query(pattern=f"^({'|'.join(SCOPES)})$")],
        action: Annotated[str, Query(pattern="^(accept|keep|choose|process)$")] = "accept",
        cluster_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> dict[str, Any]:
        """How many undecided items (and departments) a bulk decision would touch."""
        return bulk_preview(db, anchor=indicator_id, scope=scope, action=action, cluster_id=cluster_id)

    @app.post("/api/bulk", tags=["review"], status_code=201)
    def post_bulk(reviewer: ReviewerDep, bulk: Annotated[BulkIn, Body()]) -> dict[str, Any]:
        """Apply the previewed bulk decision: one append-only decision per item, linked to one bulk action."""
        return apply_bulk(
            db, reviewer_id=reviewer.id, anchor=bulk.indicator_id, scope=bulk.scope, action=bulk.action,
            expected=bulk.expected, code=bulk.code.strip(), comment=bulk.comment, cluster_id=bulk.cluster_id,
        )  # fmt: skip

    @app.post("/api/bulk/{bulk_id}/undo", tags=["review"], status_code=201)
    def post_bulk_undo(reviewer: ReviewerDep, bulk_id: int) -> dict[str, Any]:
        """Undo a bulk decision of yours as one."""
        return undo_bulk(db, reviewer_id=reviewer.id, bulk_id=bulk_id)

    @app.post("/api/assignments", tags=["admin"], status_code=201)
    def post_assignments(admin: AdminDep, body: Annotated[AssignIn, Body()]) -> dict[str, int]:
        """Double review: the items go to every named reviewer, who decide them blind."""
        if body.indicator_ids:
            return assign(
                db, indicator_ids=body.indicator_ids, reviewers=body.reviewers, assigned_by=admin.id
            )
        return assign_queue(db, reviewers=body.reviewers, assigned_by=admin.id, limit=body.limit)

    @app.get("/api/agreement", tags=["review"])
    def get_agreement(_reviewer: ReviewerDep, assigned_only: bool = True) -> list[dict[str, Any]]:
        """Cohen's κ per pair of reviewers over the items both decided."""
        return agreement_by_pair(db, assigned_only=assigned_only)

    @app.get("/api/export/reviewer", tags=["review"])
    def export_reviewer(
        _reviewer: ReviewerDep,
        department: Department = "",
        tier: Annotated[str, Query(pattern="^(flagged|review|all)$")] = "flagged",
    ) -> Response:
        """The reviewer workbook (.xlsx): Chinese headers, an empty 审核结论 column to fill in and import."""
        from nlp.workbook import reviewer_workbook

        content = reviewer_workbook(
            db, filters=QueueFilter(department=department, tier=tier), reasons=reasons
        )
        stamp = datetime.now(TIME_ZONE).strftime("%Y%m%d-%H%M")
        disposition = f'attachment; filename="zhibiao-review-{stamp}.xlsx"'
        return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})
