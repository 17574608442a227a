import type { Doc, Id } from "../_generated/dataModel";
import type { QueryCtx } from "../_generated/server";
import { lookupAlias, normalizeAlias } from "./aliases";

/**
 * How a coach referred to a player: by id when picked from the roster, by
 * shirt number, or by whatever name they used in a note.
 */
export type PlayerClaim = {
  orgId: Id<"organizations">;
  playerId?: Id<"players">;
  jerseyNumber?: number;
  name?: string;
};

/** Resolve a claim to a player, trying the id, then aliases, then the number. */
export async function resolvePlayer(
  ctx: QueryCtx,
  claim: PlayerClaim,
): Promise<Doc<"players"> | null> {
  if (claim.playerId) {
    const player = await ctx.db.get(claim.playerId);
    return player !== null && player.orgId === claim.orgId ? player : null;
  }
  if (claim.name) {
    const alias = await lookupAlias(ctx.db, claim.orgId, claim.name);
    if (alias !== null) {
      return await ctx.db.get(alias.playerId);
    }
  }
  if (claim.jerseyNumber !== undefined) {
    return await findByJersey(ctx, claim.orgId, claim.jerseyNumber);
  }
  return null;
}

async function findByJersey(
  ctx: QueryCtx,
  orgId: Id<"organizations">,
  jerseyNumber: number,
): Promise<Doc<"players"> | null> {
  const alias = await lookupAlias(ctx.db, orgId, `#${jerseyNumber}`);
  return alias === null ? null : await ctx.db.get(alias.playerId);
}

export function playerLabel(player: Doc<"players">): string {
  const number = player.jerseyNumber !== undefined ? ` #${player.jerseyNumber}` : "";
  return `${player.firstName} ${player.lastName}${number}`;
}

export function aliasesFor(player: Doc<"players">): string[] {
  const aliases = [player.fullName, player.firstName, `${player.firstName} ${player.lastName[0]}`];
  if (player.jerseyNumber !== undefined) {
    aliases.push(`#${player.jerseyNumber}`);
  }
  return [...new Set(aliases.map(normalizeAlias))];
}
