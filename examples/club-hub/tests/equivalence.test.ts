/**
 * Equivalence spec: call every case of cases.ts on freshly seeded data and
 * record what it returned (or threw), the database it left behind (mutations
 * and actions) and how many database calls it made.
 *
 * On its own (`npx vitest run`) it checks that the harness counts correctly,
 * that the seed contains the dangling and repeated references it promises,
 * and that no case throws unless it says why it may. With
 * CLUB_HUB_RESULTS=<file> it also writes the records as JSON; the driver
 * (tests/equivalence_driver.py in the convex-xray repository) runs it on the
 * app before and after `convex-xray check --fix` and compares the two files.
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFunctionReference } from "convex/server";
import { CASES, type Case, caseName } from "./cases";
import {
  type Backend,
  type DbCounts,
  canonical,
  describeError,
  freezeClock,
  measure,
  newBackend,
} from "./harness";
import { type Fixture, SUBJECTS, dumpState, seed } from "./seed";
import { type OutboundRequest, closeWorld, openWorld } from "./world";

type Outcome = { returned: unknown } | { threw: string };
type CaseRecord = {
  fn: string;
  kind: Case["kind"];
  outcome: Outcome;
  state?: unknown;
  /** What the function sent to external services (actions). */
  requests?: OutboundRequest[];
  counts: DbCounts;
};

const records: Record<string, CaseRecord> = {};

beforeAll(() => {
  freezeClock();
});

afterAll(() => {
  const out = process.env.CLUB_HUB_RESULTS;
  if (out) {
    writeFileSync(out, JSON.stringify({ version: 1, cases: records }, null, 1));
  }
});

async function call(t: Backend, c: Case, f: Fixture): Promise<unknown> {
  if (c.kind === "helper") {
    return await t.run((ctx) => c.run(ctx, f));
  }
  const caller = c.as ? t.withIdentity({ subject: SUBJECTS[c.as], name: `Test ${c.as}` }) : t;
  const args = c.args(f);
  switch (c.kind) {
    case "query":
      return await caller.query(makeFunctionReference<"query">(c.fn), args);
    case "mutation":
      return await caller.mutation(makeFunctionReference<"mutation">(c.fn), args);
    case "action":
      return await caller.action(makeFunctionReference<"action">(c.fn), args);
  }
}

describe("harness", () => {
  it("counts calls and sequential waits", async () => {
    const t = newBackend();
    const f = await seed(t);
    const sequential = await measure(() =>
      t.run(async (ctx) => {
        await ctx.db.get(f.p1);
        await ctx.db.get(f.p2);
        await ctx.db.get(f.ghostPlayer);
        return null;
      }),
    );
    expect(sequential.counts).toMatchObject({ calls: 3, waits: 3, gets: 3, docs: 2 });
    const together = await measure(() =>
      t.run(async (ctx) => {
        await Promise.all([f.p1, f.p2, f.ghostPlayer].map((id) => ctx.db.get(id)));
        await Promise.all([ctx.db.query("injuries").collect(), ctx.db.query("organizations").first()]);
        return null;
      }),
    );
    expect(together.counts).toMatchObject({ calls: 5, waits: 2, gets: 3, queries: 2, docs: 2 + 7 + 1 });
    const outside = await t.run(async (ctx) => ctx.db.get(f.p1));
    expect(outside?.fullName).toBe("Jonny Smith"); // reads outside measure() are not counted (no throw, no leak)
  });

  it("seeds dangling and repeated references", async () => {
    const t = newBackend();
    const f = await seed(t);
    // Full scans filtered here, not the app's indexes: the fixes may change those.
    const facts = await t.run(async (ctx) => {
      const lionsRoster = (await ctx.db.query("enrollments").collect()).filter(
        (e) => e.teamId === f.lions && e.status === "active",
      );
      const marks = (await ctx.db.query("attendance").collect()).filter((m) => m.sessionId === f.s1);
      return {
        ghosts: await Promise.all(
          [f.ghostUser, f.ghostCoach, f.ghostPlayer, f.ghostTeam, f.ghostThread, f.ghostInsight].map((id) =>
            ctx.db.get(id),
          ),
        ),
        rosterPlayers: lionsRoster.map((e) => e.playerId),
        markers: marks.map((m) => m.markedBy),
      };
    });
    expect(facts.ghosts).toEqual([null, null, null, null, null, null]);
    expect(facts.rosterPlayers).toContain(f.ghostPlayer);
    expect(new Set(facts.rosterPlayers).size).toBeLessThan(facts.rosterPlayers.length);
    expect(facts.markers).toContain(f.ghostUser);
    expect(new Set(facts.markers).size).toBeLessThan(facts.markers.length);
  });

  it("is deterministic: two seeds are identical", async () => {
    const first = await dumpState(await seeded());
    const second = await dumpState(await seeded());
    expect(canonical(second)).toEqual(canonical(first));
  });
});

async function seeded(): Promise<Backend> {
  const t = newBackend();
  await seed(t);
  return t;
}

describe("club-hub functions on seeded data", () => {
  const names = CASES.map(caseName);
  it("has unique case names", () => {
    expect(new Set(names).size).toBe(names.length);
  });

  for (const c of CASES) {
    it(caseName(c), async () => {
      const t = newBackend();
      const f = await seed(t);
      const requests = openWorld();
      let measured;
      try {
        measured = await measure(async () => {
          try {
            return { returned: canonical(await call(t, c, f)) } as Outcome;
          } catch (error) {
            return { threw: describeError(error) } as Outcome;
          }
        });
      } finally {
        closeWorld();
      }
      const outcome = measured.value;
      const record: CaseRecord = { fn: c.fn, kind: c.kind, outcome, counts: measured.counts };
      if (c.kind !== "query") {
        record.state = canonical(await dumpState(t));
      }
      if (requests.length > 0) {
        record.requests = canonical(requests) as OutboundRequest[];
      }
      records[caseName(c)] = record;
      if ("threw" in outcome && c.mayThrow === undefined) {
        throw new Error(`${caseName(c)} threw: ${outcome.threw}`);
      }
    });
  }
});
