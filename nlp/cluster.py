"""Boilerplate finder: near-duplicate goals, indicators and indicator sets across documents.

Budget tables are full of copied text: a goal written once and pasted into every project of a department
with one word changed, an indicator block reused from a template, a project's whole indicator list copied
into another project. This module groups such copies so a reviewer sees each template once, with where it
was pasted and what was edited.

Three levels, one pipeline:

- ``goals``: the text of :attr:`Project.goal`;
- ``indicators``: an indicator's name and target value (``name：value``);
- ``sets``: a project's set of indicator names, compared with other projects' sets.

Pipeline: normalise each item (NFKC, document numbers and numbers to placeholders, punctuation and
whitespace dropped) -> group identical normalised keys by hashing (boilerplate repeats a lot) -> one
MinHash per *distinct* key over its character 3-gram shingles (Chinese has no spaces, so words cannot be
shingled) or, for sets, over the names as set elements -> one streaming MinHashLSH index (query, verify
each candidate by exact Jaccard, union, insert) -> union-find components -> clusters whose representative
is the medoid, each member with its similarity to the representative and an inline diff.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

import numpy as np

from nlp.diffs import diff_segments, inline_diff
from nlp.errors import ZhibiaoError
from nlp.records import Document, Indicator, Project

__all__ = [
    "LEVELS",
    "DEFAULT_THRESHOLD",
    "DEFAULT_THRESHOLDS",
    "CLUSTER_COLUMNS",
    "Member",
    "Cluster",
    "normalise",
    "shingles",
    "jaccard",
    "inline_diff",
    "diff_segments",
    "LEVEL_NAMES",
    "indicator_text",
    "cluster_goals",
    "cluster_indicators",
    "cluster_sets",
    "find_clusters",
]

LEVELS: tuple[str, ...] = ("goals", "indicators", "sets")
LEVEL_NAMES: dict[str, str] = {"goals": "绩效目标", "indicators": "绩效指标", "sets": "指标集"}

# Measured on tests/fixtures/boilerplate_gold.json (test_default_thresholds_are_the_measured_choice): per
# level, the highest threshold on a 0.05 grid whose pairwise recall stays >= 0.95, favouring precision
# (which is 1.0 there on all three levels). For texts that also keeps the threshold above 0.5: then no
# single text can be threshold-similar to two templates that share nothing, so a goal pasted together
# from two templates cannot chain them into one cluster. Sets are small (4-9 names) and their Jaccard
# moves in coarse steps: 0.5 is 4 of 8 names shared, where copies with two rows rewritten still meet.
DEFAULT_THRESHOLDS: dict[str, float] = {"goals": 0.55, "indicators": 0.8, "sets": 0.5}
DEFAULT_THRESHOLD: float = DEFAULT_THRESHOLDS["goals"]

SHINGLE_SIZE = 3
NUM_PERM = 64
_SEED = 1
# A text with fewer shingles than this (or a set with fewer names) only joins exact copies of itself:
# "1、及时支付" and "1、及时支付率" share most of their few shingles without being the same boilerplate.
_MIN_SHINGLES = 4
_MIN_SET_SIZE = 3
# The LSH is only a candidate filter: query it below the verification threshold and weight false
# negatives up, so pairs near the threshold are still verified exactly.
_LSH_SLACK = 0.8
_LSH_WEIGHTS = (0.3, 0.7)
# A key this close to one already indexed is not indexed itself: its neighbours are that key's
# neighbours, and leaving it out keeps the buckets small when a template is pasted thousands of times.
_COVERED = 0.8
_INDEX_PER_CLUSTER = 64
# A candidate whose MinHash estimate is this far below the threshold is not verified: at 64 permutations
# the estimate's standard deviation is at most 0.0625, so 0.2 is more than three of them.
_ESTIMATE_MARGIN = 0.2
_BATCH = 2048
_MEDOID_SAMPLE = 100
_MEDOID_CANDIDATES = 20

CLUSTER_COLUMNS: tuple[str, ...] = (
    "cluster_id",
    "level",
    "size",
    "departments",
    "doc",
    "department",
    "project",
    "line",
    "text",
    "representative",
    "similarity",
    "diff",
    "mean_similarity",
)

# 穗财社〔2023〕33号, 穗财社[2015]69号, (2019)第1号: the year and serial change between copies.
_DOC_NUMBER = re.compile(r"[〔\[［【(（]\s*(?:19|20)\d{2}\s*[〕\]］】)）]\s*第?\s*\d+\s*号")
# A number with its comparator or qualifier: ≥95%, ＞95% (NFKC: >95%), 达到95%, 95%以上 and 不低于95% are the
# same target written by different hands.
_NUMBER = re.compile(
    r"(?:[≥≤<>》《≧≦=]|不低于|不少于|不高于|不超过|达到|约)?\s*\d+(?:[.,]\d+)*\s*(?P<unit>[%‰]?)\s*(?:以上|以下|以内)?"
)
_KEEP = frozenset("%‰")
# Joins name and value in an indicator's key; a control character, so normalised text never holds it.
_FIELD_SEPARATOR = "\x1f"
# Names inside a set are joined with "；": the inline layouts use it as a field separator, so no name
# contains it (names do contain 、).
_NAME_SEPARATOR = "；"
_DEFINITION = re.compile(r"(?<=[\u4e00-\u9fff])\s*[-—–]+\s*[\u4e00-\u9fff].{3,}$")


@dataclass(frozen=True)
class Member:
    """One occurrence of a cluster's boilerplate."""

    doc: str
    department: str
    project: str
    line: int
    text: str
    similarity: float
    diff: str


