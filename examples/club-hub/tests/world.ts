/**
 * The world outside the database, made deterministic for the equivalence spec:
 * `fetch` answers like the services the app calls (transcription, chat
 * completions, embeddings, email) and records every request; `Math.random` and
 * `crypto.getRandomValues` return fixed sequences (invitation tokens, upload
 * URLs). Opened before each case and closed after it.
 */
import { vi } from "vitest";

export type OutboundRequest = { url: string; method: string; body: unknown };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function parse(body: unknown): unknown {
  if (typeof body !== "string") return body === undefined ? null : String(body);
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function answer(url: string, body: unknown): Response {
  if (url.includes("/transcriptions")) {
    return json({ text: "Jonny hurt his ankle. The keeper was great. Nobody was late.", language: "en", duration: 42 });
  }
  if (url.includes("/chat/completions")) {
    const mentions = [
      { name: "Jonny", text: "hurt his ankle", category: "medical", confidence: 0.9 },
      { name: "the keeper", text: "was great in goal", category: "skill", confidence: 0.7 },
      { name: "Jonny", text: "needs rest", category: "fitness", confidence: 0.85 },
      { name: "Nobody", text: "was late", category: "attitude", confidence: 0.4 },
    ];
    return json({ choices: [{ message: { content: JSON.stringify({ mentions }) } }] });
  }
  if (url.includes("/embeddings")) {
    const input = ((body as { input?: string[] }) ?? {}).input ?? [];
    return json({ data: input.map((text, i) => ({ embedding: [i, text.length % 7, 0.5] })) });
  }
  if (url.includes("resend.com")) {
    return json({ id: "email-1" });
  }
  return json({ error: "not found" }, 404);
}

export function openWorld(): OutboundRequest[] {
  const requests: OutboundRequest[] = [];
  vi.stubGlobal("fetch", async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const body = parse(init?.body);
    requests.push({ url, method: init?.method ?? "GET", body });
    return answer(url, body);
  });
  let state = 1;
  vi.spyOn(Math, "random").mockImplementation(() => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  });
  let next = 0;
  vi.spyOn(crypto, "getRandomValues").mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
    if (array !== null) {
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (next++ * 37 + 11) & 255;
    }
    return array;
  });
  return requests;
}

export function closeWorld(): void {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
}
