import type { Doc, Id } from "../_generated/dataModel";
import type { DatabaseReader } from "../_generated/server";

/** "  Jonny B. " -> "jonny b". Pure; no database access. */
export function normalizeAlias(raw: string): string {
  return raw
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9# ]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

export async function lookupAlias(
  db: DatabaseReader,
  orgId: Id<"organizations">,
  alias: string,
): Promise<Doc<"playerAliases"> | null> {
  return await db
    .query("playerAliases")
    .withIndex("by_orgId_and_alias", (q) =>
      q.eq("orgId", orgId).eq("alias", normalizeAlias(alias)),
    )
    .unique();
}
