"""index-range-order fixes: reorder the range to the index's field order."""

from __future__ import annotations

import pytest

from tests.support.fix_cases import (
    RANGE_SCHEMA,
    SAFE,
    UNSAFE,
    Case,
    query_module,
    run_case,
)

RANGE_CASES: dict[str, Case] = {
    "equalities swapped (safe: plain values)": Case(
        "index-range-order",
        {
            "schema.ts": RANGE_SCHEMA,
            "e.ts": query_module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) => q.eq("status", "active").eq("orgId", args.orgId))
                      .take(5),
                });
                """
            ),
        },
        {
            "e.ts": query_module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) => q.eq("orgId", args.orgId).eq("status", "active"))
                      .take(5),
                });
                """
            ),
        },
        applicability=SAFE,
    ),
    "a bound first, over several lines (whitespace stays in place)": Case(
        "index-range-order",
        {
            "schema.ts": RANGE_SCHEMA,
            "e.ts": query_module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) =>
                        q
                          .lt("at", 10)
                          .eq("status", "active")
                          .gte("at", 1)
                          .eq("orgId", args.orgId),
                      )
                      .take(5),
                });
                """
            ),
        },
        {
            "e.ts": query_module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) =>
                        q
                          .eq("orgId", args.orgId)
                          .eq("status", "active")
                          .gte("at", 1)
                          .lt("at", 10),
                      )
                      .take(5),
                });
                """
            ),
        },
        applicability=SAFE,
    ),
    "a value that calls something: unsafe (evaluation order changes)": Case(
        "index-range-order",
        {
            "schema.ts": RANGE_SCHEMA,
            "e.ts": query_module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) => q.eq("status", norm(args.s)).eq("orgId", args.orgId))
                      .take(5),
                });
                """
            ),
        },
        {
            "e.ts": query_module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) => q.eq("orgId", args.orgId).eq("status", norm(args.s)))
                      .take(5),
                });
                """
            ),
        },
        applicability=UNSAFE,
    ),
}


@pytest.mark.parametrize("name", list(RANGE_CASES))
def test_index_range_order_fix(tmp_path, name):
    run_case(tmp_path, RANGE_CASES[name])
