"""Synthetic raw data for the customer data platform (see /work/shared/data-contract.md, "In").

`python -m pipelines.generate --out DIR --customers N --seed S [--start YYYY-MM --end YYYY-MM]`
"""

from .generator import Summary, generate

__all__ = ["Summary", "generate"]
