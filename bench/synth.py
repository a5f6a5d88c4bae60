"""Synthetic corpus for the batch benchmark, built from the seed documents at any size.

Seed projects are recombined (a project's indicator set copied whole, or mixed with a few indicators of
another seed project), indicator names and values perturbed, and departments renamed, the way a
region's tables copy each other. Two variants:

- ``realistic``: boilerplate repeats as it does in real tables: most indicators are copied word for
  word, one in ten names gets a program word in front, one in four values has its numbers changed;
- ``distinct``: every indicator text is new (a district and program name in front of a seed name,
  never the same pair twice), so nothing can be reused: the worst case for a cache.

    >>> indicators = synthetic_indicators(1000, variant="distinct")
    >>> len({(i.name, i.description, i.value) for i in indicators})
    1000
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from nlp.records import Indicator, Project

__all__ = ["VARIANTS", "seed_projects", "synthesise", "synthetic_indicators", "write_corpus"]

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "corpus" / "raw"
VARIANTS: tuple[str, ...] = ("realistic", "distinct")

_CITIES = ("广州市", "深圳市", "佛山市", "东莞市", "中山市", "江门市", "湛江市", "茂名市", "肇庆市", "惠州市",
           "梅州市", "汕尾市", "河源市", "阳江市", "清远市", "潮州市", "揭阳市", "云浮市", "韶关市", "珠海市")  # fmt: skip
_DISTRICTS = ("番禺区", "海珠区", "天河区", "白云区", "黄埔区", "花都区", "南沙区", "从化区", "增城区", "越秀区",
              "荔湾区", "南山区", "福田区", "罗湖区", "宝安区", "龙岗区", "龙华区", "坪山区", "光明区", "盐田区",
              "禅城区", "南海区", "顺德区", "三水区", "高明区", "长安镇", "虎门镇", "厚街镇", "塘厦镇", "常平镇",
              "石龙镇", "寮步镇", "大朗镇", "黄江镇", "清溪镇", "凤岗镇", "樟木头镇", "石碣镇", "茶山镇", "企石镇",
              "新会区", "蓬江区", "江海区", "台山市", "开平市", "鹤山市", "恩平市", "端州区", "鼎湖区", "四会市",
              "惠城区", "惠阳区", "博罗县", "龙门县", "梅江区", "梅县区", "兴宁市", "平远县", "蕉岭县", "大埔县")  # fmt: skip
_BUREAUS = ("人力资源和社会保障局", "社会保险基金管理中心", "医疗保障局", "就业服务管理中心", "公费医疗管理办公室",
            "社会事业保险局", "劳动人事争议仲裁院", "技工学校", "人才服务管理办公室", "退休人员管理服务中心")  # fmt: skip
_PROGRAMS = ("就业援助", "职业培训", "人才引进", "社保扩面", "医保结算", "养老服务", "工伤预防", "失业保险",
             "技能提升", "家政服务", "粤菜师傅", "南粤家政", "乡村工匠", "创业孵化", "劳动监察", "档案管理",
             "信息系统", "公共服务", "政务服务", "基金监管", "待遇发放", "参保登记", "稽核检查", "困难帮扶",
             "见习补贴", "社保补贴", "人才驿站", "技工教育", "高校毕业生", "退役军人", "农村劳动力", "残疾人就业",
             "灵活就业", "异地就医", "长期护理", "生育保险", "大病保险", "医疗救助", "居民医保", "职工医保",
             "企业年金", "职业年金", "工资指导", "欠薪治理", "调解仲裁", "人事考试", "职称评审", "继续教育",
             "博士后", "专家服务")  # fmt: skip
_MODIFIERS = ("全年", "年度", "全区", "镇街", "累计", "新增", "本级", "重点", "辖区", "基层", "专项", "年内")
_FACTORS = (0.5, 0.6, 0.75, 0.8, 0.9, 1.1, 1.2, 1.25, 1.5, 2.0, 2.5, 3.0)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def seed_projects(raw_dir: Path = RAW) -> list[Project]:
    """The seed documents' projects that have indicators."""
    from nlp.parse import parse_paths

    return [p for d in parse_paths([raw_dir]) for p in d.projects if p.indicators]


