"""What reviewers read, in Chinese: the workbench's error messages and its times (Asia/Shanghai).

The API keeps its coded English message (``nlp.errors.Errors``) for programs and logs, and adds
``message_zh`` from here for people; the pages and the page scripts show only the Chinese one.
Every code a reviewer can meet has an entry (a test checks it against the codes the web answers with).

>>> message_zh("E075", indicator=12)
'没有可撤销的决定：您在指标 12 上没有仍然有效的决定。'
>>> local_time("2026-01-01T00:00:00Z")
'2026-01-01 08:00'
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["MESSAGES_ZH", "FIELD_NAMES", "message_zh", "local_time", "TIME_ZONE"]

TIME_ZONE = ZoneInfo("Asia/Shanghai")

#: Request fields as reviewers know them.
FIELD_NAMES: dict[str, str] = {
    "name": "指标名称",
    "value": "指标值",
    "description": "指标解释",
    "comment": "备注",
    "code": "类别编号",
    "action": "操作",
    "indicator_id": "指标编号",
    "page": "页码",
    "size": "每页条数",
    "q": "搜索词",
    "format": "导出格式",
    "password": "密码",
    "request": "请求",
    "reason": "标记原因",
    "tier": "标记层级",
    "sort": "排序",
    "scope": "范围",
}

MESSAGES_ZH: dict[str, str] = {
    "E061": "{field_zh}的值无效。请修改后重新提交。",
    "E062": "找不到{what_zh}。请检查地址或编号后重试。",
    "E063": "请先登录（在 /login 登录），或在接口请求中附上 Authorization: Bearer 令牌。",
    "E064": "此操作需要管理员账号。请联系管理员。",
    "E065": "页面已过期（安全令牌缺失或失效）。请刷新页面后重试。",
    "E066": "未知的类别编号“{value}”。请使用：{codes}。",
    "E067": "{field_zh}太长（{length} 个字符，最多 {limit} 个）。请缩短后重试。",
    "E068": "请求内容不是有效的 JSON。请刷新页面后重试。",
    "E069": "审核员“{name}”已存在。请换一个用户名。",
    "E070": "用户名或密码错误。请检查后重试。",
    "E071": "不支持的导出格式“{format}”。请选择 csv 或 xlsx。",
    "E072": "该地址不支持此操作（{method}）。",
    "E073": "服务器内部错误，本次请求未做任何修改。请重试；如果反复出现，请联系管理员。",
    "E074": "没有输入密码。",
    "E075": "没有可撤销的决定：您在指标 {indicator} 上没有仍然有效的决定。",
    "E076": "提交的内容太大（最多 {limit} 字节）。请减少后重试。",
    "E079": "登录失败次数过多，账号“{who}”已锁定 {minutes} 分钟。请稍后再试，或请管理员解除锁定。",
    "E090": "登录已失效（已退出、超时或被撤销）。请重新登录。",
    "E091": "预览之后这一组已有变化（预览时 {previewed} 条，现在 {now} 条）。请重新预览并确认。",
    "E092": "没有可撤销的批量操作：批量操作 {bulk} 不是您的，或已经撤销。",
    "E093": "{path} 第 {row} 行：{detail_zh}。审核结论请填写 {choices} 之一，或留空。",
    "E094": "{path} 不是 zhibiao 导出的审核表（{detail_zh}）。请重新导出并在该文件中填写。",
    "E095": "没有审核员“{name}”。请先用 zhibiao user add {name} 创建账号。",
    "E096": "{field_zh}的取值“{value}”无效。可选：{allowed}。",
}

_WHAT = {"Page": "页面", "Indicator": "指标", "Project": "项目", "Cluster": "相似组", "Bulk": "批量操作"}


class _Lenient(string.Formatter):
    """Missing fields print as empty text: a message must never fail to render for a reviewer."""

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get(str(key), "") if isinstance(key, str) else ""


def _what_zh(what: object) -> str:
    text = str(what or "")
    head, _, tail = text.partition(" ")
    if head in _WHAT:
        # "Page /no/such" -> "页面 /no/such"; the address or id stays as given.
        return f"{_WHAT[head]} {tail}".strip()
    return text


def message_zh(code: str, **fields: object) -> str:
    """The Chinese message for ``code`` (with the same fields as the English one); ``""`` if none."""
    template = MESSAGES_ZH.get(code)
    if template is None:
        return ""
    field = str(fields.get("field") or "")
    extra = {
        "field_zh": FIELD_NAMES.get(field.split(".")[-1], field or "请求"),
        "what_zh": _what_zh(fields.get("what")),
        "detail_zh": fields.get("detail_zh") or fields.get("detail") or "",
    }
    return _Lenient().format(template, **{**fields, **extra})


def local_time(value: str | datetime | None) -> str:
    """A stored UTC time (naive, or ISO text ending in Z) as Beijing time, to the minute."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.removesuffix("Z"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TIME_ZONE).strftime("%Y-%m-%d %H:%M")
