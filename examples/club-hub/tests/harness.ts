/**
 * Test harness for the equivalence spec: a fresh convex-test backend per case,
 * a frozen clock, and a counter of the database calls a function makes.
 *
 * How the counting works. Convex functions reach the database only through
 * the runtime's syscalls: `ctx.db.get` is the async syscall `1.0/get`, a query
 * opens a stream with the sync syscall `1.0/queryStream`, reads it with
 * `1.0/queryStreamNext` and closes it with `1.0/queryCleanup`, `.paginate()`
 * is `1.0/queryPage`, and writes are `1.0/insert`, `1.0/shallowMerge` (patch),
 * `1.0/replace` and `1.0/remove`. The `convex/server` code inside a function
 * calls them as `Convex.syscall(op, json)` / `Convex.asyncSyscall(op, json)` on
 * the global `Convex` object, which convex-test installs once, on the first
 * `convexTest()` call, as an object of getters that route to the current
 * test's backend. `installDbCounter()` wraps that object (once) so every
 * syscall passes through `observe()`: we see exactly the calls the function's
 * code makes, whatever shape the code has (loops, helpers, Promise.all),
 * without touching convex-test's own classes. If a convex-test upgrade stops
 * going through `globalThis.Convex`, `installDbCounter` throws and the
 * self-test in equivalence.test.ts fails, rather than counting zero.
 *
 * Counted only inside `measure()`, so seeding and state dumps do not count.
 *
 * - `calls`: read calls = gets + queries + paginates (what a batch fetch
 *   reduces when keys repeat);
 * - `waits`: read calls that started while no other read call was in flight,
 *   i.e. the sequential database round trips the function waits for (what a
 *   batch fetch reduces even when every key is distinct: N awaited reads in a
 *   loop are N waits, one `Promise.all` over them is one);
 * - `docs`: documents returned (a get that found its document, each streamed
 *   row, each row of a page).
 */
import { vi } from "vitest";
import { convexTest } from "convex-test";
import schema from "../convex/schema";

export type DbCounts = {
  calls: number;
  waits: number;
  gets: number;
  queries: number;
  paginates: number;
  docs: number;
  writes: number;
  schedules: number;
};

export const FIXED_NOW = Date.UTC(2025, 9, 15, 12, 0, 0); // Wed 15 Oct 2025, 12:00 UTC

// Every module of the app, lazily; convex-test finds the functions' root
// from the `_generated` directory among these paths.
export const modules = import.meta.glob("../convex/**/*.ts");

export type Backend = ReturnType<typeof convexTest>;

export function freezeClock(): void {
  // Fake timers: Date.now() stays at FIXED_NOW (so `_creationTime`s, "last 30
  // days" windows and `generatedAt` fields are identical on every run) and
  // scheduled functions stay queued instead of firing in the background.
  vi.useFakeTimers({ now: FIXED_NOW });
}

export function newBackend(): Backend {
  vi.clearAllTimers();
  vi.setSystemTime(FIXED_NOW);
  const t = convexTest(schema, modules);
  installDbCounter();
  return t;
}

let active: DbCounts | null = null;
let inFlight = 0; // read calls started and not finished (open query streams included)

function zero(): DbCounts {
  return { calls: 0, waits: 0, gets: 0, queries: 0, paginates: 0, docs: 0, writes: 0, schedules: 0 };
}

function startRead(counts: DbCounts): void {
  counts.calls += 1;
  if (inFlight === 0) {
    counts.waits += 1;
  }
  inFlight += 1;
}

function endRead(): void {
  inFlight = Math.max(0, inFlight - 1);
}

type Syscall = (op: string, json: string) => string;
type AsyncSyscall = (op: string, json: string) => Promise<string>;

function observeSync(op: string, run: () => string): string {
  const counts = active;
  if (counts === null) return run();
  if (op === "1.0/queryStream") {
    counts.queries += 1;
    startRead(counts); // the stream stays in flight until 1.0/queryCleanup
  } else if (op === "1.0/queryCleanup") {
    endRead();
  }
  return run();
}

async function observeAsync(op: string, run: () => Promise<string>): Promise<string> {
  const counts = active;
  if (counts === null) return await run();
  switch (op) {
    case "1.0/get":
    case "1.0/queryPage": {
      if (op === "1.0/get") counts.gets += 1;
      else counts.paginates += 1;
      startRead(counts);
      try {
        const result = await run();
        if (op === "1.0/get") {
          if (result !== "null") counts.docs += 1;
        } else {
          counts.docs += (JSON.parse(result) as { page: unknown[] }).page.length;
        }
        return result;
      } finally {
        endRead();
      }
    }
    case "1.0/queryStreamNext": {
      const result = await run();
      if (!(JSON.parse(result) as { done: boolean }).done) counts.docs += 1;
      return result;
    }
    case "1.0/insert":
    case "1.0/shallowMerge":
    case "1.0/replace":
    case "1.0/remove":
      counts.writes += 1;
      return await run();
    case "1.0/schedule":
      counts.schedules += 1;
      return await run();
    default:
      return await run();
  }
}

let installed = false;

/** Wrap convex-test's global `Convex` syscall object (idempotent). */
export function installDbCounter(): void {
  if (installed) return;
  const g = globalThis as unknown as {
    Convex?: { syscall: Syscall; asyncSyscall: AsyncSyscall; jsSyscall: unknown };
  };
  const inner = g.Convex;
  // Look at the property descriptors, not the values: convex-test's getters
  // throw outside a running function.
  const has = (key: string) =>
    inner !== undefined && Object.getOwnPropertyDescriptor(inner, key) !== undefined;
  if (inner === undefined || !has("syscall") || !has("asyncSyscall")) {
    throw new Error(
      "convex-test no longer exposes globalThis.Convex.{syscall,asyncSyscall}: " +
        "update tests/harness.ts to count database calls another way",
    );
  }
  g.Convex = {
    get syscall(): Syscall {
      const run = inner.syscall;
      return (op, json) => observeSync(op, () => run(op, json));
    },
    get asyncSyscall(): AsyncSyscall {
      const run = inner.asyncSyscall;
      return (op, json) => observeAsync(op, () => run(op, json));
    },
    get jsSyscall() {
      return inner.jsSyscall;
    },
  };
  installed = true;
}

/** Run `body` (one function call) and count its database calls. */
export async function measure<T>(body: () => Promise<T>): Promise<{ value: T; counts: DbCounts }> {
  if (active !== null) throw new Error("measure() calls cannot nest");
  const counts = zero();
  active = counts;
  inFlight = 0;
  try {
    const value = await body();
    return { value, counts };
  } finally {
    active = null;
    inFlight = 0;
  }
}

/**
 * A JSON-safe, lossless-enough image of a Convex value for deep comparison:
 * `undefined` fields, bigints, bytes and non-finite numbers are tagged instead
 * of silently dropped or turned into `null` by JSON.stringify.
 */
export function canonical(value: unknown): unknown {
  if (value === undefined) return { $undefined: true };
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    return Number.isFinite(value) ? (Object.is(value, -0) ? { $number: "-0" } : value) : { $number: String(value) };
  }
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof ArrayBuffer) return { $bytes: Array.from(new Uint8Array(value)) };
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      out[key] = canonical((value as Record<string, unknown>)[key]);
    }
    return out;
  }
  return { $unsupported: typeof value };
}

/** The message of an error a function threw (ConvexError data when there is some). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const data = (error as { data?: unknown }).data;
    return typeof data === "string" ? data : error.message.split("\n")[0];
  }
  return String(error);
}