def _rescale(value: str, rng: random.Random) -> str:
    """The value with its numbers changed the way targets differ between projects (percents stay)."""
    if not _NUMBER.search(value) or "%" in value:
        return value
    factor = rng.choice(_FACTORS)

    def scaled(match: re.Match[str]) -> str:
        number = float(match.group())
        if 1900 <= number <= 2100 and number.is_integer():
            return match.group()  # a year
        new = number * factor
        return str(int(new)) if new >= 10 or new.is_integer() else f"{new:.1f}"

    return _NUMBER.sub(scaled, value)


def _department(rng: random.Random) -> str:
    return rng.choice(_CITIES) + rng.choice(_DISTRICTS) + rng.choice(_BUREAUS)


def _realistic(seed: Indicator, rng: random.Random) -> Indicator:
    name, value = seed.name, seed.value
    if rng.random() < 0.1:
        name = rng.choice(_MODIFIERS) + name
    if rng.random() < 0.25:
        value = _rescale(value, rng)
    return replace(seed, name=name, annual_value=value, cycle_value=value if seed.cycle_value else "")


def _distinct_names(
    seeds: Sequence[Indicator], n: int, rng: random.Random
) -> Iterator[tuple[Indicator, str]]:
    """``n`` (seed indicator, new name) pairs with no name twice: a district and a program in front."""
    by_name: dict[str, list[Indicator]] = {}
    for ind in seeds:
        by_name.setdefault(ind.name, []).append(ind)
    names = sorted(by_name)
    prefixes = [d + p for d in _DISTRICTS for p in _PROGRAMS]
    space = len(prefixes) * len(names)
    rounds = -(-n // space)  # past the space, a batch number keeps names apart
    for k in rng.sample(range(space * rounds), n):
        batch, rest = divmod(k, space)
        prefix, name = divmod(rest, len(names))
        seed = rng.choice(by_name[names[name]])
        suffix = f"（第{batch + 1}批）" if batch else ""
        yield seed, prefixes[prefix] + names[name] + suffix


def synthesise(n: int, *, variant: str = "realistic", seed: int = 20240601) -> list[Project]:
    """Projects holding ``n`` indicators in all, grouped into renamed departments and documents.

    A project copies one seed project's indicator set; three in ten swap one to three indicators for
    indicators of another seed project. Each synthetic department has 5 to 30 projects.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    rng = random.Random(seed)
    templates = seed_projects()
    seeds = [i for p in templates for i in p.indicators]
    names = _distinct_names(seeds, n, rng) if variant == "distinct" else None
    projects: list[Project] = []
    made, document = 0, 0
    while made < n:
        document += 1
        doc, department = f"synthetic_{document:06d}.csv", _department(rng)
        for _ in range(rng.randint(5, 30)):
            template = rng.choice(templates)
            chosen = list(template.indicators)
            if rng.random() < 0.3:
                other = rng.choice(templates).indicators
                for _swap in range(rng.randint(1, 3)):
                    chosen[rng.randrange(len(chosen))] = rng.choice(other)
            chosen = chosen[: n - made]
            indicators = []
            for line, ind in enumerate(chosen, start=len(projects) * 40 + 2):
                if names is not None:
                    ind, name = next(names)
                    ind = replace(ind, name=name, annual_value=_rescale(ind.value, rng))
                else:
                    ind = _realistic(ind, rng)
                indicators.append(
                    replace(ind, doc=doc, department=department, project=template.name, line=line)
                )
            goal = (
                template.goal.replace(template.department, department)
                if template.department
                else template.goal
            )
            projects.append(
                Project(
                    doc,
                    department,
                    template.name,
                    goal,
                    template.budget,
                    template.scheme,
                    1,
                    tuple(indicators),
                )
            )
            made += len(indicators)
            if made >= n:
                break
    return projects


def synthetic_indicators(n: int, *, variant: str = "realistic", seed: int = 20240601) -> list[Indicator]:
    """The indicators of :func:`synthesise`, flat."""
    return [i for p in synthesise(n, variant=variant, seed=seed) for i in p.indicators]


def write_corpus(n: int, folder: Path, *, variant: str = "realistic", seed: int = 20240601) -> list[Path]:
    """Write the synthetic corpus as one indicator table (.csv, ``INDICATOR_COLUMNS``) per department."""
    from nlp.tabular import write_indicators

    folder.mkdir(parents=True, exist_ok=True)
    by_doc: dict[str, list[Indicator]] = {}
    for project in synthesise(n, variant=variant, seed=seed):
        by_doc.setdefault(project.doc, []).extend(project.indicators)
    paths = []
    for doc, indicators in by_doc.items():
        path = folder / doc
        write_indicators(indicators, path)
        paths.append(path)
    return paths
