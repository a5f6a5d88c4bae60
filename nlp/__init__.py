"""zhibiao (指标): parse, classify, audit and de-duplicate budget performance-target indicators."""

from __future__ import annotations

__version__ = "0.1.0"
