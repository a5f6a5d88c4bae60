"""Misclassification audit: what is in the wrong place, why, and where it belongs.

Evidence, weighed per indicator:
- the classifier's out-of-sample probabilities (out-of-fold for texts the model was trained on), read
  with cleanlab's confident-learning thresholds and label-quality scores;
- a process-item detector (budget execution, fund arrival, spending compliance: TAXONOMY.md §4, §6);
- rules from TAXONOMY.md §4, each a reason code with a Chinese explanation.

``flagged`` means *misplaced*: the suggested code differs from the declared one and the evidence is
strong enough (``flag_score >= threshold``). Value-quality findings (vague value, value repeating the
name, a count with a percent value, cost restating the budget) are listed in ``reasons`` as notes; on
their own they do not flag, because the indicator may still sit in the right category.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nlp.model import Bundle, Prediction, RowScores, score_rows
from nlp.records import Indicator
from nlp.taxonomy import (
    CUES,
    LEAF_NAMES,
    LEAVES,
    PROCESS,
    PROCESS_PATTERN,
    belongs,
    label_name,
)
from nlp.values import parse_value

__all__ = [
    "Verdict", "REASONS", "NOTES", "DEFAULT_THRESHOLD", "REVIEW_THRESHOLD", "DEFENSIBLE", "defensible", "audit", "confident_thresholds",
]  # fmt: skip

#: A flag means "a reviewer will agree this is misplaced". On real tables from other provinces only
#: about 5% of placements are wrong (the seeds: 19%), so the threshold is where the flags of unseen
#: documents were right at least 85% of the time, leave-document-out (corpus/README.md, reliability
#: table): 0.9. Between REVIEW_THRESHOLD and it, a case is listed for review, not flagged.
DEFAULT_THRESHOLD = 0.9
#: Below the flag threshold but worth a reviewer's look: the second tier, kept apart from flags.
REVIEW_THRESHOLD = 0.3
#: TAXONOMY.md §6: the kinds of indicator for which either of two 二级 is a defensible placement, by the
#: words that name the kind. The model preferring the other one of such a pair is no evidence of a
#: misplacement on its own: the case goes to the review tier, never to the flags.
DEFENSIBLE: dict[frozenset[str], tuple[str, ...]] = {
    # beneficiary counts: 数量 or 社会效益
    frozenset(("11", "22")): ("受益", "惠及", "服务人次", "服务人数", "覆盖人", "接待", "参与人"),
    # how often planned work recurs: 数量 or 时效
    frozenset(("11", "13")): ("次/月", "次/年", "次/周", "次/季", "每月", "每季", "每年", "频次", "定期"),
    # rates of planned work done: 数量 or 质量; regulatory and monitoring results: 质量 or 数量
    frozenset(("11", "12")): (
        "完成率",
        "覆盖率",
        "抽检率",
        "完成情况",
        "风险分级",
        "不良反应",
        "检查",
        "监测",
        "抽检",
    ),
    # price or spending limits: 成本 or 质量
    frozenset(("12", "14")): ("价格", "不高于", "不超过", "控制在", "预算内", "成本控制", "控制率"),
    # effects that last: 社会效益 or 可持续影响; 机构运行 / 正常运行 likewise
    frozenset(("22", "24")): ("长效", "持续", "长期", "机构运行", "正常运行", "运转"),
}


def defensible(name: str, declared: str, suggested: str, value: str = "") -> bool:
    """Whether TAXONOMY.md §6 lets both ``declared`` and ``suggested`` stand for an indicator called ``name``.

    >>> defensible("受益群众人数", "22", "11"), defensible("培训人数", "22", "11")
    (True, False)
    """
    return any(
        word in text
        for word in DEFENSIBLE.get(frozenset((declared, suggested)), ())
        for text in (name, value)
    )


#: Reason code -> Chinese label shown to reviewers.
REASONS: dict[str, str] = {
    "process_item": "过程指标：衡量预算执行/资金到位/支出合规，不是产出或效益",
    "satisfaction_misplaced": "满意度指标放在了满意度以外的类别",
    "category_mismatch": "指标内容与所填二级类别不符",
    "l2_not_in_l1": "二级指标不属于所填一级指标",
    "timeliness_without_time": "时效指标的名称和指标值都没有时间要求",
    "unit_mismatch": "指标值的单位与指标不符（如人数指标填百分比）",
    "value_repeats_name": "指标值照抄指标名称",
    "vague_value": "可量化指标使用了模糊的指标值",
    "cost_restates_budget": "成本指标只是重复项目预算",
}
#: Reasons that describe the value, not the placement: listed, never flagging on their own.
NOTES = frozenset({"unit_mismatch", "value_repeats_name", "vague_value", "cost_restates_budget"})

_SATISFACTION = ("满意度", "满意率", "认可度", "认可率", "好评率", "满意")
_TIME_WORDS = CUES["13"] + (
    "年底",
    "月底",
    "日前",
    "季度",
    "每月",
    "每年",
    "天",
    "日内",
    "时间",
    "/月",
    "/年",
    "/周",
    # milestones and schedules are time requirements too
    "按计划",
    "按期",
    "开工",
    "完工",
    "竣工",
    "进度",
    "周期",
)
_COUNT_NAME = ("人数", "人次", "次数", "数量", "宗数", "场次", "件数", "户数")
_MEASURABLE = ("11", "12", "13", "14")
_MONEY = re.compile(r"资金|预算|经费|款|支出|支付|拨付|采购|财政|结余|结转|科目|费用")
_IMPACT_COST = re.compile(r"社会成本|生态环境成本|环境成本")
_TIMELY_HEAD = re.compile(
    r"(及时率|及时性|按时率|准时率|按时发放|及时发放|按时完成率|及时完成率)\s*([(（].{1,4}[)）])?$"
)
_COUNT_HEAD = re.compile(r"数量\s*([(（].{1,4}[)）])?$")
_WITHIN_BUDGET = re.compile(r"预算(范围)?内|不超[过出]?预算|控制在")
_KEEPS_RUNNING = re.compile(
    r"(机构|单位|机关|部门|社区|村|两委|日常工作).{0,6}(正常|日常|平稳)(运行|运转)|日常运转"
)
_PAID_TO_PEOPLE = ("工资", "待遇", "补贴", "补助", "慰问金", "薪酬", "救助金", "津贴")
# Rules name the reason before the model does when both point the same way.
_PRIORITY = {"process_item": 3, "satisfaction_misplaced": 4, "l2_not_in_l1": 2, "category_mismatch": 1}


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    reasons: tuple[str, ...]
    suggested_code: str
    score: float
    explanation: str
    #: "flagged" (a reviewer will agree it is misplaced), "review" (worth a look) or "".
    tier: str = ""
    #: The out-of-sample probabilities the explanation quotes: the three likeliest leaves plus the
    #: suggested and declared ones, as (code, p), likeliest first; what the workbench shows beside it.
    top: tuple[tuple[str, float], ...] = ()
    #: p of the suggested code in that distribution; ``None`` for a process item (not a leaf).
    probability: float | None = None

    @property
    def reason_text(self) -> str:
        return "；".join(REASONS[r] for r in self.reasons)


def confident_thresholds(bundle: Bundle) -> np.ndarray:
    """Per-class confident-learning thresholds (cleanlab) from the bundle's out-of-fold probabilities:
    the mean probability the model gives a class on examples truly of that class."""
    cached = bundle.meta.get("_confident_thresholds")
    if cached is not None:
        return np.asarray(cached)
    from cleanlab.count import get_confident_thresholds

    oof = bundle.meta.get("oof", {})
    labels_by_row = bundle.meta.get("oof_labels", {})
    rows = [row for row in oof if row in labels_by_row]
    if len(rows) < len(LEAVES):
        thresholds = np.full(len(LEAVES), 0.5)
    else:
        probs = np.array([oof[row] for row in rows])
        labels = np.array([LEAVES.index(labels_by_row[row]) for row in rows])
        thresholds = get_confident_thresholds(labels, probs, multi_label=False)
    bundle.meta["_confident_thresholds"] = thresholds.tolist()
    return thresholds


def _out_of_sample(
    bundle: Bundle, rows: list[tuple[str, str, str]], scores: RowScores | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities over LEAVES and process probabilities; out-of-fold where the model saw the row."""
    oof: dict = bundle.meta.get("oof", {})
    oof_pr: dict = bundle.meta.get("oof_process", {})
    if scores is None:
        scores = score_rows(bundle, rows, explain=False)
    proba = scores.proba
    classes = bundle.classes
    full = np.zeros((len(rows), len(LEAVES)))
    for j, code in enumerate(classes):
        full[:, LEAVES.index(code)] = proba[:, j]
    pr = np.array(scores.process, dtype=float)  # a copy: out-of-fold values are written into it
    for i, row in enumerate(rows):
        if row in oof:
            full[i] = oof[row]
        if row in oof_pr:
            pr[i] = oof_pr[row]
    return full, pr


