import type { Doc, Id } from "../_generated/dataModel";
import type { DatabaseReader } from "../_generated/server";

export type MedicalSummary = {
  openInjuries: Doc<"injuries">[];
  allergies: Doc<"allergies">[];
  contacts: Doc<"emergencyContacts">[];
};

/** Everything a coach needs to know before a session, for one player. */
export async function getMedicalSummary(
  db: DatabaseReader,
  playerId: Id<"players">,
): Promise<MedicalSummary> {
  const injuries = await db
    .query("injuries")
    .withIndex("by_playerId", (q) => q.eq("playerId", playerId))
    .take(20);
  const allergies = await db
    .query("allergies")
    .withIndex("by_playerId", (q) => q.eq("playerId", playerId))
    .take(20);
  const contacts = await db
    .query("emergencyContacts")
    .withIndex("by_playerId", (q) => q.eq("playerId", playerId))
    .take(5);
  return {
    openInjuries: injuries.filter((i) => i.status !== "resolved"),
    allergies,
    contacts,
  };
}

export function hasCriticalAllergy(allergies: Doc<"allergies">[]): boolean {
  return allergies.some((a) => a.severity === "critical" || a.carriesEpiPen);
}
