import type { GenericDatabaseReader, GenericDocument } from "convex/server";

/**
 * Reporting helpers shared with the committee-report worker, which is plain
 * TypeScript without Convex's generated types. They are written against a
 * loose data model (any table, any index of up to three fields) so that both
 * callers can use them.
 */
type LooseTable = {
  document: GenericDocument;
  fieldPaths: string;
  indexes: Record<string, [string, string, string]>;
  searchIndexes: {};
  vectorIndexes: {};
};
export type ReportCtx = { db: GenericDatabaseReader<Record<string, LooseTable>> };

export async function teamsOfOrg(ctx: ReportCtx, orgId: string) {
  return await ctx.db
    .query("teams")
    .withIndex("by_org", (q) => q.eq("orgId", orgId))
    .collect();
}

export async function countEnrollments(ctx: ReportCtx, orgId: string, status: string) {
  const rows = await ctx.db
    .query("enrollments")
    .withIndex("by_orgId_and_status", (q) => q.eq("status", status).eq("orgId", orgId))
    .collect();
  return rows.length;
}