def audit(
    indicators: Sequence[Indicator],
    predictions: Sequence[Prediction] | None = None,
    *,
    bundle: Bundle,
    threshold: float | None = None,
    scores: RowScores | None = None,
) -> list[Verdict]:
    """One verdict per indicator, in input order.

    ``predictions`` (from :func:`nlp.model.classify`) are accepted for symmetry with the CLI; the audit
    recomputes out-of-sample probabilities itself so no row is judged by a model that saw its label.
    ``scores`` (from :func:`nlp.model.score_rows`, one per indicator) saves scoring the rows again; the
    out-of-fold probabilities still replace them for rows the model was trained on.
    """
    from cleanlab.rank import get_label_quality_scores

    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    if not indicators:
        return []
    # Copies of boilerplate agree in everything a verdict reads: judge each distinct one once.
    keys = [_verdict_key(ind) for ind in indicators]
    position: dict[tuple[object, ...], int] = {}
    first: list[int] = []
    for i, key in enumerate(keys):
        if key not in position:
            position[key] = len(first)
            first.append(i)
    everyone, indicators = indicators, [indicators[i] for i in first]
    rows = [(ind.name, ind.description, ind.value) for ind in indicators]
    proba, pr = _out_of_sample(bundle, rows, None if scores is None else scores.take(first))
    thresholds = confident_thresholds(bundle)
    declared = [ind.declared_code if ind.declared_code in LEAVES else "" for ind in indicators]
    labelled = [i for i, code in enumerate(declared) if code]
    quality = np.ones(len(rows))
    if labelled:
        labels = np.array([LEAVES.index(declared[i]) for i in labelled])
        quality[labelled] = get_label_quality_scores(labels, proba[labelled], method="self_confidence")
    verdicts = [
        _verdict(ind, proba[i], float(pr[i]), float(quality[i]), thresholds, threshold)
        for i, ind in enumerate(indicators)
    ]
    if len(verdicts) == len(everyone):
        return verdicts
    return [verdicts[position[key]] for key in keys]