@dataclass(frozen=True)
class Cluster:
    """A group of near-identical items; ``representative`` is the medoid's text."""

    id: str
    level: str
    size: int
    members: tuple[Member, ...]
    departments: tuple[str, ...]
    representative: str
    mean_similarity: float


@dataclass(frozen=True)
class _Item:
    doc: str
    department: str
    project: str
    line: int
    text: str
    key: str
    # What the diff compares: the text itself (its characters), or a set's names. Not tuple(text): a
    # tuple of one-character strings costs ~80 bytes a character.
    units: Sequence[str]


# ---------------------------------------------------------------------------------------- normalising


# Boilerplate repeats: at 100k indicators there are ~6k distinct texts, each normalised once.
@lru_cache(maxsize=1 << 17)
def normalise(text: str) -> str:
    """The comparison form of a text: NFKC, numbers (with ≥, 达到, 以上 …) and document numbers as ``0``,
    no punctuation or spaces.

    >>> normalise("穗财社〔2023〕33号：资金到位率 ≥100%")
    '穗财社0号资金到位率0%'
    """
    text = unicodedata.normalize("NFKC", text)
    text = _DOC_NUMBER.sub("〔0〕号", text)
    text = _NUMBER.sub(lambda m: "0" + m["unit"], text)
    # P: punctuation, Z: spaces, C: control/format characters (zero-width spaces from PDF exports);
    # % is punctuation to Unicode but tells 100% from 100人.
    return "".join(ch for ch in text if ch in _KEEP or unicodedata.category(ch)[0] not in "PZC").lower()


