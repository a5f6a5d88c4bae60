"""Cells of tables as they are found (part of :mod:`nlp.readers.found`): splitting a line into cells and
telling what each cell *is* — a category label, a header word, a value, a bare number, a name.

Tables copied from web pages, Word, Excel or PDF keep their cells apart with tabs, pipes, runs of spaces
or one cell per line, and sometimes with nothing at all ("产出指标数量指标新建保鲜库数量1座"). What a cell is
does not depend on how it was separated, so the reader aligns cells by kind, not by position.

>>> split_cells("产出指标 | 数量指标 | 新建保鲜库数量 | 1座")
['产出指标', '数量指标', '新建保鲜库数量', '1座']
>>> category("產 出 指 標"), is_value("≥90%"), is_value("补助发放及时率")
('产出指标', True, False)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from nlp.taxonomy import normalise_label

__all__ = [
    "simplify",
    "plain",
    "key",
    "despace",
    "line_style",
    "split_cells",
    "join_cell_rows",
    "category",
    "category_level",
    "header_role",
    "is_value",
    "is_number",
    "is_comparator",
    "is_unit",
    "is_place",
    "is_total",
    "is_budget_row",
    "is_furniture",
    "is_basis",
    "ends_table",
    "name_like",
    "strip_name",
    "soft_value",
    "VALUE_ROLES",
    "TEXT_ROLES",
]

# Traditional -> simplified for the header, label and furniture words the reader recognises. Only used to
# recognise words; indicator names are kept as written.
_TRAD = str.maketrans(
    "產標數質時經濟會態續響務對滿門環進項級衆眾體稱實際權進預資總額績單評價內說據確來財撥當劃計註類層"
    "個萬兩設備達內務屬質該圍規範範續將應號碼頁關閉列印隱私網級導覽當區縣鄉鎮閱讀書發佈於與為間醫療衛準蓋佔況狀養護參億響調",
    "产标数质时经济会态续响务对满门环进项级众众体称实际权进预资总额绩单评价内说据确来财拨当划计注类层"
    "个万两设备达内务属质该围规范范续将应号码页关闭列印隐私网级导览当区县乡镇阅读书发布于与为间医疗卫准盖占况状养护参亿响调",
)
_NOTE = re.compile(r"[(（][^()（）]*[)）]")
_SPACES = re.compile(r"[\s\u3000\xa0]+")
_LETTER_SPACED = re.compile(
    r"(?<![^\s\u3000|｜│])([\u4e00-\u9fff])(?:[ \u3000]([\u4e00-\u9fff]))+(?![^\s\u3000|｜│])"
)


# Some sites print the pinyin after rare characters: "業(yè)務(wù)".
_PINYIN = re.compile(r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}[)）]")


def simplify(text: str) -> str:
    """NFKC, the local traditional -> simplified map and no pinyin glosses ("產(chǎn)出" -> "产出"); for
    recognising words, never for names."""
    return unicodedata.normalize("NFKC", _PINYIN.sub("", text)).translate(_TRAD)


def plain(text: str) -> str:
    """Traditional -> simplified for the words the reader recognises, keeping every character's place, so a
    match in ``plain(text)`` slices ``text`` as written ("績效目標值是2個" -> "绩效目标值是2个")."""
    return text.translate(_TRAD)


def key(text: str) -> str:
    """A header or label word compacted: simplified, no spaces, no bracketed notes, no colons or stars."""
    return re.sub(r"[:：*＊]", "", _NOTE.sub("", _SPACES.sub("", simplify(text)))).lower()


def despace(text: str) -> str:
    """Labels written with a space between every character ("产 出 指 标") closed up; other text kept."""

    def close(match: re.Match[str]) -> str:
        return re.sub(r"[ \u3000]", "", match.group(0))

    return _LETTER_SPACED.sub(close, text)


# ---------------------------------------------------------------------------------------- splitting

_PIPES = re.compile(r"\s*[|｜│┃]\s*")
_RUNS = re.compile(r"(?:[ \xa0]{2,}|\u3000+|[ \xa0]*\u3000[ \xa0\u3000]*)")
_RULE = re.compile(r"^[\s|｜│┃\-—=:：+─━┼┌┐└┘├┤┬┴]*$")


def line_style(line: str) -> str:
    """How the cells of ``line`` are kept apart: "tab", "pipe", "space" (runs of 2+ spaces) or "single"."""
    if "\t" in line.strip("\n"):
        return "tab"
    bare = line.strip()
    ends = ("|", "｜", "│", "┃")
    lone = len(re.findall(r"[|｜│┃]", bare)) == 1 and (bare.startswith(ends) or bare.endswith(ends))
    if _PIPES.search(bare) and not lone:  # "指标名称 |" alone is one cell a line, closed by a pipe
        return "pipe"
    if _RUNS.search(despace(line).strip()):
        return "space"
    return "single"


def split_cells(line: str, style: str | None = None) -> list[str]:
    """The cells of one line; a rule line (``|---|---|``) has none. Empty cells between separators are kept."""
    if _RULE.match(line) and re.search(r"[-—─━=]", line):
        return []
    style = style or line_style(line)
    text = despace(line).strip()
    if style == "tab":
        cells = line.strip("\r\n").split("\t")
        while cells and not cells[-1].strip():
            cells.pop()
        return [despace(cell).strip() for cell in cells]
    if style == "pipe":
        cells = _PIPES.split(text)
        if cells and not cells[0]:
            cells = cells[1:]  # a bordered row: | a | b |
        if cells and not cells[-1]:
            cells = cells[:-1]
        return [cell.strip() for cell in cells]
    if style == "space":
        return [cell.strip() for cell in _RUNS.split(text) if cell.strip()]
    text = text.strip("|｜│┃ ")
    return [text] if text else []


_PIPES_ONLY = re.compile(r"^\s*(?:[|｜]\s*){2,}$")


def join_cell_rows(lines: Sequence[str]) -> tuple[list[str], list[int]]:
    """HTML tables flattened with one cell a line and pipes between ("产出指标 |", "|", "||||" closing a row):
    each row joined back into one pipe row, at the line of its first line. Other text is passed through."""
    numbers = list(range(1, len(lines) + 1))
    closing = sum(1 for line in lines if _PIPES_ONLY.match(line))
    multi = sum(1 for line in lines if line.count("|") >= 3 and re.search(r"[^|\s]", line))
    few = sum(1 for line in lines if line.count("|") == 1)
    if closing < 3 or few <= 2 * multi:
        return list(lines), numbers
    out: list[str] = []
    at: list[int] = []
    row: list[tuple[int, str]] = []

    def keep(raw: list[tuple[int, str]]) -> None:
        out.extend(text for _, text in raw)
        at.extend(n for n, _ in raw)

    for n, line in enumerate(lines, start=1):
        if row and _PIPES_ONLY.match(line):
            cells = [" ".join(c.split()) for c in "\n".join(t for _, t in row).replace("｜", "|").split("|")]
            out.append("| " + " | ".join(cells[1:] if cells and not cells[0] else cells) + " |")
            at.append(next((k for k, t in row if t.strip("| \t")), row[0][0]))
            row = []
        elif row or "|" in line:
            row.append((n, line))
            if len(row) >= 60:  # no closing line: not a flattened row after all
                keep(row)
                row = []
        else:
            keep([(n, line)])
    keep(row)
    return out, at


# ---------------------------------------------------------------------------------------- categories

_STEMS = (
    "社会公众或服务对象满意度|服务对象满意度|社会公众满意度|可持续影响|可持续发展"
    "|生态环境效益|生态效益|环境效益|社会效益|经济效益|生态环境成本|经济成本|社会成本|产出数量|产出质量"
    "|产出时效|产出成本|项目完成|实施效果|满意度|数量|质量|时效|进度|成本|产出|效益|效果"
)
_ENUM = r"(?:\d{1,2}\s*[-－—.、．]\s*|[(（]?[一二三四五六七八九十]{1,2}[)）、.．]\s*|[(（]\d{1,2}[)）]\s*)?"
_SCORE_NOTE = r"(?:\s*[(（][^()（）]{0,12}[)）]\s*分?|\s*\d{1,3}\s*分)?"
_CATEGORY = re.compile(rf"^{_ENUM}(?:[一二]级指标[:：])?({_STEMS})((?:类)?(?:指标|目标))?{_SCORE_NOTE}$")
# A label at the start of a longer text needs its 指标/目标 suffix: "数量" alone also starts names.
_PREFIX = re.compile(rf"^\s*{_ENUM}({_STEMS})(?:类)?(?:指标|目标){_SCORE_NOTE}\s*")
# Stems the taxonomy knows under another name.
_CANON = {"实施效果": "效果"}


def category(text: str) -> str | None:
    """The canonical label ("数量指标") if the cell is only a category label, else ``None``.

    >>> category("11-数量指标"), category("产出目标"), category("效益指标（30分）"), category("数量")
    ('数量指标', '产出指标', '效益指标', '数量指标')
    """
    compact = _SPACES.sub("", simplify(text))
    match = _CATEGORY.match(compact)
    if not match:
        return _loose_category(compact)
    stem = _CANON.get(match.group(1), match.group(1))
    label = stem + "指标"
    return label if normalise_label(label) else None


# Labels a template words its own way around a known stem: "预期产出指标", "社会经济生态效益指标",
# "服务对象或受益者满意度指标", "可持续性发展影响指标".
_LOOSE = re.compile(r"^[\u4e00-\u9fff]{0,6}(产出|效益|满意度|可持续)[\u4e00-\u9fff]{0,4}指标$")


def _loose_category(compact: str) -> str | None:
    match = _LOOSE.match(compact)
    if not match or len(compact) > 14:
        return None
    stem = match.group(1)
    if stem == "可持续":
        return "可持续影响指标"
    if stem == "满意度" and re.search(r"服务对象|受益|群众|公众", compact):
        return "服务对象满意度指标"
    return stem + "指标"


def category_level(label: str) -> int:
    """1 for a 一级 label, 2 for a 二级, 0 for 成本指标 (either, by context)."""
    code = normalise_label(label)
    if code in ("1", "2", "3"):
        return 1
    return 0 if label == "成本指标" else 2


# ---------------------------------------------------------------------------------------- header words


def _words(text: str) -> list[str]:
    return text.split()


# Header cell (see :func:`key`) -> the field it holds.
_HEADERS: dict[str, list[str]] = {
    "frame": _words("绩效指标 年度绩效指标 本年度绩效指标 绩效指标体系 项目绩效指标 指标体系 考核指标"),
    "l1": _words("一级指标 一级 一级指标名称 指标类型 一级评价指标"),
    "l2": _words("二级指标 二级 二级指标名称 指标类别 二级评价指标"),
    "name": _words(
        "三级指标 三级 三级指标名称 指标名称 绩效指标名称 具体指标 评价指标 指标 三级评价指标 指标项 指标内容名称"
    ),
    "description": _words("指标说明 指标解释 指标描述 绩效指标描述 评价内容 指标内容 评价要点 指标定义"),
    "cycle_value": _words("实施周期指标值 实施期指标值 中期指标值 总体指标值 实施周期目标值 整体指标值"),
    "annual_value": _words(
        "年度指标值 当年度指标值 当年指标值 指标值 目标值 年度目标值 预期指标值 "
        "预期目标值 绩效目标值 计划值 年度计划值 预期值 全年指标值 标准值 指标目标值 "
        "年度目标 预期目标 年初目标值 年初设定目标 年初目标 指标值及单位 当年预期实现值 "
        "预期实现值 年度预期实现值 指标值(年度) 目标值及单位"
    ),
    "actual_value": _words(
        "实际完成值 实际完成 完成值 实际值 全年实际完成值 实际完成情况 完成情况 实际完成指标值 年度实际完成值 实际达成值 实际情况"
    ),
    "weight": _words("分值 权重 权重分值 标准分 指标分值 权重值 分数 满分"),
    "score": _words("得分 自评得分 实际得分 评分 评价得分 考核得分"),
    "deviation_reason": _words(
        "偏差原因分析及改进措施 偏差原因分析及整改措施 偏差原因 偏差原因分析 未完成原因 "
        "未完成原因分析 原因分析及改进措施 改进措施 偏差原因及改进措施 未完成原因和改进措施 "
        "偏差原因和改进措施"
    ),
    "basis": _words(
        "绩效标准 指标值确定依据 确定依据 评分标准 评分细则 计分方法 评价标准 指标值设定依据 数据来源"
    ),
    "comparator": _words("指标性质 运算符号 比较符 符号 指标值符号"),
    "direction": _words("指标方向 指标方向性 方向"),
    "unit": _words("度量单位 计量单位 单位 指标单位"),
    "note": _words("备注 说明"),
}
_HEADER_OF = {word: role for role, words in _HEADERS.items() for word in words}


def header_role(text: str) -> str | None:
    """The field a header cell names, or ``None``.

    >>> header_role("三级指标"), header_role("年度指标值（2024年）"), header_role("偏差原因分析及改进措施")
    ('name', 'annual_value', 'deviation_reason')
    """
    word = key(text)
    if word in _HEADER_OF or len(word) > 14:
        return _HEADER_OF.get(word)
    # Words around the known ones: "专项年度绩效指标", "三级指标内容", "全年实际完成值".
    return next((role for rule, role in _HEADER_RULES if rule.match(word)), None)


_HEADER_RULES = [
    (re.compile(r"^.{0,6}绩效指标$"), "frame"),
    (re.compile(r"^一级指标.{0,4}$"), "l1"),
    (re.compile(r"^二级指标.{0,4}$"), "l2"),
    (re.compile(r"^三级指标.{0,4}$"), "name"),
    (re.compile(r"^.{0,4}实际(?:完成)?值?.{0,2}$"), "actual_value"),
    (re.compile(r"^.{0,4}(?:指标值|目标值).{0,3}$"), "annual_value"),
    (re.compile(r"^.{0,6}(?:偏差|未完成)原因.{0,10}$"), "deviation_reason"),
]


# ---------------------------------------------------------------------------------------- values

_CMP = (
    r"(?:≥|≤|>=|<=|>|<|=|≧|≦|≈|大于等于|小于等于|不低于|不少于|不小于|不高于|不超过|不多于|不大于|大于|小于"
    r"|高于|低于|超过|多于|少于|达到|达|约|控制在|力争|至少|最多|累计|完成|实现|新增|新建|增加|减少|提高|降低|下降|提升)"
)
_UNIT = r"[^\d\s，,。；;：:]{1,8}?"
_NUMERIC = re.compile(
    rf"^{_CMP}?\s*[-+]?\d[\d,，.]*\s*(?:[-~～至]\s*\d[\d,.]*\s*)?(?:{_UNIT})?"
    r"(?:以上|以下|以内|左右|及以上|及以下|之内|内|/年|/月|/人|/次)?$"
)
_DATE = re.compile(
    r"^(?:\d{4}\s*年)?\s*(?:\d{1,2}\s*月)?\s*(?:\d{1,2}\s*日)?\s*(?:年?底|年?末|月底|上半年|下半年|年内|当年|年度内)?"
    r"\s*(?:前|之前|以前|内|止)?\s*(?:完成|全部完成|实施|到位|建成|竣工)?$"
)
_QUAL_WORDS = (
    "良好|显著|明显|有效|提升|提高|改善|增强|完成|达标|合格|优秀|满意|稳定|健全|规范|达到|符合|正常|保障|落实"
    "|按时|按期|及时|到位|有序|加强|降低|减少|增加|增长|上升|下降|好转|可控|安全|持续|逐步|促进|全覆盖|准确"
    "|无|是|否|有|高|中|低|好|较好|优|良|长期|完善|实现|覆盖|发挥|推进|扩大|巩固|缓解|缩短|加快|优化"
)
_QUAL = re.compile(
    rf"^(?:(?:逐步|持续|有效|明显|显著|全面|进一步|不断|较好|大幅|稳步|确保|按时|按期|及时|全部|基本|有所|得到|"
    rf"稳定|整体|切实|大力|积极|较大|一定|较为|不断|能够)?.{{0,6}}(?:{_QUAL_WORDS})(?:了|化)?"
    r"|100%|零|零发生|0|无重大.{0,6}|无.{0,8}事件|(?:已|未|基本|全部)?达成(?:预期)?(?:指标|目标)?|符合.{0,10}(?:要求|标准|规定)|达到.{0,10}(?:要求|标准)"
    r"|控制在.{0,10}(?:以内|之内|范围内|内))$"
)
# Names end like this; "有效投诉率" is a name even though it starts like a value.
_NAME_END = re.compile(
    r"(?:率|数|量|度|性|时间|时限|成本|标准|情况|水平|效益|面积|规模|金额|比例|比重|占比|指数|周期|期限|能力|意识"
    r"|影响|效果|作用|覆盖面|范围|长度|里程|产量|收入|产值|人次|户数|个数|次数|场次|人数|天数|批次|频次|项目|工程)$"
)
_COMPARATOR_CELL = re.compile(rf"^(?:{_CMP}|定性|定量|正向|反向|中性|等于)$")
_UNIT_CELL = re.compile(r"^(?:%|‰|[^\d\s，,。；;：:、]{1,5})$")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?\s*(?:分|%)?$")
_PLACE = re.compile(
    r"^(?:合计|总计|汇总|全省|全市|全区|全县|全州|小计|总体|.{1,8}(?:省|市|县|区|州|旗|盟|镇|乡|街道|地区|本级))$"
)


# The 2018-2020 templates' 绩效标准 / 指标值确定依据 column holds one of these words.
_BASIS = re.compile(r"^(?:计划|行业|历史|其他|其它|国家|地方)标准$")


def is_basis(text: str) -> bool:
    """A cell of the 绩效标准 column: "计划标准", "行业标准", "历史标准", "其他标准"."""
    return bool(_BASIS.match(key(text)))


def is_number(text: str) -> bool:
    """A bare number (a weight, a score): "10", "9.5", "10分"."""
    return bool(_NUMBER.match(simplify(text).strip()))


def is_comparator(text: str) -> bool:
    return bool(_COMPARATOR_CELL.match(key(text)))


def is_unit(text: str) -> bool:
    t = key(text)
    # "桃种植面积" is short, but it ends like a name after a word of its own: a name ("万人次" is a unit).
    end = _NAME_END.search(t)
    return bool(_UNIT_CELL.match(t)) and not (
        category(t) or header_role(t) or _QUAL.match(t) or is_comparator(t) or end and end.start() >= 2
    )


_EXPLANATION = re.compile(
    r"^(?:主要|该指标|此指标)?(?:用于|用以|是)?(?:反映|体现|衡量|考察|考核|评价)[\u4e00-\u9fff]"
)


def is_explanation(text: str) -> bool:
    """A cell of the 指标解释 / 指标说明 column: "反映办公大楼全年维修维护情况" explains a name, it is none.

    >>> [is_explanation(t) for t in ("反映修复项目开展情况", "考核合格率")]
    [True, False]
    """
    t = key(text)
    return len(t) >= 8 and bool(_EXPLANATION.match(t))


def ends_like_name(text: str) -> bool:
    """Text that ends as names do (率, 数量, 面积 …), once the bracketed notes at its end are set aside.

    >>> [ends_like_name(t) for t in ("特困人员救助供养人数(按月平均)(≥**人)", "特困人员实行动态管理")]
    [True, False]
    """
    t = re.sub(r"(?:[(（][^()（）]*[)）]|[*＊])+$", "", simplify(text).strip())
    return bool(_NAME_END.search(t))


def is_place(text: str) -> bool:
    return bool(_PLACE.match(key(text)))


def is_value(text: str) -> bool:
    """A target or achieved value: comparator, number with unit, a date, or a short qualitative word.

    >>> [is_value(t) for t in ("≥95%", "1座", "年底前", "显著", "2024年12月底前完成", "有效投诉率", "培训人数")]
    [True, True, True, True, True, False, False]
    """
    t = _SPACES.sub("", simplify(text))
    if not t or len(t) > 40:
        return False
    if _NUMERIC.match(t) and len(re.sub(r"^\D*[\d,.，]+", "", t)) > 5 and "/" not in t:
        return False  # "4.不合格产品处置率": a numbered name
    if (
        _NUMERIC.match(t)
        or (re.search(r"\d", t) and _DATE.match(t))
        or _DATE.match(t)
        and len(t) >= 2
        and (re.search(r"前|内|底|末", t))
    ):
        return not _NAME_END.search(t) or bool(re.search(r"\d", t))
    if re.match(rf"^{_CMP}\s*[\d零一二三四五六七八九十百千万两]", t) and len(t) <= 24:
        return True
    if len(t) <= 14 and _QUAL.match(t) and not _NAME_END.search(t):
        return True
    return bool(re.match(r"^(?:≥|≤|>|<|=|≧|≦)", t))


def name_like(text: str) -> bool:
    """Text that can be an indicator name: some Chinese or letters, not a value, number or category."""
    t = key(text)
    return bool(re.search(r"[\u4e00-\u9fffA-Za-z]", t)) and not is_value(text) and not is_number(text)


def soft_value(text: str) -> bool:
    """Qualitative words that also make names ("维护社会稳定"): a value only where a value is expected."""
    t = key(text)
    return len(t) >= 4 and is_value(t) and not re.search(r"[\d%≥≤<>=]", t)


def strip_name(text: str) -> str:
    """An indicator name without its "指标1:" / "1." numbering; the words themselves are kept as written."""
    return re.sub(
        r"^\s*(?:指标\s*\d{1,2}\s*[:：.、]|\d{1,2}\s*[.、．:：](?!\d)|[(（]\d{1,2}[)）])\s*", "", text
    ).strip()


# ---------------------------------------------------------------------------------------- rows to skip

_TOTAL = re.compile(r"^(?:总分|合计|小计|总计|总得分|得分合计|分值合计|综合得分|自评总分|总\s*分)[:：]?$")
_BUDGET = re.compile(
    r"^(?:其中[:：]?)?(?:资金来源|资金总额|年度资金总额|项目资金|资金情况|预算资金|资金投入|年初预算数?|全年预算数?"
    r"|全年执行数?|预算执行|财政拨款|当年财政拨款|上年结转|其他资金|其他来源|自筹资金|中央资金|省级资金|市级资金"
    r"|县级资金|中央补助|上级补助|本级财政|一般公共预算|政府性基金|专项资金|年度预算|资金分配|分配金额|项目总投资"
    r"|财政资金|专户资金|单位资金|预算安排|年度金额|合计金额|总金额|金额|预算数|执行数|执行率)"
)
_FURNITURE = re.compile(
    r"^(?:当前位置|您的位置|首页|打印|关闭|返回|返回顶部|收藏|分享|字号|发布时间|发布日期|来源[:：]|浏览次数|阅读次数|"
    r"【|上一篇|下一篇|相关链接|附件|扫一扫|版权所有|主办|承办|网站地图|联系我们|信息来源|点击|索引号|分类|"
    r"填报人|联系电话|填表人|审核人|负责人|注[:：]|说明[:：]|备注[:：]|单位[:：]|金额单位|单位[:：]?万元|今天是|"
    r"文件下载|如(?:果)?您对|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\S)"
)


_ENDS_TABLE = re.compile(
    r"^(?:.{0,8}审核意见|评价结论|存在问题|改进措施|其他需?要?说明的?问题|填表人|填报人|填表日期|单位负责人|扫一扫|相关解读|相关链接|附件|上一篇|下一篇|版权所有|打印|关闭"
    r"|\[(?:下载|打印|关闭)\]|【(?:打印|关闭)】|注[:：]|说明[:：]|备注[:：])"
)


def ends_table(line: str) -> bool:
    """Lines that follow a table and close it: review opinions, signatures, page links."""
    return bool(_ENDS_TABLE.match(re.sub(r"^[\s|｜│>»·•\-—]+", "", simplify(line))))


def is_total(text: str) -> bool:
    return bool(_TOTAL.match(key(text)))


def is_budget_row(first_cell: str, *, exact: bool = False) -> bool:
    """A row of a budget or allocation table (资金来源, 年度资金总额, 其中：财政拨款, 其他资金 …); ``exact``
    (under an indicator header) wants the whole cell to be the budget word, not "财政资金补助标准"."""
    match = _BUDGET.match(key(first_cell))
    return match is not None and (not exact or match.end() == len(key(first_cell)))


def is_furniture(line: str) -> bool:
    """Breadcrumbs, dates, print/close links, notes under a table: never part of an indicator."""
    t = simplify(line).strip()
    if not t:
        return True
    if _FURNITURE.match(t.lstrip("> ·•")):
        return True
    return bool(
        re.fullmatch(
            r"[\s|｜│>»/·•\-—]*(?:打印|关闭|返回|首页|\[.{1,6}\])[\s|｜│>»/·•\-—打印关闭返回本页窗口]*", t
        )
    )


# Fields of an indicator row: those that hold values, and those that hold free text.
VALUE_ROLES = ("cycle_value", "annual_value", "actual_value", "extra")
TEXT_ROLES = ("description", "basis", "deviation_reason", "note")