def _verdict_key(ind: Indicator) -> tuple[object, ...]:
    """Everything :func:`_verdict` reads of an indicator (its text, declared placement, scheme, budget)."""
    return (
        ind.name, ind.description, ind.value, ind.declared_code, ind.declared_l1, ind.declared_l2,
        ind.scheme, ind.budget,
    )  # fmt: skip


def _verdict(
    ind: Indicator, proba: np.ndarray, pr: float, quality: float, thresholds: np.ndarray, threshold: float
) -> Verdict:
    declared = ind.declared_code if ind.declared_code in LEAVES else ""
    top = LEAVES[int(np.argmax(proba))]
    reasons: list[str] = []
    candidates: list[tuple[float, str, str]] = []  # (score, suggested code, reason)

    name = ind.name
    # Each piece of evidence gets a strength on one scale; 0.5 is where a flag is
    # right about 85% of the time on the seed gold, out of fold.
    process = max(0.0, min(1.0, pr - 0.2))
    if PROCESS_PATTERN.search(name):
        process = max(process, 0.9)  # TAXONOMY.md §4: flag them as process items whatever their slot
    if (
        declared in ("12", "13")
        and any(word in name for word in _PAID_TO_PEOPLE)
        and any(word in name for word in ("及时", "按时", "准确", "时限", "精准"))
    ):
        # TAXONOMY.md §6: pay or benefits reaching people on time / accurately is 时效 / 质量, not a
        # process item; where that reading is there, the document's own placement stands.
        process *= 0.5
    if not PROCESS_PATTERN.search(name) and not _MONEY.search(name):
        # TAXONOMY.md §4: process items measure budget execution and money moving; "储备到位率" or
        # "制度执行率" use the same words about grain or rules. Without money in the name the detector's
        # word is half the evidence.
        process *= 0.5
    if _WITHIN_BUDGET.search(name + ind.value):
        # TAXONOMY.md §6: a spending limit ("控制在预算内") is 成本 or 质量, not budget execution.
        process = min(process, 0.5)
    if process > 0:
        candidates.append((process, PROCESS, "process_item"))
    head = name.strip()
    if declared in ("11", "12", "14") and _TIMELY_HEAD.search(head) and not PROCESS_PATTERN.search(name):
        # The phrase's head says what it measures: "…及时率", "按时发放" is 时效 (TAXONOMY.md §3, §6), not
        # another 产出 slot. (Under 效益 the gold lets service timeliness stand.)
        candidates.append((0.9, "13", "category_mismatch"))
    if declared in ("12", "13", "14") and _COUNT_HEAD.search(head):
        # "…数量(项)" counts things: 数量, not 质量 / 时效 / 成本.
        candidates.append((0.9, "11", "category_mismatch"))
    if _KEEPS_RUNNING.search(name) and declared and declared not in ("22", "24"):
        # TAXONOMY.md §6: an institution kept running ("机构运行保障 / 正常运行") is 可持续影响 when declared
        # there, otherwise 社会效益; as 数量, 质量 or 经济效益 it is misplaced. (Equipment running is quality.)
        candidates.append((0.92, "22", "category_mismatch"))
    if any(word in name for word in _SATISFACTION) and declared and declared != "31":
        candidates.append((0.95, "31", "satisfaction_misplaced"))
    # 2021 scheme: 社会成本 / 生态环境成本 hold the project's social and ecological costs (adverse effects),
    # which read like 社会效益 / 生态效益 to the model; in that scheme the document's placement stands.
    impact_cost = declared == "14" and bool(_IMPACT_COST.search(ind.declared_l2 or ""))
    if declared and not impact_cost:
        # Confident learning (cleanlab's per-class thresholds) picks the suggestion.
        confident = [k for k in range(len(LEAVES)) if proba[k] >= thresholds[k]]
        best = max(confident, key=lambda k: proba[k] - thresholds[k]) if confident else int(np.argmax(proba))
        suggested = LEAVES[best]
        p_declared = float(proba[LEAVES.index(declared)])
        if suggested != declared:
            strength = max(0.0, 1.0 - p_declared / 0.1) * (1.0 - pr)
            # Within one 一级 (数量 vs 质量, 社会效益 vs 可持续影响) the categories shade into each other
            # (TAXONOMY.md §6) and the gold keeps the document's choice: ask for more before speaking.
            across = suggested[0] != declared[0] and proba[best] >= 0.4
            within = proba[best] >= 0.6 and not any(word in name for word in CUES[declared])
            if not (across or within):
                strength *= 0.5
            candidates.append((strength, suggested, "category_mismatch"))
    if not belongs(ind.declared_l1, ind.declared_l2, scheme=ind.scheme):
        candidates.append((0.95, top, "l2_not_in_l1"))  # a fact of the table, not a preference

    value = parse_value(ind.value, name=name)
    if (
        declared == "13"
        and value.kind not in ("deadline", "duration")
        and not any(word in name + ind.value for word in _TIME_WORDS)
    ):
        reasons.append("timeliness_without_time")
        if top != "13":
            # TAXONOMY.md §4 "timeliness filed elsewhere", the other way round: a 时效 slot whose name and
            # value carry no time requirement at all, and which reads as another category, is misplaced.
            candidates.append((0.9, top, "category_mismatch"))
    if any(word in name for word in _COUNT_NAME) and not name.endswith("率") and value.kind == "percent":
        reasons.append("unit_mismatch")
    if name.endswith("率") and value.kind == "count" and value.unit in ("人", "人次", "户", "家"):
        reasons.append("unit_mismatch")
    if value.kind == "repeat":
        reasons.append("value_repeats_name")
    elif value.vague and declared in _MEASURABLE:
        reasons.append("vague_value")
    if declared == "14" and _restates_budget(ind, value.numbers, value.unit):
        reasons.append("cost_restates_budget")

    if not candidates:
        note = "；".join(REASONS[r] for r in reasons)
        return Verdict(False, tuple(reasons), declared or top, 0.0, note)
    score, suggested, reason = max(candidates, key=lambda c: (round(c[0], 2), _PRIORITY[c[2]]))
    # When a rule and the model point to the same category, the rule names the reason: it reads better.
    reason = max((c for c in candidates if c[1] == suggested), key=lambda c: _PRIORITY[c[2]])[2]
    if "timeliness_without_time" in reasons and reason == "category_mismatch":
        score = min(1.0, score + 0.15)
    # A 二级 under the wrong 一级 is misplaced even when the 二级 itself is right.
    differs = suggested != declared or reason == "l2_not_in_l1"
    # Only the model speaks, across a §6 boundary where the document's choice also stands: a look, no flag.
    boundary = reason == "category_mismatch" and defensible(name, declared, suggested, ind.value)
    if differs and score >= threshold and not boundary:
        tier = "flagged"
    elif differs and score >= min(REVIEW_THRESHOLD, threshold):
        tier = "review"
    else:
        tier = ""
    all_reasons = tuple(
        dict.fromkeys([reason] + [r for _, _, r in sorted(candidates, reverse=True)] + reasons)
    )
    explanation = _explain(ind, reason, suggested, score, proba)
    if boundary and tier == "review":
        explanation += "（两种归类均可，请复核）"
    top3, probability = _distribution(proba, suggested, declared)
    return Verdict(
        tier == "flagged",
        all_reasons,
        suggested,
        round(float(score), 4),
        explanation,
        tier,
        top3,
        probability,
    )