def shingles(text: str, size: int = SHINGLE_SIZE) -> frozenset[str]:
    """Character n-grams of an (already normalised) text; empty when the text is shorter than ``size``.

    >>> sorted(shingles("资金到位率"))
    ['到位率', '资金到', '金到位']
    """
    return frozenset(text[i : i + size] for i in range(len(text) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets).

    >>> jaccard(frozenset("ab"), frozenset("bc"))
    0.3333333333333333
    """
    if not a and not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


# -------------------------------------------------------------------------------------------- diffs


class _Forest:
    """Union-find over 0..n-1 with path halving (a class because the parent array is shared state)."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, node: int) -> int:
        parent = self.parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            # The earlier key stays the root so component order follows the input.
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


# ------------------------------------------------------------------------------------------ the core


def _link(
    keys: Sequence[str],
    features_of: Callable[[str], frozenset[str]],
    threshold: float,
    *,
    min_features: int,
    num_perm: int = NUM_PERM,
) -> _Forest:
    """Union distinct keys whose feature sets have Jaccard >= threshold, via one streaming LSH index.

    Each key is queried before it is inserted, so every pair is looked at once, by the later key. A key
    is left out of the index when it is a near copy (>= ``_COVERED``) of an indexed key, or when its
    cluster already has ``_INDEX_PER_CLUSTER`` keys indexed: a template pasted 10,000 times would
    otherwise fill every bucket it hashes to, and each query would walk all of its copies.
    """
    from datasketch import MinHash, MinHashLSH

    forest = _Forest(len(keys))
    lsh = MinHashLSH(threshold=max(0.05, threshold * _LSH_SLACK), num_perm=num_perm, weights=_LSH_WEIGHTS)
    # Only indexed keys keep their features, built from one shared pool of shingle strings: at 100,000
    # goals a private frozenset of fresh strings per key would take most of the memory.
    pool: dict[str, str] = {}
    indexed: dict[int, frozenset[str]] = {}
    indexed_in: Counter[int] = Counter()  # indexed keys per component root
    # Signatures of indexed keys, one row each: a query's candidates are first screened by their
    # estimated Jaccard in one vectorised comparison, and only the plausible ones are verified exactly.
    signatures = np.empty((min(len(keys), _BATCH), num_perm), dtype=np.uint64)
    row_of: dict[int, int] = {}
    floor = threshold - _ESTIMATE_MARGIN
    eligible = ((k, feats) for k, key in enumerate(keys) if len(feats := features_of(key)) >= min_features)
    while batch := list(islice(eligible, _BATCH)):
        encoded = [[f.encode("utf-8") for f in feats] for _, feats in batch]
        # crc32 instead of datasketch's default sha1: a third of the hashing time, and 32 bits is what
        # MinHash keeps of a hash anyway.
        minhashes = MinHash.generator(encoded, num_perm=num_perm, seed=_SEED, hashfunc=zlib.crc32)
        for (key, feats), minhash in zip(batch, minhashes, strict=True):
            covered = False
            size, root = len(feats), key
            candidates = list(lsh.query(minhash))
            if candidates:
                rows = signatures[[row_of[c] for c in candidates]]
                estimates = (rows == minhash.hashvalues).mean(axis=1)
                for other in (c for c, e in zip(candidates, estimates, strict=True) if e >= floor):
                    other_root = forest.find(other)
                    if other_root == root:
                        continue
                    known = indexed[other]
                    # Jaccard <= min/max of the sizes: a cheap test before the set operation.
                    if min(size, len(known)) < threshold * max(size, len(known)):
                        continue
                    similarity = jaccard(feats, known)
                    if similarity >= threshold:
                        forest.union(root, other_root)
                        merged = forest.find(root)
                        indexed_in[merged] = indexed_in.pop(root, 0) + indexed_in.pop(other_root, 0)
                        root = merged
                        covered = covered or similarity >= _COVERED
            if not covered and indexed_in[root] < _INDEX_PER_CLUSTER:
                indexed[key] = frozenset(pool.setdefault(f, f) for f in feats)
                indexed_in[root] += 1
                if len(row_of) == len(signatures):
                    signatures = np.concatenate([signatures, np.empty_like(signatures)])
                signatures[len(row_of)] = minhash.hashvalues
                row_of[key] = len(row_of)
                lsh.insert(key, minhash, check_duplication=False)
    return forest


def _medoid(keys: list[int], counts: Counter[int], features: dict[int, frozenset[str]]) -> int:
    """The key with the highest count-weighted similarity to the others.

    In a big cluster the candidates are the most repeated keys and they are scored against an even
    sample of the keys: an approximate medoid, at a bounded cost per cluster.
    """
    if len(keys) == 1:
        return keys[0]
    candidates = sorted(keys, key=lambda k: (-counts[k], k))[:_MEDOID_CANDIDATES]
    others = keys[:: max(1, len(keys) // _MEDOID_SAMPLE)]
    return max(
        candidates,
        key=lambda c: (sum(counts[o] * jaccard(features[c], features[o]) for o in others), counts[c]),
    )


def _cluster_items(
    items: Sequence[_Item],
    features_of: Callable[[str], frozenset[str]],
    *,
    level: str,
    threshold: float,
    min_features: int,
) -> list[Cluster]:
    _check_threshold(threshold)
    # Exact copies first: the LSH only ever sees each distinct normalised key once.
    key_index: dict[str, int] = {}
    item_keys = [key_index.setdefault(item.key, len(key_index)) for item in items]
    keys = list(key_index)
    forest = _link(keys, features_of, threshold, min_features=min_features)

    counts = Counter(item_keys)
    components: dict[int, list[int]] = defaultdict(list)
    for key in range(len(keys)):
        components[forest.find(key)].append(key)
    members_of: dict[int, list[int]] = defaultdict(list)
    for position, key in enumerate(item_keys):
        members_of[forest.find(key)].append(position)

    built = []
    for root, component in components.items():
        positions = members_of[root]
        if len(positions) < 2:
            continue
        features = {key: features_of(keys[key]) for key in component}
        built.append(_build(positions, component, counts, items, item_keys, features))
    built.sort(key=lambda c: (-c.size, c.members[0].doc, c.members[0].line))
    prefix = level[0].upper()
    return [
        Cluster(
            id=f"{prefix}{number:03d}",
            level=level,
            size=cluster.size,
            members=cluster.members,
            departments=cluster.departments,
            representative=cluster.representative,
            mean_similarity=cluster.mean_similarity,
        )
        for number, cluster in enumerate(built, start=1)
    ]


def _build(
    positions: list[int],
    component: list[int],
    counts: Counter[int],
    items: Sequence[_Item],
    item_keys: list[int],
    features: dict[int, frozenset[str]],
) -> Cluster:
    medoid = _medoid(component, counts, features)
    first = next(p for p in positions if item_keys[p] == medoid)
    representative = items[first]
    sims: dict[int, float] = {}
    diffs: dict[str, str] = {}  # by text: copies with one key can still differ in their numbers
    members = []
    for position in positions:
        item, key = items[position], item_keys[position]
        if key not in sims:
            sims[key] = 1.0 if key == medoid else round(jaccard(features[medoid], features[key]), 3)
        if item.text not in diffs:
            diffs[item.text] = inline_diff(representative.units, item.units)
        members.append(
            Member(item.doc, item.department, item.project, item.line, item.text, sims[key], diffs[item.text])
        )
    # The representative occurrence first, then the closest copies.
    head = members[positions.index(first)]
    rest = sorted((m for m in members if m is not head), key=lambda m: (-m.similarity, m.doc, m.line))
    others = [m.similarity for m in rest]
    return Cluster(
        id="",
        level="",
        size=len(members),
        members=(head, *rest),
        departments=tuple(sorted({m.department for m in members if m.department})),
        representative=representative.text,
        mean_similarity=round(statistics.fmean(others), 3) if others else 1.0,
    )


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ZhibiaoError("E041", threshold=threshold)


def _char_features(key: str) -> frozenset[str]:
    return shingles(key)


def _indicator_features(key: str) -> frozenset[str]:
    # Name and value are shingled apart: a shingle across the boundary ("率|0") would be shared by
    # every "…率: 100%" and make short, different indicators look alike. A value that repeats the name
    # adds nothing (a set), and a short value ("合规", "100%") adds no shingle at all.
    name, _, value = key.partition(_FIELD_SEPARATOR)
    return shingles(name) | shingles(value)


def _name_features(key: str) -> frozenset[str]:
    return frozenset(key.split("\n")) if key else frozenset()


# -------------------------------------------------------------------------------------- public API


def cluster_goals(projects: Iterable[Project], *, threshold: float = DEFAULT_THRESHOLD) -> list[Cluster]:
    """Clusters of near-identical project goals, largest first; projects without a goal are left out.

    >>> from nlp.records import Project
    >>> goal = "通过项目的实施，激励租赁人员的工作积极性，保障番禺区社会保险工作的顺利开展。"
    >>> ps = [Project("a", "甲", "租赁", goal, None, "classic", 1),
    ...       Project("b", "乙", "租赁", goal.replace("社会保险", "公费医疗"), None, "classic", 9)]
    >>> [c.size for c in cluster_goals(ps)]
    [2]
    """
    items = [
        _Item(p.doc, p.department, p.name, p.line, goal, key, goal)
        for p in projects
        if (key := normalise(goal := p.goal.strip()))
    ]
    return _cluster_items(
        items, _char_features, level="goals", threshold=threshold, min_features=_MIN_SHINGLES
    )


def indicator_text(indicator: Indicator) -> str:
    """How an indicator is shown and compared: ``name：value`` (just the name when it has no value)."""
    return f"{indicator.name}：{indicator.value}" if indicator.value else indicator.name


def cluster_indicators(
    indicators: Iterable[Indicator], *, threshold: float = DEFAULT_THRESHOLDS["indicators"]
) -> list[Cluster]:
    """Clusters of near-identical indicators (name + target value), largest first.

    >>> from nlp.records import Indicator
    >>> def ind(project, value):
    ...     return Indicator("a", "甲", project, "", None, "classic", "产出指标", "数量指标", "11",
    ...                      "资助人数", annual_value=value)
    >>> [c.size for c in cluster_indicators([ind("p", "约40人/年"), ind("q", "约45人/年")])]
    [2]
    """
    items = []
    for ind in indicators:
        key = normalise(ind.name) + _FIELD_SEPARATOR + normalise(ind.value)
        text = indicator_text(ind)
        items.append(_Item(ind.doc, ind.department, ind.project, ind.line, text, key, text))
    return _cluster_items(
        items, _indicator_features, level="indicators", threshold=threshold, min_features=_MIN_SHINGLES
    )


def cluster_sets(
    projects: Iterable[Project], *, threshold: float = DEFAULT_THRESHOLDS["sets"]
) -> list[Cluster]:
    """Clusters of projects whose sets of indicator names nearly coincide, largest first.

    >>> from nlp.records import Indicator, Project
    >>> def project(name, names):
    ...     inds = tuple(Indicator("a", "甲", name, "", None, "classic", "", "", "", n) for n in names)
    ...     return Project("a", "甲", name, "", None, "classic", 1, inds)
    >>> shared = ["参加竞赛人数", "授予称号", "提升技能水平"]
    >>> [c.size for c in cluster_sets([project("南粤家政", shared), project("粤菜师傅", shared)])]
    [2]
    """
    items = []
    for p in projects:
        names = list(dict.fromkeys(ind.name.strip() for ind in p.indicators if normalise(ind.name)))
        if not names:
            continue
        key = "\n".join(sorted({_name_key(n) for n in names}))
        text = _NAME_SEPARATOR.join(names)
        items.append(_Item(p.doc, p.department, p.name, p.line, text, key, tuple(names)))
    return _cluster_items(
        items, _name_features, level="sets", threshold=threshold, min_features=_MIN_SET_SIZE
    )


@lru_cache(maxsize=1 << 17)
def _name_key(name: str) -> str:
    # A set compares what the indicators are, so a definition glued on after a dash goes:
    # "支付合规率-项目的实际支出符合国家财经法规…" is the 支付合规率 of another copy of the table.
    return normalise(_DEFINITION.sub("", unicodedata.normalize("NFKC", name)))


def find_clusters(
    documents: Iterable[Document], *, level: str = "goals", threshold: float | None = None
) -> list[Cluster]:
    """Boilerplate clusters across parsed documents at one level (goals, indicators or sets).

    >>> find_clusters([], level="sets")
    []
    """
    if level not in LEVELS:
        raise ZhibiaoError("E040", level=level, levels=", ".join(LEVELS))
    limit = DEFAULT_THRESHOLDS[level] if threshold is None else threshold
    projects = [p for d in documents for p in d.projects]
    if level == "goals":
        return cluster_goals(projects, threshold=limit)
    if level == "sets":
        return cluster_sets(projects, threshold=limit)
    return cluster_indicators((i for p in projects for i in p.indicators), threshold=limit)


# ------------------------------------------------------------------------------------------ output
