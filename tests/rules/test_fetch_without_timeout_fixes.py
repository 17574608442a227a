"""fetch-without-timeout fixes: add a timeout signal to `fetch` and SDK clients."""

from __future__ import annotations

import pytest

from convex_xray.engine.config import Config
from convex_xray.engine.runner import run_check
from tests.support.fix_cases import (
    FETCH_SCHEMA,
    Case,
    action_module,
    run_case,
)
from tests.support.project import workspace_for, write_project

FETCH_CASES: dict[str, Case] = {
    "multi-line options with a trailing comma": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": action_module(
                """
                export const send = action({
                  args: {},
                  handler: async () => {
                    await fetch("https://api.example.com", {
                      method: "POST",
                      body: "{}",
                    });
                  },
                });
                """
            ),
        },
        {
            "a.ts": action_module(
                """
                export const send = action({
                  args: {},
                  handler: async () => {
                    await fetch("https://api.example.com", {
                      method: "POST",
                      body: "{}",
                      signal: AbortSignal.timeout(10_000),
                    });
                  },
                });
                """
            ),
        },
        title="Add a 10 s timeout",
    ),
    "multi-line options without a trailing comma": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": action_module(
                """
                export const send = action({
                  args: {},
                  handler: async () => {
                    await fetch("https://api.example.com", {
                      method: "POST"
                    });
                  },
                });
                """
            ),
        },
        {
            "a.ts": action_module(
                """
                export const send = action({
                  args: {},
                  handler: async () => {
                    await fetch("https://api.example.com", {
                      method: "POST",
                      signal: AbortSignal.timeout(10_000)
                    });
                  },
                });
                """
            ),
        },
    ),
    "empty options and no options": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": action_module(
                """
                export const ping = action({
                  args: {},
                  handler: async () => (await fetch("https://api.example.com", {})).status,
                });
                """
            ),
        },
        {
            "a.ts": action_module(
                """
                export const ping = action({
                  args: {},
                  handler: async () => (await fetch("https://api.example.com", { signal: AbortSignal.timeout(10_000) })).status,
                });
                """
            ),
        },
    ),
    "a transcription endpoint gets a generous limit": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": action_module(
                """
                export const transcribe = action({
                  args: {},
                  handler: async () => (await fetch("https://api.openai.com/v1/audio/transcriptions", { method: "POST" })).status,
                });
                """
            ),
        },
        {
            "a.ts": action_module(
                """
                export const transcribe = action({
                  args: {},
                  handler: async () => (await fetch("https://api.openai.com/v1/audio/transcriptions", { method: "POST", signal: AbortSignal.timeout(120_000) })).status,
                });
                """
            ),
        },
        title="Add a 120 s timeout",
    ),
    "a URL held in a name, in a function that calls a model": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": action_module(
                """
                export const summarize = action({
                  args: {},
                  handler: async () => {
                    const url = process.env.ANTHROPIC_URL!;
                    return (await fetch(url, { method: "POST" })).status;
                  },
                });
                """
            ),
        },
        {
            "a.ts": action_module(
                """
                export const summarize = action({
                  args: {},
                  handler: async () => {
                    const url = process.env.ANTHROPIC_URL!;
                    return (await fetch(url, { method: "POST", signal: AbortSignal.timeout(120_000) })).status;
                  },
                });
                """
            ),
        },
        title="Add a 120 s timeout",
    ),
    "no options at all": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": action_module(
                """
                export const ping = action({
                  args: {},
                  handler: async () => (await fetch(`https://api.example.com/${1}`)).status,
                });
                """
            ),
        },
        {
            "a.ts": action_module(
                """
                export const ping = action({
                  args: {},
                  handler: async () => (await fetch(`https://api.example.com/${1}`, { signal: AbortSignal.timeout(10_000) })).status,
                });
                """
            ),
        },
    ),
    "axios.post gets a config with a timeout": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": action_module(
                """
                import axios from "axios";

                export const send = action({
                  args: {},
                  handler: async () => (await axios.post("https://api.example.com", { a: 1 })).status,
                });
                """
            ),
        },
        {
            "a.ts": action_module(
                """
                import axios from "axios";

                export const send = action({
                  args: {},
                  handler: async () => (await axios.post("https://api.example.com", { a: 1 }, { timeout: 10_000 })).status,
                });
                """
            ),
        },
    ),
    "an OpenAI client gets a timeout option": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": action_module(
                """
                import OpenAI from "openai";

                export const ask = action({
                  args: {},
                  handler: async () => {
                    const openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });
                    return await openai.models.list();
                  },
                });
                """
            ),
        },
        {
            "a.ts": action_module(
                """
                import OpenAI from "openai";

                export const ask = action({
                  args: {},
                  handler: async () => {
                    const openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY, timeout: 120_000 });
                    return await openai.models.list();
                  },
                });
                """
            ),
        },
    ),
    "an OpenAI client with no options": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": 'import OpenAI from "openai";\n\nconst openai = new OpenAI();\nexport default openai;\n',
        },
        {
            "a.ts": 'import OpenAI from "openai";\n\nconst openai = new OpenAI({ timeout: 120_000 });\nexport default openai;\n'
        },
    ),
}


@pytest.mark.parametrize("name", list(FETCH_CASES))
def test_fetch_without_timeout_fix(tmp_path, name):
    run_case(tmp_path, FETCH_CASES[name])


def test_the_generated_builders_are_not_read_as_client_helpers(tmp_path):
    """`internalAction(...)` / `httpAction(...)` come from Convex's generated `_generated/server`,
    which builds no client: the check does not read (or parse, as `.js`) that file for them,
    and a helper imported from the app's own code is still followed."""
    project = write_project(
        tmp_path / "app",
        {
            "_generated/server.js": "import { actionGeneric, internalActionGeneric } from 'convex/server';\n"
            "export const action = actionGeneric;\nexport const internalAction = internalActionGeneric;\n",
            "ai.ts": 'import { internalAction } from "./_generated/server";\n'
            'import { getClient } from "../lib/client";\n'
            "export const ask = internalAction({ args: {}, handler: async () => {\n"
            "  const client = getClient();\n  return await client.chat();\n} });\n",
        },
        schema=FETCH_SCHEMA,
    )
    (project / "lib").mkdir()
    (project / "lib" / "client.ts").write_text(
        'import OpenAI from "openai";\nexport function getClient() {\n  return new OpenAI({ apiKey: "k" });\n}\n', encoding="utf-8"
    )
    workspace = workspace_for(project)
    result = run_check(workspace, Config())
    assert [f.rule for f in result.findings if f.rule == "fetch-without-timeout"] == ["fetch-without-timeout"]
    assert not any("_generated" in p.parts for p in workspace.loaded())