def _distribution(
    proba: np.ndarray, suggested: str, declared: str
) -> tuple[tuple[tuple[str, float], ...], float | None]:
    order = [LEAVES[k] for k in np.argsort(-proba)[:3]]
    shown = list(dict.fromkeys([*order, *(c for c in (suggested, declared) if c in LEAVES)]))
    shown.sort(key=lambda code: -float(proba[LEAVES.index(code)]))
    top = tuple((code, round(float(proba[LEAVES.index(code)]), 4)) for code in shown)
    probability = round(float(proba[LEAVES.index(suggested)]), 4) if suggested in LEAVES else None
    return top, probability


def _restates_budget(ind: Indicator, numbers: tuple[float, ...], unit: str) -> bool:
    if not ind.budget or not numbers:
        return False
    amount = numbers[0] * (10_000 if unit.startswith("元") else 1) if "元" in unit else numbers[0]
    in_wan = amount / 10_000 if unit.startswith("元") else amount
    return abs(in_wan - ind.budget) <= max(0.01 * ind.budget, 0.01)


def _explain(ind: Indicator, reason: str, suggested: str, score: float, proba: np.ndarray) -> str:
    declared = label_name(ind.declared_code) or (ind.declared_l2 or ind.declared_l1)
    target = LEAF_NAMES.get(suggested, suggested)
    if reason == "process_item":
        return f"「{ind.name}」衡量的是资金/预算执行过程，不是绩效产出或效益；建议作为过程指标剔除（原填：{declared}）"
    if reason == "satisfaction_misplaced":
        return f"「{ind.name}」是满意度指标，却放在{declared}下；建议改为{target}"
    if reason == "l2_not_in_l1":
        l1 = ind.declared_l1 or ""
        return f"二级「{ind.declared_l2}」不属于一级「{l1}」；按内容建议{target}"
    p_declared = float(proba[LEAVES.index(ind.declared_code)]) if ind.declared_code in LEAVES else 0.0
    p_target = float(proba[LEAVES.index(suggested)]) if suggested in LEAVES else 0.0
    return f"「{ind.name}」按名称和指标值更像{target}（{p_target:.0%}），放在{declared}的可能性仅{p_declared:.0%}"
