"""The batch-fetch fix for N+1 reads: unique ids -> one Promise.all -> Map -> synchronous lookups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convex_xray.findings import Fix
from convex_xray.model import DbRead

if TYPE_CHECKING:
    from convex_xray.registry import RuleContext


def batch_fetch_fix(ctx: RuleContext, read: DbRead) -> Fix | None:
    table = read.table or (read.chain.table if read.chain else None)
    target = f"`{table}` " if table else ""
    return Fix.display_only(f"Batch-fetch the {target}documents before the loop and look them up in a Map")
