#!/usr/bin/env python3
"""Deterministic generator of realistic Convex workspaces for convex-xray benchmarks.

    python benchmarks/generate.py --files 300 --out benchmarks/workspaces/w300
    python benchmarks/generate.py --files 300 --out /tmp/w300 --verify
    python benchmarks/generate.py --long-file 3000 --out /tmp/keystroke.ts

Writes ``<out>/convex/schema.ts``, ``<out>/convex/**/*.ts``, a minimal
``<out>/convex/_generated/`` (so types resolve for typed ESLint), ``convex/tsconfig.json``,
``<out>/package.json`` and ``<out>/manifest.json`` (ground truth: every planted
anti-pattern and every "correct pattern" negative, with file and line spans).

Stdlib only; no network; the same ``--seed`` and ``--files`` always give byte-identical
output.  The code is a fictional sports-club platform (clubs, players, voice notes,
insights, billing...) modelled on the audit described in shared/MISSION.md: most code is
clean, and the anti-patterns appear at modest, size-proportional rates.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

GENERATOR_VERSION = "1.0.0"
DEFAULT_SEED = 1337

# Calibration (at 300 files): ~115k TS lines, schema.ts ~4,500 lines, ~120 tables,
# ~400 indexes, a few ~3,000-line files.
LINES_PER_FILE = 362
BIG_FILE_LINES = 3000

# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def words(camel: str) -> str:
    out = []
    for ch in camel:
        if ch.isupper():
            out.append(" ")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out).strip()


# --------------------------------------------------------------------------------------
# Schema model
# --------------------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # id string number boolean enum string_array id_array object embedding record shared
    optional: bool = False
    target: str | None = None
    literals: tuple[str, ...] = ()
    sub: list[tuple[str, str]] | None = None
    shared: str | None = None


@dataclass
class Index:
    name: str
    fields: list[str]
    unused: bool = False  # planted: nothing in the workspace references it
    file: str = ""
    line: int = 0


@dataclass
class Table:
    name: str
    singular: str
    area: str
    org: bool
    fields: list[Field] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    search: list[tuple[str, str, list[str], int]] = field(default_factory=list)
    vector: list[tuple[str, str, list[str], int]] = field(default_factory=list)
    status: tuple[str, ...] | None = None
    label: str = "name"
    schema_file: str = "convex/schema.ts"
    fks: dict[str, str] = field(default_factory=dict)  # field -> target table
    module: str | None = None  # api path of the main module, e.g. "roster.players"
    model: str | None = None  # model file import path, e.g. "model/players"

    def f(self, name: str) -> Field | None:
        for fl in self.fields:
            if fl.name == name:
                return fl
        return None

    def live_indexes(self) -> list[Index]:
        return [i for i in self.indexes if not i.unused]

    def leading(self, fieldname: str) -> list[Index]:
        return [i for i in self.live_indexes() if i.fields[0] == fieldname]

    def org_index(self, rng: random.Random) -> Index | None:
        c = self.leading("orgId") if self.org else []
        return rng.choice(c) if c else None

    def child_fks(self) -> list[str]:
        return [k for k in self.fks if k != "orgId"]


STATUS_SETS = [
    ("active", "inactive", "archived"),
    ("draft", "published", "archived"),
    ("pending", "processing", "done", "failed"),
    ("open", "resolved", "closed"),
    ("scheduled", "completed", "cancelled"),
    ("requested", "approved", "rejected"),
]

# name, singular, area, org-scoped, parents, label, status-set index (None = no status), extras
CORE_TABLES: list[tuple[str, str, str, bool, list[str], str, int | None, list[str]]] = [
    (
        "organizations",
        "organization",
        "orgs",
        False,
        [],
        "name",
        0,
        ["slug", "settings", "address"],
    ),
    ("users", "user", "users", False, [], "name", None, ["tokenIdentifier", "email", "avatarUrl"]),
    ("members", "member", "orgs", True, ["users"], "displayName", 0, ["role"]),
    ("teams", "team", "roster", True, [], "name", 0, ["ageGroup", "season"]),
    ("coaches", "coach", "roster", True, ["users", "teams"], "displayName", 0, ["qualifications"]),
    (
        "players",
        "player",
        "roster",
        True,
        ["teams"],
        "name",
        0,
        ["externalId", "dateOfBirth", "position"],
    ),
    ("guardians", "guardian", "roster", True, ["users"], "name", 0, ["phone", "email"]),
    ("enrollments", "enrollment", "roster", True, ["players", "teams"], "season", 5, []),
    (
        "playerProfiles",
        "playerProfile",
        "medical",
        True,
        ["players"],
        "summary",
        None,
        ["heightCm", "weightKg"],
    ),
    (
        "injuries",
        "injury",
        "medical",
        True,
        ["players"],
        "description",
        3,
        ["bodyPart", "severity"],
    ),
    (
        "emergencyContacts",
        "emergencyContact",
        "medical",
        True,
        ["players"],
        "name",
        None,
        ["phone", "relationship"],
    ),
    ("allergies", "allergy", "medical", True, ["players"], "allergen", None, ["severity"]),
    (
        "voiceNotes",
        "voiceNote",
        "voice",
        True,
        ["coaches", "teams"],
        "title",
        2,
        ["insightsStatus", "source", "storageId", "durationMs", "embedding"],
    ),
    (
        "transcripts",
        "transcript",
        "voice",
        True,
        ["voiceNotes"],
        "text",
        2,
        ["language", "embedding"],
    ),
    (
        "insights",
        "insight",
        "voice",
        True,
        ["voiceNotes", "players", "coaches"],
        "summary",
        5,
        ["source", "confidence"],
    ),
    ("mentions", "mention", "voice", True, ["voiceNotes", "players"], "text", None, ["confidence"]),
    ("playerAliases", "playerAlias", "voice", True, ["players"], "alias", None, []),
    ("claims", "claim", "roster", True, ["players", "guardians"], "note", 5, []),
    ("threads", "thread", "comms", True, ["teams"], "subject", 3, []),
    ("messages", "message", "comms", True, ["threads", "users"], "body", None, []),
    ("notifications", "notification", "comms", True, ["users"], "title", None, ["readAt", "kind"]),
    (
        "trainingSessions",
        "trainingSession",
        "training",
        True,
        ["teams", "coaches", "venues"],
        "title",
        4,
        ["startsAt"],
    ),
    (
        "attendanceRecords",
        "attendanceRecord",
        "training",
        True,
        ["trainingSessions", "players"],
        "note",
        None,
        ["present"],
    ),
    ("venues", "venue", "facilities", True, [], "name", 0, ["address", "capacity"]),
    ("fixtures", "fixture", "league", True, ["teams", "venues"], "opponent", 4, ["startsAt"]),
    (
        "fixtureResults",
        "fixtureResult",
        "league",
        True,
        ["fixtures"],
        "summary",
        None,
        ["goalsFor", "goalsAgainst"],
    ),
    ("events", "event", "events", True, [], "title", 1, ["startsAt"]),
    (
        "eventRegistrations",
        "eventRegistration",
        "events",
        True,
        ["events", "players"],
        "note",
        5,
        [],
    ),
    (
        "clubDocuments",
        "clubDocument",
        "docs",
        True,
        ["users"],
        "title",
        1,
        ["storageId", "embedding"],
    ),
    ("auditLogs", "auditLog", "orgs", True, ["users"], "action", None, ["entityId"]),
    (
        "invoices",
        "invoice",
        "billing",
        True,
        ["guardians"],
        "reference",
        5,
        ["amountCents", "dueAt"],
    ),
    ("payments", "payment", "billing", True, ["invoices"], "reference", 2, ["amountCents"]),
    ("subscriptions", "subscription", "billing", True, ["guardians"], "plan", 0, ["renewsAt"]),
    ("refunds", "refund", "billing", True, ["payments"], "reason", 5, ["amountCents"]),
    ("drills", "drill", "training", True, ["coaches"], "title", 1, ["durationMs"]),
    ("trainingPlans", "trainingPlan", "training", True, ["teams", "coaches"], "title", 1, []),
    (
        "assessments",
        "assessment",
        "performance",
        True,
        ["players", "coaches"],
        "summary",
        1,
        ["score"],
    ),
    (
        "medicalClearances",
        "medicalClearance",
        "medical",
        True,
        ["players"],
        "note",
        5,
        ["expiresAt"],
    ),
    ("kitOrders", "kitOrder", "merch", True, ["players"], "reference", 2, ["amountCents"]),
    ("announcements", "announcement", "comms", True, ["teams"], "title", 1, []),
]

BILLING_TABLES = ("invoices", "payments", "subscriptions", "refunds")

GEN_AREAS = [
    "scouting",
    "academy",
    "tournament",
    "finance",
    "media",
    "inventory",
    "volunteer",
    "safeguarding",
    "analytics",
    "integration",
    "transport",
    "nutrition",
    "fitness",
    "recruitment",
    "sponsorship",
    "facility",
    "compliance",
    "membership",
    "camp",
    "wellbeing",
    "performance",
    "merch",
    "league",
    "medical",
    "comms",
]
GEN_ENTITIES = [
    "report",
    "record",
    "note",
    "task",
    "plan",
    "request",
    "log",
    "review",
    "snapshot",
    "batch",
    "template",
    "assignment",
    "checklist",
    "schedule",
    "entry",
    "item",
    "rule",
    "setting",
    "export",
    "metric",
    "goal",
    "submission",
    "approval",
    "invite",
    "booking",
    "slot",
    "feedback",
    "comment",
    "survey",
    "ticket",
]
LABELS = ["title", "name", "summary", "label", "description", "subject"]

EXTRA_FIELD_POOL: list[tuple[str, str, bool]] = [
    # name, kind, optional
    ("description", "string", True),
    ("notes", "string", True),
    ("tags", "string_array", True),
    ("priority", "number", False),
    ("isArchived", "boolean", False),
    ("metadata", "object", True),
    ("externalId", "string", True),
    ("source", "enum", False),
    ("score", "number", True),
    ("dueAt", "number", True),
    ("completedAt", "number", True),
    ("settings", "object", True),
    ("address", "shared", True),
    ("counters", "record", True),
    ("visibility", "enum", False),
    ("sortOrder", "number", False),
    ("color", "string", True),
    ("locale", "string", True),
    ("timezone", "string", True),
    ("reviewedBy", "id_users", True),
    ("assigneeIds", "id_array_users", True),
    ("attachments", "attachments", True),
    ("version", "number", False),
    ("checksum", "string", True),
    ("lastSyncedAt", "number", True),
    ("importedFrom", "string", True),
    ("flags", "object", True),
    ("audit", "shared_audit", True),
]

SPECIAL_FIELDS: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    "slug": ("string", False, ()),
    "settings": ("object", True, ()),
    "address": ("shared", True, ()),
    "tokenIdentifier": ("string", False, ()),
    "email": ("string", False, ()),
    "avatarUrl": ("string", True, ()),
    "role": ("enum", False, ("admin", "coach", "parent", "player")),
    "ageGroup": ("string", False, ()),
    "season": ("string", False, ()),
    "qualifications": ("string_array", True, ()),
    "externalId": ("string", True, ()),
    "dateOfBirth": ("string", True, ()),
    "position": ("string", True, ()),
    "phone": ("string", True, ()),
    "heightCm": ("number", True, ()),
    "weightKg": ("number", True, ()),
    "bodyPart": ("string", False, ()),
    "severity": ("enum", False, ("low", "medium", "high")),
    "relationship": ("string", False, ()),
    "insightsStatus": ("enum", False, ("pending", "ready", "applied", "failed")),
    "source": ("enum", False, ("manual", "voice", "import", "api")),
    "storageId": ("storage", True, ()),
    "durationMs": ("number", True, ()),
    "embedding": ("embedding", True, ()),
    "language": ("string", True, ()),
    "confidence": ("number", False, ()),
    "readAt": ("number", True, ()),
    "kind": ("enum", False, ("info", "reminder", "alert")),
    "startsAt": ("number", False, ()),
    "present": ("boolean", False, ()),
    "capacity": ("number", True, ()),
    "goalsFor": ("number", False, ()),
    "goalsAgainst": ("number", False, ()),
    "entityId": ("string", True, ()),
    "amountCents": ("number", False, ()),
    "dueAt": ("number", True, ()),
    "renewsAt": ("number", True, ()),
    "score": ("number", True, ()),
    "expiresAt": ("number", True, ()),
    "visibility": ("enum", False, ("private", "team", "club")),
}

OBJECT_SUBFIELDS = [
    ("enabled", "v.boolean()"),
    ("label", "v.optional(v.string())"),
    ("threshold", "v.optional(v.number())"),
    ("channel", 'v.union(v.literal("email"), v.literal("sms"), v.literal("push"))'),
    ("updatedBy", 'v.optional(v.id("users"))'),
    ("note", "v.optional(v.string())"),
    ("retries", "v.number()"),
    ("mode", 'v.union(v.literal("auto"), v.literal("manual"))'),
]

SHARED_VALIDATORS = {
    "address": [
        "export const addressValidator = v.object({",
        "  line1: v.string(),",
        "  line2: v.optional(v.string()),",
        "  city: v.string(),",
        "  postcode: v.string(),",
        "  country: v.string(),",
        "});",
    ],
    "audit": [
        "export const auditValidator = v.object({",
        '  createdBy: v.optional(v.id("users")),',
        '  updatedBy: v.optional(v.id("users")),',
        "  reason: v.optional(v.string()),",
        "});",
    ],
    "attachment": [
        "export const attachmentValidator = v.object({",
        '  storageId: v.id("_storage"),',
        "  fileName: v.string(),",
        "  contentType: v.string(),",
        "  sizeBytes: v.number(),",
        "});",
    ],
}


def validator(fl: Field, indent: str = "    ") -> list[str]:
    """Lines of `name: v.xxx(...),` (first line without indent prefix handled by caller)."""
    k = fl.kind
    if k == "id":
        core = f'v.id("{fl.target}")'
    elif k == "string":
        core = "v.string()"
    elif k == "number":
        core = "v.number()"
    elif k == "boolean":
        core = "v.boolean()"
    elif k == "storage":
        core = 'v.id("_storage")'
    elif k == "enum":
        core = "v.union(" + ", ".join(f'v.literal("{x}")' for x in fl.literals) + ")"
    elif k == "string_array":
        core = "v.array(v.string())"
    elif k == "id_array":
        core = f'v.array(v.id("{fl.target}"))'
    elif k == "embedding":
        core = "v.array(v.float64())"
    elif k == "record":
        core = "v.record(v.string(), v.number())"
    elif k == "shared":
        core = f"{fl.shared}Validator"
    elif k == "attachments":
        core = "v.array(attachmentValidator)"
    elif k == "object":
        inner = [f"{indent}  {n}: {val}," for n, val in (fl.sub or [])]
        head = f"{indent}{fl.name}: " + ("v.optional(v.object({" if fl.optional else "v.object({")
        tail = f"{indent}}})" + (")," if fl.optional else ",")
        return [head, *inner, tail]
    else:  # pragma: no cover
        raise ValueError(k)
    if fl.optional:
        core = f"v.optional({core})"
    line = f"{indent}{fl.name}: {core},"
    if len(line) > 80 and k == "enum":
        lits = [f'{indent}    v.literal("{x}"),' for x in fl.literals]
        if fl.optional:
            return [
                f"{indent}{fl.name}: v.optional(",
                f"{indent}  v.union(",
                *[x[:0] + "  " + x for x in lits],
                f"{indent}  ),",
                f"{indent}),",
            ]
        return [f"{indent}{fl.name}: v.union(", *[x[2:] for x in lits], f"{indent}),"]
    return [line]


def arg_validator(fl: Field) -> str:
    """A single-line validator for use in function args (never optional-wrapped)."""
    k = fl.kind
    if k == "id":
        return f'v.id("{fl.target}")'
    if k == "enum":
        return "v.union(" + ", ".join(f'v.literal("{x}")' for x in fl.literals) + ")"
    if k == "storage":
        return 'v.id("_storage")'
    return {"string": "v.string()", "number": "v.number()", "boolean": "v.boolean()"}.get(
        k, "v.any()"
    )


class SchemaBuilder:
    def __init__(self, rng: random.Random, n_tables: int, n_files: int):
        self.rng = rng
        self.n_tables = n_tables
        self.n_files = n_files
        self.tables: list[Table] = []
        self.by_name: dict[str, Table] = {}

    # -- tables -------------------------------------------------------------------------
    def build(self) -> list[Table]:
        rng = self.rng
        core = CORE_TABLES[: min(len(CORE_TABLES), self.n_tables)]
        for name, singular, area, org, parents, label, sset, extras in core:
            t = Table(name=name, singular=singular, area=area, org=org, label=label)
            t.status = STATUS_SETS[sset] if sset is not None else None
            self._fields(t, parents, extras, n_extra=rng.randint(7, 13))
            if name in BILLING_TABLES:
                t.schema_file = "convex/schemas/billing.ts"
            self._add(t)
        combos = [(a, e) for a in GEN_AREAS for e in GEN_ENTITIES]
        rng.shuffle(combos)
        seen = set(self.by_name)
        ci = 0
        while len(self.tables) < self.n_tables and ci < len(combos):
            area, ent = combos[ci]
            ci += 1
            singular = area + cap(ent)
            name = plural(singular)
            if name in seen:
                continue
            seen.add(name)
            pool = [t.name for t in self.tables if t.org and t.name not in ("members",)]
            core_pool = [
                n
                for n in ("players", "teams", "coaches", "users", "events", "voiceNotes")
                if n in self.by_name
            ]
            parents: list[str] = []
            r = rng.random()
            if r < 0.55 and core_pool:
                parents.append(rng.choice(core_pool))
            if r > 0.3 and pool:
                p = rng.choice(pool[-25:])
                if p not in parents:
                    parents.append(p)
            if rng.random() < 0.15 and pool:
                p = rng.choice(pool)
                if p not in parents:
                    parents.append(p)
            t = Table(name=name, singular=singular, area=area, org=True, label=rng.choice(LABELS))
            t.status = rng.choice(STATUS_SETS) if rng.random() < 0.85 else None
            self._fields(t, parents, [], n_extra=rng.randint(8, 15))
            self._add(t)
        for t in self.tables:
            self._indexes(t)
        self._plant_hygiene()
        return self.tables

    def _add(self, t: Table) -> None:
        self.tables.append(t)
        self.by_name[t.name] = t

    def _fields(self, t: Table, parents: list[str], extras: list[str], n_extra: int) -> None:
        rng = self.rng
        if t.org:
            t.fields.append(Field("orgId", "id", target="organizations"))
            t.fks["orgId"] = "organizations"
        for p in parents:
            # a parent may be defined later in CORE_TABLES order (e.g. venues) or be cut off
            if (
                p not in self.by_name
                and p != t.name
                and p not in [c[0] for c in CORE_TABLES[: self.n_tables]]
            ):
                continue
            pt_singular = (
                next((c[1] for c in CORE_TABLES if c[0] == p), None) or self.by_name[p].singular
            )
            fname = "userId" if p == "users" else pt_singular + "Id"
            if t.f(fname):
                continue
            t.fields.append(Field(fname, "id", target=p, optional=(p == "venues")))
            t.fks[fname] = p
        t.fields.append(Field(t.label, "string"))
        if t.status:
            t.fields.append(Field("status", "enum", literals=t.status))
        for ex in extras:
            kind, opt, lits = SPECIAL_FIELDS.get(ex, ("string", True, ()))
            self._add_field(t, ex, kind, opt, lits)
        pool = EXTRA_FIELD_POOL[:]
        rng.shuffle(pool)
        for name, kind, opt in pool[:n_extra]:
            if t.f(name):
                continue
            lits = SPECIAL_FIELDS.get(name, ("", False, ()))[2]
            if kind == "enum" and not lits:
                lits = rng.choice(
                    [
                        ("manual", "import", "api"),
                        ("low", "normal", "high"),
                        ("private", "team", "club"),
                    ]
                )
            self._add_field(t, name, kind, opt, lits)
        t.fields.append(Field("createdAt", "number"))
        t.fields.append(Field("updatedAt", "number", optional=True))

    def _add_field(self, t: Table, name: str, kind: str, opt: bool, lits: tuple[str, ...]) -> None:
        rng = self.rng
        if kind == "object":
            subs = rng.sample(OBJECT_SUBFIELDS, rng.randint(3, 6))
            t.fields.append(Field(name, "object", optional=opt, sub=subs))
        elif kind == "shared":
            t.fields.append(Field(name, "shared", optional=opt, shared=name))
        elif kind == "shared_audit":
            t.fields.append(Field(name, "shared", optional=opt, shared="audit"))
        elif kind == "id_users":
            t.fields.append(Field(name, "id", optional=opt, target="users"))
        elif kind == "id_array_users":
            t.fields.append(Field(name, "id_array", optional=opt, target="users"))
        elif kind == "attachments":
            t.fields.append(Field(name, "attachments", optional=opt))
        elif kind == "enum":
            t.fields.append(Field(name, "enum", optional=opt, literals=lits or ("a", "b")))
        else:
            t.fields.append(Field(name, kind, optional=opt))

    # -- indexes ------------------------------------------------------------------------
    def _indexes(self, t: Table) -> None:
        rng = self.rng
        cands: list[list[str]] = []
        special = {
            "organizations": [["slug"]],
            "users": [["tokenIdentifier"], ["email"]],
            "members": [["orgId", "userId"], ["userId"]],
            "playerAliases": [["orgId", "alias"], ["playerId"]],
            "voiceNotes": [["orgId", "createdAt"], ["coachId", "createdAt"], ["teamId"]],
            "insights": [
                ["orgId", "status"],
                ["voiceNoteId"],
                ["playerId", "createdAt"],
                ["coachId", "status"],
            ],
            "mentions": [["voiceNoteId"], ["playerId"]],
            "messages": [["threadId", "createdAt"], ["userId"]],
            "notifications": [["userId", "readAt"], ["orgId", "createdAt"]],
            "attendanceRecords": [["trainingSessionId", "playerId"], ["playerId"]],
        }
        if t.name in special:
            cands = [list(c) for c in special[t.name]]
        else:
            if t.org:
                opts = []
                if t.status:
                    opts.append(["orgId", "status"])
                opts.append(["orgId", "createdAt"])
                if t.status and rng.random() < 0.12:
                    opts = [["orgId", "status", "createdAt"]]
                for o in opts:
                    if rng.random() < 0.8 or o is opts[0]:
                        cands.append(o)
            for fk in t.child_fks():
                r = rng.random()
                if r < 0.65:
                    cands.append([fk])
                elif r < 0.8 and t.status:
                    cands.append([fk, "status"])
                elif r < 0.95:
                    cands.append([fk, "createdAt"])
            if t.f("externalId") and rng.random() < 0.6:
                cands.append(["externalId"])
            if t.f("reviewedBy") and rng.random() < 0.3:
                cands.append(["reviewedBy"])
            if t.f("dueAt") and t.org and rng.random() < 0.35:
                cands.append(["orgId", "dueAt"])
        for c in cands:
            if any(self._prefix(c, i.fields) or self._prefix(i.fields, c) for i in t.indexes):
                continue
            t.indexes.append(Index(self._iname(c), c))
        # search / vector indexes
        text_fields = [
            f.name for f in t.fields if f.kind == "string" and not f.optional and f.name != "orgId"
        ]
        if t.name in ("messages", "clubDocuments", "players", "transcripts") or (
            t.name not in dict.fromkeys(c[0] for c in CORE_TABLES) and rng.random() < 0.07
        ):
            sf = t.label if t.label in text_fields else (text_fields[0] if text_fields else None)
            if sf:
                filt = ["orgId"] + (["status"] if t.status else [])
                t.search.append((f"search_{sf}", sf, filt, 0))
        if t.f("embedding") is not None:
            t.vector.append(("by_embedding", "embedding", ["orgId"], 0))

    @staticmethod
    def _prefix(a: list[str], b: list[str]) -> bool:
        return len(a) <= len(b) and b[: len(a)] == a

    def _iname(self, c: list[str]) -> str:
        if len(c) >= 3 and self.rng.random() < 0.5:
            return "by_" + "_".join(c)
        if len(c) == 2 and self.rng.random() < 0.1:
            return "by_" + "_".join(c)
        return "by_" + "_and_".join(c)

    def _plant_hygiene(self) -> None:
        rng = self.rng
        scale = self.n_files / 300
        # prefix-redundant indexes (the shorter one is planted; both stay in the schema)
        n_red = max(1, round(6 * scale))
        tables = [t for t in self.tables if any(len(i.fields) >= 2 for i in t.indexes)]
        rng.shuffle(tables)
        for t in tables[:n_red]:
            longer = next(i for i in t.indexes if len(i.fields) >= 2)
            short = longer.fields[:1]
            if any(i.fields == short for i in t.indexes):
                continue
            pos = t.indexes.index(longer)
            t.indexes.insert(pos, Index(self._iname(short), short))
        # indexes that nothing uses
        n_unused = max(1, round(13 * scale))
        all_idx = [
            (t, i)
            for t in self.tables
            for i in t.indexes
            if t.name not in ("users", "members", "playerAliases")
        ]
        rng.shuffle(all_idx)
        picked = 0
        for t, i in all_idx:
            if picked >= n_unused:
                break
            # keep at least one live org index per org table so templates have something to use
            live_org = [x for x in t.leading("orgId") if x is not i]
            if t.org and i.fields[0] == "orgId" and not live_org:
                continue
            i.unused = True
            picked += 1


def render_validators() -> str:
    out = [
        "// Validators shared by schema.ts, schemas/billing.ts and function args.",
        'import { v } from "convex/values";',
        "",
    ]
    for key in ("address", "audit", "attachment"):
        out.extend(SHARED_VALIDATORS[key])
        out.append("")
    return "\n".join(out)


def render_schema(tables: list[Table], rng: random.Random) -> tuple[str, str]:
    """Return (schema.ts text, schemas/billing.ts text); fills Index.file/line."""
    main: list[str] = [
        "// Club platform schema. Tables are grouped by product area; billing tables live",
        "// in ./schemas/billing.ts and are spread in below.",
        'import { defineSchema, defineTable } from "convex/server";',
        'import { v } from "convex/values";',
    ]
    billing = [t for t in tables if t.schema_file.endswith("billing.ts")]
    if billing:
        main.append('import { billingTables } from "./schemas/billing";')
    main.append(
        'import { addressValidator, attachmentValidator, auditValidator } from "./schemas/validators";'
    )
    main.append("")
    main.append("export default defineSchema({")
    if billing:
        main.append("  ...billingTables,")
        main.append("")
    area = None
    for t in tables:
        if t in billing:
            continue
        if t.area != area:
            area = t.area
            main.append(f"  // ---- {area} " + "-" * max(4, 60 - len(area)))
        _render_table(t, main, "convex/schema.ts", "  ")
    main.append("});")
    main.append("")
    bl: list[str] = [
        "// Billing tables, spread into defineSchema() from ../schema.ts.",
        'import { defineTable } from "convex/server";',
        'import { v } from "convex/values";',
        'import { addressValidator, attachmentValidator, auditValidator } from "./validators";',
        "",
        "export const billingTables = {",
    ]
    for t in billing:
        _render_table(t, bl, "convex/schemas/billing.ts", "  ")
    bl.append("};")
    bl.append("")
    return "\n".join(main), "\n".join(bl)


def _render_table(t: Table, out: list[str], fname: str, ind: str) -> None:
    out.append(f"{ind}{t.name}: defineTable({{")
    for fl in t.fields:
        for ln in validator(fl, ind + "  "):
            out.append(ln)
    chain: list[tuple[str, Index | None]] = []
    for i in t.indexes:
        flds = ", ".join(f'"{x}"' for x in i.fields)
        chain.append((f'.index("{i.name}", [{flds}])', i))
    for name, sf, filt, _ in t.search:
        chain.append((f'.searchIndex("{name}", {{', None))
        chain.append((f'  searchField: "{sf}",', None))
        chain.append(("  filterFields: [" + ", ".join(f'"{x}"' for x in filt) + "],", None))
        chain.append(("})", None))
    for name, vf, filt, _ in t.vector:
        chain.append((f'.vectorIndex("{name}", {{', None))
        chain.append((f'  vectorField: "{vf}",', None))
        chain.append(("  dimensions: 1536,", None))
        chain.append(("  filterFields: [" + ", ".join(f'"{x}"' for x in filt) + "],", None))
        chain.append(("})", None))
    if not chain:
        out.append(f"{ind}}}),")
    else:
        out.append(f"{ind}}})")
        for k, (text, idx) in enumerate(chain):
            end = "," if k == len(chain) - 1 else ""
            out.append(f"{ind}  {text}{end}")
            if idx is not None:
                idx.file = fname
                idx.line = len(out)  # 1-based line of this .index(...)
    out.append("")


# --------------------------------------------------------------------------------------
# Code model
# --------------------------------------------------------------------------------------


@dataclass
class Plant:
    rule: str | None  # None for negatives (correct patterns)
    shape: str
    anchor: int  # line index within the body
    start: int
    end: int
    benign: bool = False
    detail: str = ""


class Body:
    __slots__ = ("ind", "lines", "plants")

    def __init__(self, ind: int = 0) -> None:
        self.lines: list[str] = []
        self.ind = ind
        self.plants: list[Plant] = []

    def add(self, text: str = "") -> int:
        pad = "  " * self.ind
        for part in text.split("\n"):
            self.lines.append(pad + part if part else "")
        return len(self.lines) - 1

    def pos(self) -> int:
        return len(self.lines)

    def open(self, header: str) -> int:
        n = self.add(header)
        self.ind += 1
        return n

    def close(self, closer: str = "}") -> int:
        self.ind -= 1
        return self.add(closer)

    def plant(
        self,
        rule: str | None,
        shape: str,
        anchor: int,
        start: int | None = None,
        end: int | None = None,
        benign: bool = False,
        detail: str = "",
    ) -> None:
        self.plants.append(
            Plant(
                rule,
                shape,
                anchor,
                anchor if start is None else start,
                anchor if end is None else end,
                benign,
                detail,
            )
        )

    def chain(self, prefix: str, head: str, calls: list[str], suffix: str = ";") -> tuple[int, int]:
        """Emit `prefix head.call1.call2 suffix`, prettier-style broken when long.
        Returns (first line, last line)."""
        pad = "  " * self.ind
        one = prefix + head + "".join(calls) + suffix
        if len(pad) + len(one) <= 80:
            n = self.add(one)
            return n, n
        first = self.add(prefix + head)
        self.ind += 1
        for k, c in enumerate(calls):
            tail = suffix if k == len(calls) - 1 else ""
            self._call(c, tail)
        self.ind -= 1
        return first, len(self.lines) - 1

    def wrapped(self, prefix: str, head: str, calls: list[str], after: str) -> tuple[int, int]:
        """`prefix(await head.calls)after;` broken prettier-style when long."""
        pad = "  " * self.ind
        one = f"{prefix}(await {head}{''.join(calls)}){after};"
        if len(pad) + len(one) <= 80:
            n = self.add(one)
            return n, n
        first = self.add(prefix + "(")
        self.ind += 1
        self.add("await " + head)
        self.ind += 1
        for c in calls:
            self._call(c, "")
        self.ind -= 2
        last = self.add(f"){after};")
        return first, last

    def _call(self, c: str, tail: str) -> None:
        pad = "  " * self.ind
        if len(pad) + len(c) + len(tail) > 80 and "(q) => " in c:
            head, rest = c.split("(q) => ", 1)
            assert rest.endswith(")")
            self.add(head + "(q) =>")
            self.ind += 1
            self.add(rest[:-1] + ",")
            self.ind -= 1
            self.add(")" + tail)
        else:
            self.add(c + tail)


@dataclass
class Fn:
    name: str
    builder: str
    args: dict[str, str] = field(default_factory=dict)
    body: Body = field(default_factory=Body)
    doc: str | None = None
    returns: str | None = None

    def arg(self, name: str, val: str) -> str:
        self.args.setdefault(name, val)
        return f"args.{name}"


@dataclass
class Helper:
    """A plain exported (or local) function, e.g. in model/."""

    header: (
        str  # e.g. "export async function getPlayerOrThrow(ctx: QueryCtx, id: Id<\"players\">) {"
    )
    body: Body
    name: str = ""


@dataclass
class Module:
    path: str  # relative to workspace, e.g. "convex/roster/players.ts"
    role: str  # main admin reports node sync big model lib
    table: Table | None
    target_lines: int
    use_node: bool = False
    imports: dict[str, dict[str, bool]] = field(default_factory=dict)  # source -> name -> is_type
    items: list[Fn | Helper] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    est_lines: int = 8
    header_comment: str = ""

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1  # convex/a.ts -> 0

    @property
    def api_path(self) -> str:
        p = self.path[len("convex/") : -3]
        return ".".join(p.split("/"))

    def rel(self, target: str) -> str:
        return ("./" if self.depth == 0 else "../" * self.depth) + target

    def need(self, source: str, name: str, is_type: bool = False) -> None:
        d = self.imports.setdefault(source, {})
        if name in d:
            d[name] = d[name] and is_type
        else:
            d[name] = is_type

    def unique(self, name: str) -> str:
        if name in self.names:
            verb = next(
                (
                    vb
                    for vb in VERB_ALTERNATIVES
                    if name.startswith(vb) and name[len(vb) :][:1].isupper()
                ),
                None,
            )
            cands = [alt + name[len(verb) :] for alt in VERB_ALTERNATIVES[verb]] if verb else []
            cands += [name + sfx for sfx in NAME_SUFFIXES]
            base = name
            name = next((c for c in cands if c not in self.names), "")
            k = 2
            while not name or name in self.names:
                name = f"{base}V{k}"
                k += 1
        self.names.add(name)
        return name

    def add(self, item: Fn | Helper) -> None:
        self.items.append(item)
        self.est_lines += len(item.body.lines) + (len(item.args) + 7 if isinstance(item, Fn) else 3)


VERB_ALTERNATIVES: dict[str, list[str]] = {
    "get": ["fetch", "load", "read", "lookup", "show"],
    "list": ["browse", "fetch", "select", "query", "listAll"],
    "create": ["add", "insert", "register", "new"],
    "update": ["edit", "modify", "save", "change"],
    "remove": ["delete", "archive", "drop", "purge"],
    "count": ["tally", "total", "measure"],
    "find": ["lookup", "locate", "search", "match"],
    "recent": ["latest", "newest", "fresh"],
    "latest": ["recent", "newest", "top"],
    "summarize": ["digest", "rollup", "aggregate"],
    "import": ["ingest", "bulkInsert", "load"],
    "search": ["find", "lookup"],
    "load": ["fetch", "read", "resolve"],
    "describe": ["explain", "inspect", "present"],
    "visible": ["shown", "displayable", "public"],
    "sync": ["mirror", "replicate", "export"],
    "refresh": ["reload", "recompute", "rebuild"],
    "apply": ["commit", "process", "settle"],
    "reindex": ["rescan", "rebuild", "walk"],
    "similar": ["related", "nearest", "lookalike"],
    "request": ["ask", "queue", "flag"],
    "queue": ["enqueue", "plan", "batch"],
    "backfill": ["migrate", "repair", "fixup"],
    "submit": ["send", "finalize", "publish"],
    "schedule": ["plan", "remind", "queue"],
    "process": ["handle", "link", "match"],
    "autoApply": ["autoCommit", "bulkApply", "applyAll"],
    "export": ["dump", "download", "render"],
    "push": ["notify", "post", "send"],
    "all": ["every", "entire", "complete"],
    "resolve": ["expand", "hydrate", "attach"],
}
NAME_SUFFIXES = [
    "ForAdmin",
    "ForCoach",
    "Internal",
    "Legacy",
    "ForExport",
    "V2",
    "ForPortal",
    "Quick",
]

SERVER_NAMES = {
    "query",
    "mutation",
    "action",
    "internalQuery",
    "internalMutation",
    "internalAction",
    "httpAction",
}


def render_module(m: Module) -> tuple[str, list[tuple[Plant, int, str]]]:
    out: list[str] = []
    plants: list[tuple[Plant, int, str]] = []
    if m.use_node:
        out.append('"use node";')
        out.append("")
    if m.header_comment:
        out.extend(m.header_comment.split("\n"))
    order = []
    for src in sorted(m.imports, key=lambda s: (not s.startswith("convex"), s.startswith("."), s)):
        order.append(src)
    for src in order:
        names = m.imports[src]
        vals = sorted(n for n, t in names.items() if not t)
        types = sorted(n for n, t in names.items() if t)
        if vals:
            line = f'import {{ {", ".join(vals)} }} from "{src}";'
            if len(line) > 80:
                out.append("import {")
                out.extend(f"  {n}," for n in vals)
                out.append(f'}} from "{src}";')
            else:
                out.append(line)
        if types:
            out.append(f'import type {{ {", ".join(types)} }} from "{src}";')
    out.append("")
    for it in m.items:
        if isinstance(it, Fn):
            if it.doc:
                out.append(f"/** {it.doc} */")
            out.append(f"export const {it.name} = {it.builder}({{")
            if it.args:
                out.append("  args: {")
                for k, val in it.args.items():
                    out.append(f"    {k}: {val},")
                out.append("  },")
            else:
                out.append("  args: {},")
            if it.returns:
                out.append(f"  returns: {it.returns},")
            params = "ctx, args" if it.args else "ctx"
            out.append(f"  handler: async ({params}) => {{")
            base = len(out)
            out.extend("    " + ln if ln else "" for ln in it.body.lines)
            for p in it.body.plants:
                plants.append((p, base, it.name))
            out.append("  },")
            out.append("});")
            out.append("")
        else:
            out.append(it.header)
            base = len(out)
            out.extend("  " + ln if ln else "" for ln in it.body.lines)
            for p in it.body.plants:
                plants.append((p, base, it.name))
            out.append("}")
            out.append("")
    return "\n".join(out), plants


# --------------------------------------------------------------------------------------
# The workspace generator
# --------------------------------------------------------------------------------------

SHAPES_ANTI: dict[str, tuple[str, float]] = {
    # shape -> (rule, count at 300 files)
    "for_of_get": ("n-plus-one-read", 12),
    "promise_all_map_get": ("n-plus-one-read", 10),
    "per_item_index_first": ("n-plus-one-read", 8),
    "per_item_index_collect": ("n-plus-one-read", 6),
    "four_reads_per_item": ("n-plus-one-read", 3),
    "helper_per_item": ("n-plus-one-read", 8),
    "run_query_per_item": ("n-plus-one-call", 8),
    "run_mutation_per_item": ("n-plus-one-call", 4),
    "helper_call_per_item": ("n-plus-one-call", 3),
    "sequential_run_after": ("sequential-scheduling", 5),
    "run_after_in_loop": ("sequential-scheduling", 5),
    "whole_table_collect": ("full-table-scan", 8),
    "sliced_collect": ("unbounded-collect", 6),
    "counted_collect": ("unbounded-collect", 8),
    "js_filtered_collect": ("unbounded-collect", 10),
    "whole_org_collect": ("unbounded-collect", 8),
    "filter_after_index": ("filter-on-query", 15),
    "filter_no_index": ("filter-on-query", 6),
    "unknown_index": ("unknown-index", 3),
    "index_range_order": ("index-range-order", 2),
    "better_auth_id_field": ("better-auth-id-field", 3),
    "fetch_no_timeout": ("fetch-without-timeout", 8),
    "sdk_no_timeout": ("fetch-without-timeout", 2),
    "large_take": ("large-take", 6),
}

ACTION_SHAPES = {
    "run_query_per_item",
    "run_mutation_per_item",
    "helper_call_per_item",
    "fetch_no_timeout",
    "sdk_no_timeout",
}


class Generator:
    def __init__(self, n_files: int, seed: int = DEFAULT_SEED):
        if n_files < 20:
            raise SystemExit("--files must be at least 20")
        self.n_files = n_files
        self.seed = seed
        self.rng = random.Random(f"{seed}:{n_files}")
        self.n_tables = max(12, min(400, round(120 * (n_files / 300) ** 0.5)))
        self.modules: list[Module] = []
        self.tables: list[Table] = []
        self.by_name: dict[str, Table] = {}
        self.used_index: dict[tuple[str, str], int] = {}
        self.internal_fns: dict[str, list[str]] = {}  # table -> api paths of std internal fns
        self.files: dict[str, str] = {}
        self.plants: list[dict] = []
        self.model_helpers: dict[str, dict[str, str]] = {}  # table -> kind -> helper name

    # -- entry --------------------------------------------------------------------------
    def generate(self) -> dict[str, str]:
        rng = self.rng
        sb = SchemaBuilder(rng, self.n_tables, self.n_files)
        self.tables = sb.build()
        self.by_name = {t.name: t for t in self.tables}
        schema_ts, billing_ts = render_schema(self.tables, rng)
        self.files["convex/schema.ts"] = schema_ts
        if any(t.schema_file.endswith("billing.ts") for t in self.tables):
            self.files["convex/schemas/billing.ts"] = billing_ts
        self.files["convex/schemas/validators.ts"] = render_validators()
        self._plan_modules()
        self._fill_modules()
        self._cover_indexes()
        self._render_all()
        self._static_files()
        return self.files

    # -- planning -----------------------------------------------------------------------
    def _plan_modules(self) -> None:
        rng = self.rng
        fixed = [
            "convex/_generated/server.ts",
            "convex/_generated/api.ts",
            "convex/_generated/dataModel.ts",
            "convex/schema.ts",
            "convex/lib/functions.ts",
            "convex/lib/auth.ts",
            "convex/lib/utils.ts",
            "convex/crons.ts",
            "convex/http.ts",
        ]
        fixed += [
            p
            for p in ("convex/schemas/billing.ts", "convex/schemas/validators.ts")
            if p in self.files
        ]
        n_big = max(1, self.n_files // 100)
        budget = self.n_files - len(fixed) - n_big
        n_model = min(len(self.tables), max(2, round(budget * 0.14)))
        remaining = budget - n_model
        n_main = min(len(self.tables), remaining)
        n_extra = remaining - n_main
        # main modules: one per table (most important tables first)
        main_tables = self.tables[:n_main]
        total_target = LINES_PER_FILE * self.n_files
        schema_lines = sum(s.count("\n") for s in self.files.values())
        big_lines = n_big * BIG_FILE_LINES
        model_lines = n_model * 55
        fixed_lines = 700
        code_budget = max(2000, total_target - schema_lines - big_lines - model_lines - fixed_lines)
        # 0.8: modules overshoot their target by about a function, and index coverage
        # and leftover planted shapes add a little more (calibrated at 300 files)
        per_module = 0.87 * code_budget / max(1, n_main + n_extra)
        for t in main_tables:
            path = f"convex/{t.area}/{t.name}.ts"
            t.module = f"{t.area}.{t.name}"
            self.modules.append(Module(path, "main", t, self._target(per_module)))
        # model files for the tables with main modules, most important first
        for t in main_tables[:n_model]:
            t.model = f"model/{t.name}"
        # extra modules
        roles = [
            ("admin", "Admin"),
            ("reports", "Reports"),
            ("node", "Node"),
            ("sync", "Sync"),
            ("admin", "Portal"),
            ("reports", "Analytics"),
            ("internal", "Jobs"),
            ("admin", "Settings"),
            ("reports", "Exports"),
            ("sync", "Webhooks"),
        ]
        k = 0
        made = 0
        while made < n_extra:
            t = main_tables[k % len(main_tables)]
            role, sfx = roles[(k // len(main_tables)) % len(roles)]
            rnd = k // (len(main_tables) * len(roles))
            name = t.name + sfx + (str(rnd + 1) if rnd else "")
            path = f"convex/{t.area}/{name}.ts"
            k += 1
            mod = Module(path, role, t, self._target(per_module))
            mod.use_node = role == "node"
            self.modules.append(mod)
            made += 1
        big_names = [
            "dashboard",
            "reports",
            "voicePipeline",
            "analytics",
            "adminConsole",
            "exports",
            "coachPortal",
            "parentPortal",
            "seasonPlanner",
            "integrations",
        ]
        for b in range(n_big):
            nm = big_names[b % len(big_names)] + (
                str(b // len(big_names) + 1) if b >= len(big_names) else ""
            )
            self.modules.append(Module(f"convex/big/{nm}.ts", "big", None, BIG_FILE_LINES - 40))
        self.n_model = n_model
        self.main_tables = main_tables
        rng.shuffle(self.modules)  # spread planted shapes; rendering order is by path anyway

    def _target(self, mean: float) -> int:
        r = self.rng.random()
        f = 0.35 + 1.3 * r if r < 0.85 else 1.6 + 1.6 * (r - 0.85) / 0.15
        return max(60, int(mean * f))

    # -- filling ------------------------------------------------------------------------
    def _quota(self) -> list[str]:
        scale = self.n_files / 300
        q: list[str] = []
        for shape, (_rule, base) in SHAPES_ANTI.items():
            q.extend([shape] * max(1, round(base * scale)))
        self.rng.shuffle(q)
        return q

    def _fill_modules(self) -> None:
        rng = self.rng
        # standard functions in main modules first (other templates refer to them)
        for m in self.modules:
            if m.role == "main":
                self._std_functions(m)
        for t in self.main_tables[: self.n_model]:
            self._model_module(t)
        quota = self._quota()
        est_funcs = sum(
            max(1, (m.target_lines - m.est_lines) // 34) for m in self.modules if m.role != "model"
        )
        p_anti = min(0.5, len(quota) / max(1, est_funcs))
        first_big = True
        for m in sorted(self.modules, key=lambda x: x.path):
            if m.role == "model":
                continue
            if m.role == "big" and first_big:
                first_big = False
                self._worst_query(m)
            guard = 0
            while m.est_lines < m.target_lines and guard < 400:
                guard += 1
                if quota and rng.random() < p_anti:
                    shape = quota.pop()
                    if self._plant(m, shape):
                        continue
                    quota.insert(0, shape)
                self._clean(m)
        # leftovers: force into suitable modules
        mods = [
            m for m in self.modules if m.role in ("main", "sync", "node", "big", "reports", "admin")
        ]
        for shape in quota:
            for _ in range(200):
                m = rng.choice(mods)
                if self._plant(m, shape):
                    break

    def _table_for(self, m: Module) -> Table:
        if m.table is not None and (m.role != "big" and self.rng.random() < 0.85):
            return m.table
        return self.rng.choice(self.main_tables)

    def _plant(self, m: Module, shape: str) -> bool:
        if m.use_node and shape not in ACTION_SHAPES:
            return False
        fn = getattr(self, "a_" + shape)
        for _ in range(6):
            t = self._table_for(m)
            res = fn(m, t)
            if res is not None:
                m.add(res)
                return True
        return False

    CLEAN_WEIGHTS: list[tuple[str, float]] = [
        ("get", 10),
        ("list_take", 12),
        ("first_unique", 6),
        ("paginate", 8),
        ("create", 10),
        ("update", 8),
        ("remove", 5),
        ("batch_enrich", 5),
        ("small_literal_loop", 2),
        ("indexed_collect", 6),
        ("bulk_insert", 3),
        ("search", 2),
        ("internal_get", 3),
        ("range_query", 3),
        ("helper_once", 3),
        ("schedule_once", 3),
        ("sched_parallel", 1),
        ("better_auth_ok", 0.3),
        ("page_mutation", 1),
        ("stats_pure", 3),
        ("action_fetch_timeout", 2),
        ("action_batched_calls", 2),
        ("action_cursor_loop", 1),
        ("vector_search", 1),
        ("pure_helper_per_item", 2),
    ]
    NODE_CLEAN: list[tuple[str, float]] = [
        ("action_fetch_timeout", 5),
        ("action_batched_calls", 4),
        ("action_cursor_loop", 2),
        ("vector_search", 1),
        ("action_single", 4),
    ]

    def _clean(self, m: Module) -> None:
        rng = self.rng
        table = self.NODE_CLEAN if m.use_node else self.CLEAN_WEIGHTS
        names = [n for n, _ in table]
        weights = [w for _, w in table]
        for _ in range(12):
            kind = rng.choices(names, weights)[0]
            t = self._table_for(m)
            res = getattr(self, "c_" + kind)(m, t)
            if res is not None:
                m.add(res)
                return
        m.add(self.c_get(m, self._table_for(m)))

    # -- common snippets ----------------------------------------------------------------
    def use(self, t: Table, idx: Index) -> None:
        key = (t.name, idx.name)
        self.used_index[key] = self.used_index.get(key, 0) + 1

    def fn(self, m: Module, name: str, builder: str) -> Fn:
        name = m.unique(name)
        if builder in SERVER_NAMES:
            m.need(m.rel("_generated/server"), builder)
        elif builder.startswith("authed"):
            m.need(m.rel("lib/functions"), builder)
        return Fn(name=name, builder=builder)

    def val(self, m: Module, f: Fn, t: Table, fname: str, source: str = "args") -> str:
        """An expression giving a value for equality on `fname`."""
        fl = t.f(fname)
        if fname == "orgId" and source == "args":
            m.need("convex/values", "v")
            return f.arg("orgId", 'v.id("organizations")')
        if fl is None:
            m.need("convex/values", "v")
            return f.arg(fname, "v.string()")
        if fl.kind == "enum":
            return f'"{fl.literals[0]}"'
        if fl.kind == "boolean":
            return "false"
        if fname in ("createdAt", "updatedAt", "startsAt", "dueAt", "readAt"):
            m.need("convex/values", "v")
            return f.arg("since", "v.number()")
        m.need("convex/values", "v")
        return f.arg(fname, arg_validator(fl))

    def iq(
        self,
        m: Module,
        f: Fn,
        t: Table,
        idx: Index,
        n_eq: int | None = None,
        values: dict[str, str] | None = None,
        rng_field: bool = True,
    ) -> str:
        """`.withIndex("name", (q) => q.eq(...)...)` for an index; marks it used."""
        self.use(t, idx)
        values = values or {}
        n = len(idx.fields) if n_eq is None else max(1, min(n_eq, len(idx.fields)))
        parts = []
        for k, fn_ in enumerate(idx.fields[:n]):
            is_time = fn_ in ("createdAt", "startsAt", "dueAt", "readAt", "updatedAt")
            if fn_ in values:
                parts.append(f'.eq("{fn_}", {values[fn_]})')
            elif is_time and k == n - 1 and rng_field:
                parts.append(f'.gte("{fn_}", {self.val(m, f, t, fn_)})')
                break
            elif is_time:
                break
            else:
                parts.append(f'.eq("{fn_}", {self.val(m, f, t, fn_)})')
        if not parts:
            return f'.withIndex("{idx.name}")'
        return f'.withIndex("{idx.name}", (q) => q' + "".join(parts) + ")"

    def auth(self, m: Module, f: Fn, b: Body) -> str:
        """Auth preamble; returns the expression for the current user id."""
        if f.builder.startswith("authed"):
            return "ctx.user._id"
        m.need(m.rel("lib/auth"), "requireUser")
        if self.rng.random() < 0.5:
            b.add("await requireUser(ctx);")
        else:
            b.add("const viewer = await requireUser(ctx);")
            b.add('console.debug("request by", viewer._id);')
        return "viewer._id"

    def dto(self, t: Table, var: str, extra: list[str] | None = None) -> list[str]:
        props = [f"id: {var}._id,", f"{t.label}: {var}.{t.label},"]
        if t.status:
            props.append(f"status: {var}.status,")
        props.append(f"createdAt: {var}.createdAt,")
        opts = [
            fl
            for fl in t.fields
            if fl.kind in ("string", "number", "boolean") and fl.name not in (t.label, "createdAt")
        ]
        for fl in opts[: self.rng.randint(1, 4)]:
            if fl.optional and fl.kind == "string":
                props.append(f'{fl.name}: {var}.{fl.name} ?? "",')
            elif fl.optional:
                props.append(f"{fl.name}: {var}.{fl.name} ?? null,")
            else:
                props.append(f"{fl.name}: {var}.{fl.name},")
        props.extend(extra or [])
        return props

    def emit_obj(self, b: Body, prefix: str, props: list[str], suffix: str = ";") -> None:
        b.open(prefix + "{")
        for p in props:
            b.add(p)
        b.close("}" + suffix)

    def filler(self, m: Module, f: Fn, t: Table, b: Body, var: str | None = None) -> None:
        """Some harmless, realistic logic (no DB access)."""
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            m.need("convex/values", "ConvexError")
            lim = f.arg("limit", "v.optional(v.number())")
            b.open(f"if ({lim} !== undefined && ({lim} < 1 || {lim} > 200)) {{")
            b.add('throw new ConvexError("limit must be between 1 and 200");')
            b.close()
        elif r < 0.45:
            b.add(
                f"const since = Date.now() - {rng.choice([7, 14, 30, 90])} * 24 * 60 * 60 * 1000;"
            )
            b.add(
                f"// Only records touched in the window count towards the {words(t.singular)} summary."
            )
        elif r < 0.6 and var:
            b.add(f"const ageMs = Date.now() - {var}.createdAt;")
            b.add("const ageDays = Math.floor(ageMs / (24 * 60 * 60 * 1000));")
            b.add('const freshness = ageDays < 7 ? "new" : ageDays < 30 ? "recent" : "old";')
        elif r < 0.75:
            b.add(
                f'const label = "{words(t.singular)}".replace(/\\b\\w/g, (c) => c.toUpperCase());'
            )
        elif r < 0.85 and var:
            b.open(f"if ({var}.createdAt > Date.now()) {{")
            b.add(f'console.warn("{t.singular} has a createdAt in the future", {var}._id);')
            b.close()

    def items_source(
        self,
        m: Module,
        f: Fn,
        t: Table,
        b: Body,
        var: str,
        limit: int | None = None,
        allow_collect: bool = True,
    ) -> bool:
        """`const <var> = await ...` listing docs of t (bounded, or a benign parent-scoped collect)."""
        rng = self.rng
        fks = [k for k in t.child_fks() if t.leading(k)]
        if allow_collect and fks and rng.random() < 0.35:
            fk = rng.choice(fks)
            idx = rng.choice(t.leading(fk))
            s, e = b.chain(
                f"const {var} = await ",
                "ctx.db",
                [f'.query("{t.name}")', self.iq(m, f, t, idx, n_eq=1), ".collect()"],
            )
            b.plant(
                "unbounded-collect",
                "indexed_collect",
                e,
                s,
                e,
                benign=True,
                detail=f"{t.name} by {fk}",
            )
            return True
        idx = t.org_index(rng)
        if idx is None:
            if not fks:
                return False
            idx = rng.choice(t.leading(rng.choice(fks)))
        n = limit or rng.choice([20, 25, 50, 100])
        calls = [
            f'.query("{t.name}")',
            self.iq(m, f, t, idx, n_eq=1),
            '.order("desc")',
            f".take({n})",
        ]
        b.chain(f"const {var} = await ", "ctx.db", calls)
        return True

    # -- standard functions of a main module --------------------------------------------
    def _std_functions(self, m: Module) -> None:
        t = m.table
        assert t is not None
        m.need("convex/values", "v")
        # getById (internal)
        f = self.fn(m, "getById", "internalQuery")
        f.arg("id", f'v.id("{t.name}")')
        f.body.add("return await ctx.db.get(args.id);")
        m.add(f)
        # getManyByIds (internal, the correct batch shape)
        f = self.fn(m, "getManyByIds", "internalQuery")
        f.arg("ids", f'v.array(v.id("{t.name}"))')
        b = f.body
        s = b.add("const uniqueIds = [...new Set(args.ids)];")
        b.add("const docs = await Promise.all(uniqueIds.map((id) => ctx.db.get(id)));")
        e = b.add("return docs.filter((doc) => doc !== null);")
        b.plant(None, "batch_get_by_ids", s + 1, s, e)
        m.add(f)
        # listPage (internal, used by cursor loops in actions)
        idx = t.org_index(self.rng)
        if idx is not None or t.leading(next(iter(t.child_fks()), "")):
            f = self.fn(m, "listPage", "internalQuery")
            m.need("convex/values", "v")
            if idx is None:
                idx = t.live_indexes()[0]
            f.arg("cursor", "v.union(v.string(), v.null())")
            f.arg("numItems", "v.number()")
            calls = [
                f'.query("{t.name}")',
                self.iq(m, f, t, idx, n_eq=1),
                ".paginate({ cursor: args.cursor, numItems: args.numItems })",
            ]
            b = f.body
            b.chain("return await ", "ctx.db", calls)
            m.add(f)
        # patchStatus / patchManyStatus (internal mutations)
        if t.status:
            lits = ", ".join(f'v.literal("{x}")' for x in t.status)
            f = self.fn(m, "patchStatus", "internalMutation")
            f.arg("id", f'v.id("{t.name}")')
            f.arg("status", f"v.union({lits})")
            f.body.add(
                "await ctx.db.patch(args.id, { status: args.status, updatedAt: Date.now() });"
            )
            m.add(f)
            f = self.fn(m, "patchManyStatus", "internalMutation")
            f.arg("ids", f'v.array(v.id("{t.name}"))')
            f.arg("status", f"v.union({lits})")
            b = f.body
            b.add("const now = Date.now();")
            s = b.open("for (const id of args.ids) {")
            b.add("await ctx.db.patch(id, { status: args.status, updatedAt: now });")
            e = b.close()
            b.plant(None, "loop_writes", s, s, e)
            m.add(f)
        f = self.fn(m, "touch", "internalMutation")
        f.arg("id", f'v.id("{t.name}")')
        f.body.add("await ctx.db.patch(args.id, { updatedAt: Date.now() });")
        m.add(f)
        # sweepStale: a cron target; bounded read in _creationTime order, no index needed
        f = self.fn(m, "sweepStale", "internalMutation")
        b = f.body
        b.add("const cutoff = Date.now() - 90 * 24 * 60 * 60 * 1000;")
        s = b.add(f'const oldest = await ctx.db.query("{t.name}").order("asc").take(100);')
        b.plant(None, "bounded_scan_take", s)
        b.open("for (const doc of oldest) {")
        b.open("if (doc.updatedAt !== undefined && doc.updatedAt < cutoff) {")
        b.add("await ctx.db.patch(doc._id, { updatedAt: Date.now() });")
        b.close()
        b.close()
        m.add(f)
        # public get
        m.add(self.c_get(m, t))

    def api(self, m: Module, t: Table, fn_name: str, kind: str = "internal") -> str:
        m.need(m.rel("_generated/api"), kind)
        return f"{kind}.{t.module}.{fn_name}"

    # -- model module -------------------------------------------------------------------
    def _model_module(self, t: Table) -> None:
        rng = self.rng
        m = Module(f"convex/{t.model}.ts", "model", t, 0)
        m.need(m.rel("_generated/server"), "QueryCtx", True)
        m.need(m.rel("_generated/server"), "ActionCtx", True)
        m.need(m.rel("_generated/dataModel"), "Doc", True)
        m.need(m.rel("_generated/dataModel"), "Id", True)
        m.need("convex/values", "ConvexError")
        S, P, T = t.singular, cap(t.singular), t.name
        helpers: dict[str, str] = {}
        # getXOrThrow: db.get
        b = Body()
        b.add(f"const {S} = await ctx.db.get({S}Id);")
        b.open(f"if ({S} === null) {{")
        b.add(f'throw new ConvexError({{ code: "NOT_FOUND", message: "{words(S)} not found" }});')
        b.close()
        b.add(f"return {S};")
        name = f"get{P}OrThrow"
        m.add(
            Helper(
                f'export async function {name}(\n  ctx: QueryCtx,\n  {S}Id: Id<"{T}">,\n): Promise<Doc<"{T}">> {{',
                b,
                name,
            )
        )
        helpers["get_or_throw"] = name
        # resolveX: reads by index (via a parent key) or get
        fk = next((k for k in t.child_fks() if t.leading(k)), None)
        b = Body()
        name = f"resolve{P}"
        if fk is not None:
            idx = t.leading(fk)[0]
            self.use(t, idx)
            ft = t.fks[fk]
            b.open(f"if (ref.{S}Id !== undefined) {{")
            b.add(f"return await ctx.db.get(ref.{S}Id);")
            b.close()
            b.chain(
                "return await ",
                "ctx.db",
                [
                    f'.query("{T}")',
                    f'.withIndex("{idx.name}", (q) => q.eq("{fk}", ref.{fk}))',
                    ".first()",
                ],
            )
            hdr = (
                f"export async function {name}(\n  ctx: QueryCtx,\n"
                f'  ref: {{ {S}Id?: Id<"{T}">; {fk}: Id<"{ft}"> }},\n): Promise<Doc<"{T}"> | null> {{'
            )
        else:
            b.add(f"return await ctx.db.get(ref.{S}Id);")
            hdr = f'export async function {name}(\n  ctx: QueryCtx,\n  ref: {{ {S}Id: Id<"{T}"> }},\n): Promise<Doc<"{T}"> | null> {{'
        m.add(Helper(hdr, b, name))
        helpers["resolve"] = name
        helpers["resolve_fk"] = fk or ""
        # loadChildren-ish: collect via a child table index pointing at t
        # formatX: pure
        b = Body()
        props = self.dto(t, S)
        self.emit_obj(b, "return ", props)
        name = f"format{P}"
        m.add(Helper(f'export function {name}({S}: Doc<"{T}">) {{', b, name))
        helpers["format"] = name
        # isXVisible: pure
        b = Body()
        if t.status:
            b.add(f'return {S}.status !== "{t.status[-1]}" && {S}.createdAt <= now;')
        else:
            b.add(f"return {S}.createdAt <= now;")
        name = f"is{P}Visible"
        m.add(Helper(f'export function {name}({S}: Doc<"{T}">, now: number): boolean {{', b, name))
        helpers["pure_pred"] = name
        # fetchXViaQuery: action helper calling ctx.runQuery
        m.need(m.rel("_generated/api"), "internal")
        b = Body()
        b.add(f"return await ctx.runQuery(internal.{t.module}.getById, {{ id: {S}Id }});")
        name = f"fetch{P}ForAction"
        m.add(Helper(f'export async function {name}(ctx: ActionCtx, {S}Id: Id<"{T}">) {{', b, name))
        helpers["action_fetch"] = name
        # a sorter + label helpers (pure, adds bulk)
        b = Body()
        b.add(f"return [...{T}].sort((a, b) => b.createdAt - a.createdAt);")
        name = f"sort{cap(T)}ByNewest"
        m.add(Helper(f'export function {name}({T}: Doc<"{T}">[]): Doc<"{T}">[] {{', b, name))
        if rng.random() < 0.6:
            b = Body()
            b.add(f"const base = {S}.{t.label}.trim();")
            b.add("return base.length > 48 ? `${base.slice(0, 45)}...` : base;")
            name = f"{S}Title"
            m.add(Helper(f'export function {name}({S}: Doc<"{T}">): string {{', b, name))
        self.model_helpers[T] = helpers
        self.modules.append(m)

    def helper(self, m: Module, t: Table, kind: str) -> str | None:
        h = self.model_helpers.get(t.name)
        if not h or not h.get(kind):
            return None
        m.need(m.rel(t.model or ""), h[kind])
        return h[kind]

    # ==================================================================================
    # Clean templates (return None when not applicable to the table)
    # ==================================================================================
    def c_get(self, m: Module, t: Table) -> Fn:
        rng = self.rng
        authed = rng.random() < 0.3
        f = self.fn(m, f"get{cap(t.singular)}", "authedQuery" if authed else "query")
        m.need("convex/values", "v")
        S = t.singular
        idv = f.arg(f"{S}Id", f'v.id("{t.name}")')
        b = f.body
        if not authed and rng.random() < 0.5:
            self.auth(m, f, b)
        b.add(f"const {S} = await ctx.db.get({idv});")
        b.open(f"if ({S} === null) {{")
        b.add("return null;")
        b.close()
        if t.org and rng.random() < 0.5:
            m.need("convex/values", "ConvexError")
            org_expr = f.arg("orgId", 'v.id("organizations")')
            b.open(f"if ({S}.orgId !== {org_expr}) {{")
            b.add('throw new ConvexError({ code: "FORBIDDEN", message: "wrong organization" });')
            b.close()
        self.filler(m, f, t, b, S)
        self.emit_obj(b, "return ", self.dto(t, S))
        return f

    def c_list_take(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        idx = t.org_index(rng) if rng.random() < 0.6 else None
        if idx is None:
            fks = [k for k in t.child_fks() if t.leading(k)]
            if not fks:
                idx = t.org_index(rng)
                if idx is None:
                    return None
            else:
                idx = rng.choice(t.leading(rng.choice(fks)))
        by = cap(idx.fields[0].replace("Id", "")) if idx.fields[0] != "orgId" else "Org"
        builder = rng.choice(["query", "query", "authedQuery", "internalQuery"])
        f = self.fn(m, f"list{cap(t.name)}By{by}", builder)
        b = f.body
        if builder == "query" and rng.random() < 0.4:
            self.auth(m, f, b)
        n = rng.choice([10, 20, 20, 25, 50, 100])
        self.filler(m, f, t, b)
        calls = [f'.query("{t.name}")', self.iq(m, f, t, idx), '.order("desc")', f".take({n})"]
        s, e = b.chain(f"const {t.name} = await ", "ctx.db", calls)
        b.plant(None, "take_small", e, s, e)
        fmt = self.helper(m, t, "format") if rng.random() < 0.5 else None
        if fmt:
            s = b.add(f"return {t.name}.map({fmt});")
            b.plant(None, "pure_helper_per_item", s)
        else:
            b.open(f"return {t.name}.map(({t.singular}) => ({{")
            for p in self.dto(t, t.singular):
                b.add(p)
            b.close("}));")
        return f

    def c_first_unique(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        cands = [i for i in t.live_indexes() if i.fields[-1] not in ("createdAt",)]
        if not cands:
            return None
        idx = rng.choice(cands)
        uniq = (
            len(idx.fields) == 1
            and idx.fields[0] in ("externalId", "slug", "email", "tokenIdentifier")
        ) or idx.fields == ["orgId", "alias"]
        f = self.fn(
            m,
            f"find{cap(t.singular)}By{cap(idx.fields[-1].replace('Id', ''))}",
            rng.choice(["query", "internalQuery"]),
        )
        b = f.body
        term = ".unique()" if uniq else ".first()"
        s, e = b.chain(
            f"const {t.singular} = await ",
            "ctx.db",
            [f'.query("{t.name}")', self.iq(m, f, t, idx, rng_field=False), term],
        )
        b.plant(None, "unique" if uniq else "first", e, s, e)
        b.open(f"if (!{t.singular}) {{")
        b.add("return null;")
        b.close()
        self.filler(m, f, t, b, t.singular)
        self.emit_obj(b, "return ", self.dto(t, t.singular))
        return f

    def c_paginate(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        idx = t.org_index(rng)
        if idx is None:
            return None
        m.need("convex/server", "paginationOptsValidator")
        f = self.fn(m, f"list{cap(t.name)}Page", rng.choice(["query", "authedQuery"]))
        f.arg("paginationOpts", "paginationOptsValidator")
        b = f.body
        calls = [
            f'.query("{t.name}")',
            self.iq(m, f, t, idx, n_eq=min(len(idx.fields), rng.choice([1, 2]))),
            '.order("desc")',
            ".paginate(args.paginationOpts)",
        ]
        s, e = b.chain("const result = await ", "ctx.db", calls)
        b.plant(None, "paginate_opts", e, s, e)
        b.open("return {")
        b.add("...result,")
        b.open(f"page: result.page.map(({t.singular}) => ({{")
        for p in self.dto(t, t.singular):
            b.add(p)
        b.close("})),")
        b.close("};")
        return f

    def _insert_props(self, m: Module, f: Fn, t: Table, skip: tuple[str, ...] = ()) -> list[str]:
        props = []
        for fl in t.fields:
            if fl.name in skip:
                continue
            if fl.name == "createdAt":
                props.append("createdAt: Date.now(),")
            elif fl.optional or fl.name == "updatedAt":
                continue
            elif fl.kind == "enum":
                props.append(f'{fl.name}: "{fl.literals[0]}",')
            elif fl.kind == "boolean":
                props.append(f"{fl.name}: false,")
            elif fl.kind == "number" and fl.name not in (
                "amountCents",
                "goalsFor",
                "goalsAgainst",
                "startsAt",
            ):
                props.append(f"{fl.name}: 0,")
            elif fl.kind in ("id", "string", "number", "storage"):
                m.need("convex/values", "v")
                props.append(f"{fl.name}: {f.arg(fl.name, arg_validator(fl))},")
            elif fl.kind in ("string_array", "id_array"):
                props.append(f"{fl.name}: [],")
            else:
                m.need("convex/values", "v")
                props.append(f"{fl.name}: {f.arg(fl.name, 'v.any()')},")
        return props

    def c_create(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        builder = rng.choice(["mutation", "mutation", "authedMutation", "internalMutation"])
        f = self.fn(m, f"create{cap(t.singular)}", builder)
        b = f.body
        if builder == "mutation":
            self.auth(m, f, b)
        uniq = [
            i
            for i in t.live_indexes()
            if i.fields in (["externalId"], ["slug"], ["email"], ["orgId", "alias"])
        ]
        props = self._insert_props(m, f, t)
        if uniq and rng.random() < 0.8:
            idx = uniq[0]
            values = {}
            for fl in idx.fields:
                m.need("convex/values", "v")
                values[fl] = (
                    f.arg(fl, "v.string()")
                    if fl != "orgId"
                    else f.arg("orgId", 'v.id("organizations")')
                )
            s, e = b.chain(
                "const existing = await ",
                "ctx.db",
                [f'.query("{t.name}")', self.iq(m, f, t, idx, values=values), ".unique()"],
            )
            b.plant(None, "unique", e, s, e)
            b.open("if (existing !== null) {")
            b.add("return existing._id;")
            b.close()
        self.filler(m, f, t, b)
        self.emit_obj(b, f'const {t.singular}Id = await ctx.db.insert("{t.name}", ', props, ");")
        if rng.random() < 0.25 and self.main_tables:
            s = b.add(
                f"await ctx.scheduler.runAfter(0, {self.api(m, t, 'touch')}, {{ id: {t.singular}Id }});"
            )
            b.plant(None, "schedule_once", s)
        b.add(f"return {t.singular}Id;")
        return f

    def c_update(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        builder = rng.choice(["mutation", "authedMutation", "internalMutation"])
        f = self.fn(m, f"update{cap(t.singular)}", builder)
        m.need("convex/values", "v")
        S = t.singular
        idv = f.arg(f"{S}Id", f'v.id("{t.name}")')
        b = f.body
        if builder == "mutation":
            self.auth(m, f, b)
        getter = self.helper(m, t, "get_or_throw") if rng.random() < 0.5 else None
        if getter:
            s = b.add(f"const {S} = await {getter}(ctx, {idv});")
            b.plant(None, "helper_once", s)
        else:
            m.need("convex/values", "ConvexError")
            b.add(f"const {S} = await ctx.db.get({idv});")
            b.open(f"if ({S} === null) {{")
            b.add(f'throw new ConvexError("{words(S)} not found");')
            b.close()
        patch = []
        lab = f.arg(t.label, "v.optional(v.string())")
        patch.append(f"{t.label}: {lab} ?? {S}.{t.label},")
        if t.status:
            lits = ", ".join(f'v.literal("{x}")' for x in t.status)
            st = f.arg("status", f"v.optional(v.union({lits}))")
            patch.append(f"status: {st} ?? {S}.status,")
        patch.append("updatedAt: Date.now(),")
        self.filler(m, f, t, b, S)
        self.emit_obj(b, f"await ctx.db.patch({S}._id, ", patch, ");")
        b.add(f"return {S}._id;")
        return f

    def c_remove(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        children = self.children_of(t)
        f = self.fn(
            m,
            f"remove{cap(t.singular)}",
            rng.choice(["mutation", "authedMutation", "internalMutation"]),
        )
        m.need("convex/values", "v")
        S = t.singular
        idv = f.arg(f"{S}Id", f'v.id("{t.name}")')
        b = f.body
        if f.builder == "mutation":
            self.auth(m, f, b)
        b.add(f"const {S} = await ctx.db.get({idv});")
        b.open(f"if ({S} === null) {{")
        b.add("return false;")
        b.close()
        if children and rng.random() < 0.8:
            ct, fk, idx = rng.choice(children)
            var = ct.name if ct.name != t.name else "children"
            s, e = b.chain(
                f"const {var} = await ",
                "ctx.db",
                [
                    f'.query("{ct.name}")',
                    self.iq(m, f, ct, idx, n_eq=1, values={fk: f"{S}._id"}),
                    ".collect()",
                ],
            )
            b.plant(
                "unbounded-collect",
                "indexed_collect",
                e,
                s,
                e,
                benign=True,
                detail=f"{ct.name} by {fk}",
            )
            s = b.open(f"for (const child of {var}) {{")
            b.add("await ctx.db.delete(child._id);")
            e = b.close()
            b.plant(None, "loop_writes", s, s, e)
        b.add(f"await ctx.db.delete({S}._id);")
        b.add("return true;")
        return f

    def children_of(self, t: Table) -> list[tuple[Table, str, Index]]:
        out = []
        for ct in self.main_tables:
            for fk, target in ct.fks.items():
                if target == t.name and fk != "orgId":
                    for idx in ct.leading(fk):
                        out.append((ct, fk, idx))
        return out

    def c_batch_enrich(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        fks = t.child_fks()
        if not fks:
            return None
        fk = rng.choice(fks)
        target = self.by_name[t.fks[fk]]
        f = self.fn(
            m, f"list{cap(t.name)}With{cap(target.name)}", rng.choice(["query", "authedQuery"])
        )
        b = f.body
        if not self.items_source(m, f, t, b, t.name, allow_collect=False):
            return None
        tv = target.name
        s = b.add(f"const {fk}s = [...new Set({t.name}.map((row) => row.{fk}))];")
        if t.f(fk) and t.f(fk).optional:
            b.lines[s] = b.lines[s].replace(
                f"row.{fk}))]", f"row.{fk}).filter((id) => id !== undefined))]"
            )
        b.add(f"const {tv} = await Promise.all({fk}s.map((id) => ctx.db.get(id)));")
        b.add(f"const {target.singular}ById = new Map(")
        b.add(f"  {tv}.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),")
        b.add(");")
        b.open(f"return {t.name}.map((row) => ({{")
        b.add("...row,")
        if t.f(fk) and t.f(fk).optional:
            b.add(
                f"{target.singular}: row.{fk} ? ({target.singular}ById.get(row.{fk}) ?? null) : null,"
            )
        else:
            b.add(f"{target.singular}: {target.singular}ById.get(row.{fk}) ?? null,")
        e = b.close("}));")
        b.plant(None, "batch_fetch", s + 1, s, e)
        return f

    def c_small_literal_loop(self, m: Module, t: Table) -> Fn | None:
        idx = next((i for i in t.live_indexes() if i.fields[:2] == ["orgId", "status"]), None)
        if idx is None or not t.status:
            return None
        f = self.fn(m, f"count{cap(t.name)}ByStatus", "query")
        m.need("convex/values", "v")
        b = f.body
        org = f.arg("orgId", 'v.id("organizations")')
        self.use(t, idx)
        b.add("const counts: Record<string, number> = {};")
        lits = ", ".join(f'"{x}"' for x in t.status)
        s = b.open(f"for (const status of [{lits}] as const) {{")
        b.chain(
            "const rows = await ",
            "ctx.db",
            [
                f'.query("{t.name}")',
                f'.withIndex("{idx.name}", (q) => q.eq("orgId", {org}).eq("status", status))',
                ".take(101)",
            ],
        )
        b.add("counts[status] = rows.length > 100 ? 100 : rows.length;")
        e = b.close()
        b.plant(None, "small_literal_loop", s, s, e)
        b.add("return counts;")
        return f

    def c_indexed_collect(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        fks = [k for k in t.child_fks() if t.leading(k)]
        if not fks:
            return None
        fk = rng.choice(fks)
        idx = rng.choice(t.leading(fk))
        f = self.fn(
            m,
            f"list{cap(t.name)}For{cap(fk.replace('Id', ''))}",
            rng.choice(["query", "internalQuery", "authedQuery"]),
        )
        b = f.body
        s, e = b.chain(
            f"const {t.name} = await ",
            "ctx.db",
            [f'.query("{t.name}")', self.iq(m, f, t, idx, n_eq=1), ".collect()"],
        )
        b.plant(
            "unbounded-collect", "indexed_collect", e, s, e, benign=True, detail=f"{t.name} by {fk}"
        )
        b.add(
            f"return {t.name}.map(({t.singular}) => ({{ ...{t.singular}, ageMs: Date.now() - {t.singular}.createdAt }}));"
        )
        return f

    def c_bulk_insert(self, m: Module, t: Table) -> Fn | None:
        f = self.fn(m, f"import{cap(t.name)}", "internalMutation")
        m.need("convex/values", "v")
        props = self._insert_props(m, Fn("tmp", "x"), t)
        f.arg("orgId", 'v.id("organizations")') if t.org else None
        f.arg("items", f"v.array(v.object({{ {t.label}: v.string() }}))")
        b = f.body
        b.add(f'const ids: Id<"{t.name}">[] = [];')
        m.need(m.rel("_generated/dataModel"), "Id", True)
        s = b.open("for (const item of args.items) {")
        ins = []
        for p in props:
            key = p.split(":", 1)[0]
            if key == t.label:
                ins.append(f"{key}: item.{t.label},")
            elif key == "orgId":
                ins.append("orgId: args.orgId,")
            elif "args." in p:
                ins.append(f"{key}: {self._default_expr(t.f(key))},")
            else:
                ins.append(p)
        self.emit_obj(b, f'const id = await ctx.db.insert("{t.name}", ', ins, ");")
        b.add("ids.push(id);")
        e = b.close()
        b.plant(None, "loop_writes", s, s, e)
        b.add("return ids;")
        return f

    def _default_expr(self, fl: Field | None) -> str:
        if fl is None:
            return '""'
        if fl.kind == "id":
            return f'"" as Id<"{fl.target}">'
        if fl.kind == "storage":
            return '"" as Id<"_storage">'
        if fl.kind == "number":
            return "0"
        return '""'

    def c_search(self, m: Module, t: Table) -> Fn | None:
        if not t.search:
            return None
        name, sf, _filt, _ = t.search[0]
        f = self.fn(m, f"search{cap(t.name)}", "query")
        m.need("convex/values", "v")
        org = f.arg("orgId", 'v.id("organizations")')
        qv = f.arg("query", "v.string()")
        b = f.body
        b.open(f"if ({qv}.trim().length < 2) {{")
        b.add("return [];")
        b.close()
        s, e = b.chain(
            "const results = await ",
            "ctx.db",
            [
                f'.query("{t.name}")',
                f'.withSearchIndex("{name}", (q) => q.search("{sf}", {qv}).eq("orgId", {org}))',
                ".take(20)",
            ],
        )
        b.plant(None, "take_small", e, s, e)
        b.add("return results;")
        return f

    def c_internal_get(self, m: Module, t: Table) -> Fn | None:
        f = self.fn(m, f"load{cap(t.singular)}", "internalQuery")
        m.need("convex/values", "v")
        idv = f.arg("id", f'v.id("{t.name}")')
        b = f.body
        b.add(f"const doc = await ctx.db.get({idv});")
        b.add("return doc === null ? null : { ...doc, loadedAt: Date.now() };")
        return f

    def c_range_query(self, m: Module, t: Table) -> Fn | None:
        idx = next(
            (
                i
                for i in t.live_indexes()
                if i.fields[0] == "orgId" and i.fields[-1] in ("createdAt", "dueAt")
            ),
            None,
        )
        if idx is None:
            return None
        f = self.fn(m, f"recent{cap(t.name)}", self.rng.choice(["query", "authedQuery"]))
        b = f.body
        n = self.rng.choice([25, 50, 100])
        s, e = b.chain(
            f"const {t.name} = await ",
            "ctx.db",
            [f'.query("{t.name}")', self.iq(m, f, t, idx), '.order("desc")', f".take({n})"],
        )
        b.plant(None, "take_small", e, s, e)
        b.add(f"return {{ items: {t.name}, hasMore: {t.name}.length === {n} }};")
        return f

    def c_helper_once(self, m: Module, t: Table) -> Fn | None:
        getter = self.helper(m, t, "get_or_throw")
        if not getter:
            return None
        f = self.fn(m, f"describe{cap(t.singular)}", "query")
        m.need("convex/values", "v")
        S = t.singular
        idv = f.arg(f"{S}Id", f'v.id("{t.name}")')
        b = f.body
        s = b.add(f"const {S} = await {getter}(ctx, {idv});")
        b.plant(None, "helper_once", s)
        fmt = self.helper(m, t, "format")
        b.add(f"return {{ ...{fmt}({S}), describedAt: Date.now() }};")
        return f

    def c_pure_helper_per_item(self, m: Module, t: Table) -> Fn | None:
        pred = self.helper(m, t, "pure_pred")
        fmt = self.helper(m, t, "format")
        if not pred or not fmt:
            return None
        f = self.fn(m, f"visible{cap(t.name)}", "query")
        b = f.body
        if not self.items_source(m, f, t, b, t.name, allow_collect=False):
            return None
        b.add("const now = Date.now();")
        b.add("const out = [];")
        s = b.open(f"for (const {t.singular} of {t.name}) {{")
        b.open(f"if ({pred}({t.singular}, now)) {{")
        b.add(f"out.push({fmt}({t.singular}));")
        b.close()
        e = b.close()
        b.plant(None, "pure_helper_per_item", s, s, e)
        b.add("return out;")
        return f

    def c_schedule_once(self, m: Module, t: Table) -> Fn | None:
        if not t.status:
            return None
        f = self.fn(
            m, f"request{cap(t.singular)}Review", self.rng.choice(["mutation", "authedMutation"])
        )
        m.need("convex/values", "v")
        idv = f.arg("id", f'v.id("{t.name}")')
        b = f.body
        b.add(f'await ctx.db.patch({idv}, {{ status: "{t.status[1]}", updatedAt: Date.now() }});')
        s = b.add(f"await ctx.scheduler.runAfter(0, {self.api(m, t, 'touch')}, {{ id: {idv} }});")
        b.plant(None, "schedule_once", s)
        b.add("return null;")
        return f

    def c_sched_parallel(self, m: Module, t: Table) -> Fn | None:
        if not t.status:
            return None
        f = self.fn(m, f"queue{cap(t.name)}Refresh", "internalMutation")
        m.need("convex/values", "v")
        ids = f.arg("ids", f'v.array(v.id("{t.name}"))')
        b = f.body
        s = b.open("await Promise.all(")
        b.add(f"{ids}.map((id) =>")
        b.add(
            f'  ctx.scheduler.runAfter(0, {self.api(m, t, "patchStatus")}, {{ id, status: "{t.status[0]}" }}),'
        )
        b.add("),")
        e = b.close(");")
        b.plant(None, "scheduling_in_parallel", s, s, e)
        return f

    def c_better_auth_ok(self, m: Module, t: Table) -> Fn | None:
        f = self.fn(m, "getAuthUserProfile", "query")
        m.need("convex/values", "v")
        m.need(m.rel("_generated/api"), "components")
        uid = f.arg("authUserId", "v.string()")
        b = f.body
        field_ = self.rng.choice(["_id", "_id", "email"])
        s = b.open("const authUser = await ctx.runQuery(components.betterAuth.adapter.findOne, {")
        b.add('model: "user",')
        b.add(f'where: [{{ field: "{field_}", value: {uid} }}],')
        e = b.close("});")
        b.plant(None, "better_auth_correct_field", s + 2, s, e)
        b.add("return authUser ?? null;")
        return f

    def c_page_mutation(self, m: Module, t: Table) -> Fn | None:
        idx = t.org_index(self.rng)
        if idx is None:
            return None
        f = self.fn(m, f"backfill{cap(t.name)}", "internalMutation")
        m.need("convex/values", "v")
        cur = f.arg("cursor", "v.union(v.string(), v.null())")
        b = f.body
        s, _ = b.chain(
            "const result = await ",
            "ctx.db",
            [
                f'.query("{t.name}")',
                self.iq(m, f, t, idx, n_eq=1),
                f".paginate({{ cursor: {cur}, numItems: 200 }})",
            ],
        )
        b.open("for (const doc of result.page) {")
        b.open("if (doc.updatedAt === undefined) {")
        b.add("await ctx.db.patch(doc._id, { updatedAt: doc.createdAt });")
        b.close()
        b.close()
        b.open("if (!result.isDone) {")
        b.add(f"await ctx.scheduler.runAfter(0, internal.{m.api_path}.{f.name}, {{")
        m.need(m.rel("_generated/api"), "internal")
        b.add("  orgId: args.orgId,")
        b.add("  cursor: result.continueCursor,")
        b.add("});")
        e = b.close()
        b.plant(None, "paginate_one_page_per_mutation", s, s, e)
        return f

    def c_stats_pure(self, m: Module, t: Table) -> Fn | None:
        if not t.status:
            return None
        f = self.fn(m, f"summarize{cap(t.name)}", self.rng.choice(["query", "authedQuery"]))
        b = f.body
        if not self.items_source(m, f, t, b, t.name):
            return None
        b.add("const byStatus = new Map<string, number>();")
        s = b.open(f"for (const {t.singular} of {t.name}) {{")
        b.add(f"byStatus.set({t.singular}.status, (byStatus.get({t.singular}.status) ?? 0) + 1);")
        e = b.close()
        b.plant(None, "loop_no_db", s, s, e)
        b.add(f"const newest = {t.name}.reduce((max, row) => Math.max(max, row.createdAt), 0);")
        b.add(
            f"return {{ total: {t.name}.length, newest, byStatus: Object.fromEntries(byStatus) }};"
        )
        return f

    # -- clean actions -------------------------------------------------------------------
    def _fetch_call(
        self, b: Body, url: str, timeout: bool, method: str = "POST", body_expr: str = "payload"
    ) -> tuple[int, int]:
        s = b.open(f'const response = await fetch("{url}", {{')
        b.add(f'method: "{method}",')
        b.open("headers: {")
        b.add('"Content-Type": "application/json",')
        b.add("Authorization: `Bearer ${apiKey}`,")
        b.close("},")
        if method != "GET":
            b.add(f"body: JSON.stringify({body_expr}),")
        if timeout:
            b.add(
                f"signal: AbortSignal.timeout({self.rng.choice(['10_000', '15_000', '30_000', '5000'])}),"
            )
        e = b.close("});")
        return s, e

    def _api_key(self, b: Body) -> None:
        b.add(
            f'const apiKey = process.env.{self.rng.choice(["TRANSCRIBE_API_KEY", "OPENAI_API_KEY", "SENDGRID_KEY", "STRIPE_SECRET", "CRM_TOKEN"])} ?? "";'
        )

    URLS = [
        "https://api.transcribe.example.com/v1/jobs",
        "https://api.crm.example.com/v2/contacts",
        "https://hooks.example.com/club-sync",
        "https://api.sms.example.com/messages",
        "https://api.payments.example.com/v1/charges",
        "https://maps.example.com/geocode",
    ]

    def c_action_fetch_timeout(self, m: Module, t: Table) -> Fn | None:
        f = self.fn(m, f"sync{cap(t.singular)}ToCrm", self.rng.choice(["action", "internalAction"]))
        m.need("convex/values", "v")
        idv = f.arg("id", f'v.id("{t.name}")')
        b = f.body
        b.add(f"const doc = await ctx.runQuery({self.api(m, t, 'getById')}, {{ id: {idv} }});")
        b.open("if (doc === null) {")
        b.add("return null;")
        b.close()
        self._api_key(b)
        b.add(f"const payload = {{ id: doc._id, label: doc.{t.label}, createdAt: doc.createdAt }};")
        s, e = self._fetch_call(b, self.rng.choice(self.URLS), True)
        b.plant(None, "fetch_with_timeout", s, s, e)
        b.open("if (!response.ok) {")
        b.add("throw new Error(`CRM sync failed: ${response.status}`);")
        b.close()
        b.add("const data = (await response.json()) as { remoteId?: string };")
        b.add("return data.remoteId ?? null;")
        return f

    def c_action_single(self, m: Module, t: Table) -> Fn | None:
        f = self.fn(m, f"refresh{cap(t.singular)}", "internalAction")
        m.need("convex/values", "v")
        idv = f.arg("id", f'v.id("{t.name}")')
        b = f.body
        b.add(f"const doc = await ctx.runQuery({self.api(m, t, 'getById')}, {{ id: {idv} }});")
        b.open("if (doc === null) {")
        b.add("return;")
        b.close()
        b.add(f"await ctx.runMutation({self.api(m, t, 'touch')}, {{ id: doc._id }});")
        return f

    def c_action_batched_calls(self, m: Module, t: Table) -> Fn | None:
        if not t.status:
            return None
        f = self.fn(m, f"apply{cap(t.name)}Batch", self.rng.choice(["action", "internalAction"]))
        m.need("convex/values", "v")
        ids = f.arg("ids", f'v.array(v.id("{t.name}"))')
        b = f.body
        m.need(m.rel("_generated/dataModel"), "Doc", True)
        s = b.add(
            f'const docs: Doc<"{t.name}">[] = await ctx.runQuery({self.api(m, t, "getManyByIds")}, {{ ids: {ids} }});'
        )
        b.add(f'const pending = docs.filter((doc) => doc.status === "{t.status[0]}");')
        b.open("if (pending.length === 0) {")
        b.add("return 0;")
        b.close()
        b.add(f"await ctx.runMutation({self.api(m, t, 'patchManyStatus')}, {{")
        b.add("  ids: pending.map((doc) => doc._id),")
        b.add(f'  status: "{t.status[1]}",')
        e = b.add("});")
        b.plant(None, "batched_function_calls", s, s, e)
        b.add("return pending.length;")
        return f

    def c_action_cursor_loop(self, m: Module, t: Table) -> Fn | None:
        if t.org_index(self.rng) is None:
            return None
        f = self.fn(m, f"reindex{cap(t.name)}", "internalAction")
        m.need("convex/values", "v")
        f.arg("orgId", 'v.id("organizations")')
        b = f.body
        b.add("let cursor: string | null = null;")
        b.add("let processed = 0;")
        s = b.open("while (true) {")
        b.add(
            "const result: { page: Array<{ _id: string }>; isDone: boolean; continueCursor: string } ="
        )
        b.add(f"  await ctx.runQuery({self.api(m, t, 'listPage')}, {{")
        b.add("    orgId: args.orgId,")
        b.add("    cursor,")
        b.add("    numItems: 100,")
        b.add("  });")
        b.add("processed += result.page.length;")
        b.open("if (result.isDone) {")
        b.add("break;")
        b.close()
        b.add("cursor = result.continueCursor;")
        e = b.close()
        b.plant(None, "cursor_loop", s, s, e)
        b.add("return processed;")
        return f

    def c_vector_search(self, m: Module, t: Table) -> Fn | None:
        if not t.vector:
            cands = [x for x in self.main_tables if x.vector]
            if not cands:
                return None
            t = self.rng.choice(cands)
        f = self.fn(m, f"similar{cap(t.name)}", "action")
        m.need("convex/values", "v")
        f.arg("orgId", 'v.id("organizations")')
        f.arg("embedding", "v.array(v.float64())")
        b = f.body
        b.add(f'const results = await ctx.vectorSearch("{t.name}", "{t.vector[0][0]}", {{')
        b.add("  vector: args.embedding,")
        b.add("  limit: 16,")
        b.add('  filter: (q) => q.eq("orgId", args.orgId),')
        b.add("});")
        m.need(m.rel("_generated/dataModel"), "Doc", True)
        s = b.add(
            f'const docs: Doc<"{t.name}">[] = await ctx.runQuery({self.api(m, t, "getManyByIds")}, {{'
        )
        b.add("  ids: results.map((r) => r._id),")
        e = b.add("});")
        b.plant(None, "batched_function_calls", s, s, e)
        b.add("return docs.map((doc) => ({ id: doc._id, createdAt: doc.createdAt }));")
        return f

    # ==================================================================================
    # Anti-pattern templates
    # ==================================================================================
    def a_for_of_get(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        fks = t.child_fks()
        if not fks:
            return None
        f = self.fn(m, f"list{cap(t.name)}Detailed", rng.choice(["query", "authedQuery"]))
        b = f.body
        if not self.items_source(m, f, t, b, t.name):
            return None
        picks = fks[: rng.choice([1, 2, 2, 3])]
        b.add("const rows = [];")
        s = b.open(f"for (const {t.singular} of {t.name}) {{")
        first = None
        for fk in picks:
            target = self.by_name[t.fks[fk]]
            nm = target.singular if target.singular != t.singular else "parent"
            opt = t.f(fk) is not None and t.f(fk).optional
            expr = (
                f"{t.singular}.{fk} ? await ctx.db.get({t.singular}.{fk}) : null"
                if opt
                else f"await ctx.db.get({t.singular}.{fk})"
            )
            ln = b.add(f"const {nm} = {expr};")
            first = ln if first is None else first
        props = [f"...{t.singular},"] + [
            f"{(self.by_name[t.fks[fk]].singular if self.by_name[t.fks[fk]].singular != t.singular else 'parent')},"
            for fk in picks
        ]
        self.emit_obj(b, "rows.push(", props, ");")
        e = b.close()
        b.plant(
            "n-plus-one-read", "for_of_get", first, s, e, detail=f"{len(picks)} db.get per item"
        )
        b.add("return rows;")
        return f

    def a_promise_all_map_get(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        fks = [k for k in t.child_fks() if not (t.f(k) and t.f(k).optional)]
        if not fks:
            return None
        fk = rng.choice(fks)
        target = self.by_name[t.fks[fk]]
        nm = target.singular if target.singular != t.singular else "parent"
        f = self.fn(
            m,
            f"list{cap(t.name)}With{cap(nm)}",
            rng.choice(["query", "authedQuery", "internalQuery"]),
        )
        b = f.body
        if not self.items_source(m, f, t, b, t.name):
            return None
        s = b.open("return await Promise.all(")
        b.add(f"{t.name}.map(async ({t.singular}) => ({{")
        b.add(f"  ...{t.singular},")
        a = b.add(f"  {nm}: await ctx.db.get({t.singular}.{fk}),")
        b.add("})),")
        e = b.close(");")
        b.plant("n-plus-one-read", "promise_all_map_get", a, s, e)
        return f

    def _child_pick(self, t: Table, want_multi: bool = False) -> tuple[Table, str, Index] | None:
        ch = [c for c in self.children_of(t) if c[0].name != t.name]
        if not ch:
            return None
        return self.rng.choice(ch)

    def a_per_item_index_first(self, m: Module, t: Table) -> Fn | None:
        pick = self._child_pick(t)
        if pick is None:
            return None
        ct, fk, idx = pick
        f = self.fn(
            m,
            f"list{cap(t.name)}WithLatest{cap(ct.singular)}",
            self.rng.choice(["query", "authedQuery"]),
        )
        b = f.body
        if not self.items_source(m, f, t, b, t.name):
            return None
        b.add("const result = [];")
        s = b.open(f"for (const {t.singular} of {t.name}) {{")
        a, _ = b.chain(
            f"const latest{cap(ct.singular)} = await ",
            "ctx.db",
            [
                f'.query("{ct.name}")',
                self.iq(m, f, ct, idx, n_eq=1, values={fk: f"{t.singular}._id"}),
                '.order("desc")',
                ".first()",
            ],
        )
        b.add(f"result.push({{ ...{t.singular}, latest{cap(ct.singular)} }});")
        e = b.close()
        b.plant("n-plus-one-read", "per_item_index_first", a, s, e)
        b.add("return result;")
        return f

    def a_per_item_index_collect(self, m: Module, t: Table) -> Fn | None:
        pick = self._child_pick(t)
        if pick is None:
            return None
        ct, fk, idx = pick
        f = self.fn(
            m,
            f"list{cap(t.name)}With{cap(ct.name)}Count",
            self.rng.choice(["query", "authedQuery"]),
        )
        b = f.body
        if not self.items_source(m, f, t, b, t.name):
            return None
        s = b.open("return await Promise.all(")
        b.open(f"{t.name}.map(async ({t.singular}) => {{")
        a, e2 = b.chain(
            f"const {ct.name} = await ",
            "ctx.db",
            [
                f'.query("{ct.name}")',
                self.iq(m, f, ct, idx, n_eq=1, values={fk: f"{t.singular}._id"}),
                ".collect()",
            ],
        )
        b.add(f"return {{ ...{t.singular}, {ct.singular}Count: {ct.name}.length }};")
        b.close("}),")
        e = b.close(");")
        b.plant("n-plus-one-read", "per_item_index_collect", a, s, e)
        b.plant("unbounded-collect", "in_loop_counted_collect", e2, a, e2)
        return f

    def a_four_reads_per_item(self, m: Module, t: Table) -> Fn | None:
        # enrollments -> player profile, injuries, contacts, allergies (the audit's shape)
        need = [
            "enrollments",
            "players",
            "playerProfiles",
            "injuries",
            "emergencyContacts",
            "allergies",
        ]
        if not all(n in self.by_name for n in need):
            return None
        en = self.by_name["enrollments"]
        reads = [(self.by_name[n], "playerId") for n in need[2:]]
        if any(not tt.leading("playerId") for tt, _ in reads):
            return None
        f = self.fn(m, "getTeamMedicalSheet", self.rng.choice(["query", "authedQuery"]))
        m.need("convex/values", "v")
        team = f.arg("teamId", 'v.id("teams")')
        b = f.body
        eidx = en.leading("teamId")
        if not eidx:
            return None
        b.chain(
            "const enrollments = await ",
            "ctx.db",
            [
                '.query("enrollments")',
                self.iq(m, f, en, eidx[0], n_eq=1, values={"teamId": team}),
                ".take(60)",
            ],
        )
        b.add("const sheet = [];")
        s = b.open("for (const enrollment of enrollments) {")
        anchor = b.add("const player = await ctx.db.get(enrollment.playerId);")
        for tt, fk in reads:
            idx = tt.leading(fk)[0]
            term = ".first()" if tt.name == "playerProfiles" else ".collect()"
            var = "profile" if tt.name == "playerProfiles" else tt.name
            ss, ee = b.chain(
                f"const {var} = await ",
                "ctx.db",
                [
                    f'.query("{tt.name}")',
                    self.iq(m, f, tt, idx, n_eq=1, values={fk: "enrollment.playerId"}),
                    term,
                ],
            )
            if term == ".collect()":
                b.plant("unbounded-collect", "in_loop_collect", ee, ss, ee)
        b.add(
            "sheet.push({ enrollment, player, profile, injuries, emergencyContacts, allergies });"
        )
        e = b.close()
        b.plant(
            "n-plus-one-read",
            "four_reads_per_item",
            anchor,
            s,
            e,
            detail="4-5 reads per enrollment",
        )
        b.add("return sheet;")
        return f

    def a_helper_per_item(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        # items of a table that references a table with a model helper
        cands = [
            (fk, self.by_name[tg])
            for fk, tg in t.fks.items()
            if fk != "orgId" and tg in self.model_helpers and not (t.f(fk) and t.f(fk).optional)
        ]
        if not cands:
            return None
        fk, target = rng.choice(cands)
        getter = self.helper(m, target, "get_or_throw")
        resolver = self.helper(m, target, "resolve")
        if not getter:
            return None
        f = self.fn(
            m,
            f"resolve{cap(t.name)}{cap(target.name)}",
            rng.choice(["query", "authedQuery", "internalQuery"]),
        )
        b = f.body
        if not self.items_source(m, f, t, b, t.name):
            return None
        b.add("const resolved = [];")
        s = b.open(f"for (const {t.singular} of {t.name}) {{")
        if rng.random() < 0.5 or not resolver:
            a = b.add(f"const {target.singular} = await {getter}(ctx, {t.singular}.{fk});")
            det = getter
        else:
            rfk = self.model_helpers[target.name]["resolve_fk"]
            if rfk and rfk in t.fks and not (t.f(rfk) and t.f(rfk).optional):
                a = b.add(
                    f"const {target.singular} = await {resolver}(ctx, {{ {target.singular}Id: {t.singular}.{fk}, {rfk}: {t.singular}.{rfk} }});"
                )
            elif rfk:
                return None
            else:
                a = b.add(
                    f"const {target.singular} = await {resolver}(ctx, {{ {target.singular}Id: {t.singular}.{fk} }});"
                )
            det = resolver
        b.add(f"resolved.push({{ {t.singular}, {target.singular} }});")
        e = b.close()
        b.plant("n-plus-one-read", "helper_per_item", a, s, e, detail=f"via {target.model}.{det}")
        b.add("return resolved;")
        return f

    def a_run_query_per_item(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        fks = [
            k
            for k in t.child_fks()
            if self.by_name[t.fks[k]].module and not (t.f(k) and t.f(k).optional)
        ]
        if not fks or not t.status:
            return None
        fk = rng.choice(fks)
        target = self.by_name[t.fks[fk]]
        f = self.fn(m, f"process{cap(t.name)}Mentions", rng.choice(["action", "internalAction"]))
        m.need("convex/values", "v")
        ids = f.arg("ids", f'v.array(v.id("{t.name}"))')
        b = f.body
        b.add(
            f"const {t.name} = await ctx.runQuery({self.api(m, t, 'getManyByIds')}, {{ ids: {ids} }});"
        )
        b.add("let linked = 0;")
        s = b.open(f"for (const {t.singular} of {t.name}) {{")
        a = b.add(
            f"const {target.singular} = await ctx.runQuery({self.api(m, target, 'getById')}, {{ id: {t.singular}.{fk} }});"
        )
        b.open(f"if ({target.singular} === null) {{")
        b.add("continue;")
        b.close()
        b.add(
            f'await ctx.runMutation({self.api(m, t, "patchStatus")}, {{ id: {t.singular}._id, status: "{t.status[1]}" }});'
        )
        b.add("linked += 1;")
        e = b.close()
        b.plant(
            "n-plus-one-call",
            "run_query_per_item",
            a,
            s,
            e,
            detail="runQuery + runMutation per item",
        )
        b.add("return linked;")
        return f

    def a_run_mutation_per_item(self, m: Module, t: Table) -> Fn | None:
        if not t.status or t.org_index(self.rng) is None:
            return None
        f = self.fn(m, f"autoApply{cap(t.name)}", self.rng.choice(["action", "internalAction"]))
        m.need("convex/values", "v")
        f.arg("orgId", 'v.id("organizations")')
        b = f.body
        b.add(f"const page = await ctx.runQuery({self.api(m, t, 'listPage')}, {{")
        b.add("  orgId: args.orgId,")
        b.add("  cursor: null,")
        b.add("  numItems: 100,")
        b.add("});")
        s = b.open(f"for (const {t.singular} of page.page) {{")
        a = b.add(
            f'await ctx.runMutation({self.api(m, t, "patchStatus")}, {{ id: {t.singular}._id, status: "{t.status[-1]}" }});'
        )
        e = b.close()
        b.plant(
            "n-plus-one-call",
            "run_mutation_per_item",
            a,
            s,
            e,
            detail="one mutation per item; use patchManyStatus",
        )
        b.add("return page.page.length;")
        return f

    def a_helper_call_per_item(self, m: Module, t: Table) -> Fn | None:
        cands = [
            (fk, self.by_name[tg])
            for fk, tg in t.fks.items()
            if fk != "orgId" and tg in self.model_helpers and not (t.f(fk) and t.f(fk).optional)
        ]
        if not cands:
            return None
        fk, target = self.rng.choice(cands)
        h = self.helper(m, target, "action_fetch")
        if not h:
            return None
        f = self.fn(m, f"export{cap(t.name)}Report", "internalAction")
        m.need("convex/values", "v")
        ids = f.arg("ids", f'v.array(v.id("{t.name}"))')
        b = f.body
        b.add(
            f"const {t.name} = await ctx.runQuery({self.api(m, t, 'getManyByIds')}, {{ ids: {ids} }});"
        )
        b.add("const lines: string[] = [];")
        s = b.open(f"for (const {t.singular} of {t.name}) {{")
        a = b.add(f"const {target.singular} = await {h}(ctx, {t.singular}.{fk});")
        b.add(f'lines.push(`${{{t.singular}._id}},${{{target.singular}?._id ?? ""}}`);')
        e = b.close()
        b.plant(
            "n-plus-one-call",
            "helper_call_per_item",
            a,
            s,
            e,
            detail=f"via {target.model}.{h} (ctx.runQuery)",
        )
        b.add('return lines.join("\\n");')
        return f

    def a_sequential_run_after(self, m: Module, t: Table) -> Fn | None:
        if not t.status:
            return None
        f = self.fn(
            m,
            f"submit{cap(t.singular)}",
            self.rng.choice(["mutation", "authedMutation", "internalMutation"]),
        )
        m.need("convex/values", "v")
        idv = f.arg("id", f'v.id("{t.name}")')
        b = f.body
        b.add(f'await ctx.db.patch({idv}, {{ status: "{t.status[1]}", updatedAt: Date.now() }});')
        others = self.rng.sample(self.main_tables, min(2, len(self.main_tables)))
        s = b.add(f"await ctx.scheduler.runAfter(0, {self.api(m, t, 'touch')}, {{ id: {idv} }});")
        a = b.add(
            f'await ctx.scheduler.runAfter(0, {self.api(m, t, "patchStatus")}, {{ id: {idv}, status: "{t.status[-1]}" }});'
        )
        e = a
        if self.rng.random() < 0.6:
            e = b.add(
                f"await ctx.scheduler.runAfter(5000, {self.api(m, t, 'touch')}, {{ id: {idv} }});"
            )
        b.plant(
            "sequential-scheduling",
            "sequential_run_after",
            a,
            s,
            e,
            detail=f"{e - s + 1} awaited runAfter in a row",
        )
        _ = others
        b.add("return null;")
        return f

    def a_run_after_in_loop(self, m: Module, t: Table) -> Fn | None:
        if not t.status:
            return None
        f = self.fn(
            m,
            f"schedule{cap(t.name)}Reminders",
            self.rng.choice(["mutation", "internalMutation", "internalAction"]),
        )
        m.need("convex/values", "v")
        ids = f.arg("ids", f'v.array(v.id("{t.name}"))')
        b = f.body
        b.add("let delayMs = 0;")
        s = b.open(f"for (const id of {ids}) {{")
        a = b.add(
            f'await ctx.scheduler.runAfter(delayMs, {self.api(m, t, "patchStatus")}, {{ id, status: "{t.status[0]}" }});'
        )
        b.add("delayMs += 250;")
        e = b.close()
        b.plant("sequential-scheduling", "run_after_in_loop", a, s, e)
        b.add(f"return {ids}.length;")
        return f

    def a_whole_table_collect(self, m: Module, t: Table) -> Fn | None:
        f = self.fn(
            m, f"all{cap(t.name)}", self.rng.choice(["query", "internalQuery", "authedQuery"])
        )
        b = f.body
        s, e = b.chain(f"const {t.name} = await ", "ctx.db", [f'.query("{t.name}")', ".collect()"])
        b.plant("full-table-scan", "whole_table_collect", e, s, e)
        b.plant("unbounded-collect", "whole_table_collect", e, s, e)
        b.add(f"return {t.name}.map((row) => ({{ id: row._id, createdAt: row.createdAt }}));")
        return f

    def a_sliced_collect(self, m: Module, t: Table) -> Fn | None:
        idx = t.org_index(self.rng)
        if idx is None:
            return None
        f = self.fn(m, f"latest{cap(t.name)}", self.rng.choice(["query", "authedQuery"]))
        b = f.body
        n = self.rng.choice([5, 10, 20])
        s, e = b.wrapped(
            f"const {t.name} = ",
            "ctx.db",
            [f'.query("{t.name}")', self.iq(m, f, t, idx, n_eq=1), '.order("desc")', ".collect()"],
            f".slice(0, {n})",
        )
        b.plant("unbounded-collect", "sliced_collect", e, s, e, detail=f"equivalent to .take({n})")
        b.add(f"return {t.name};")
        return f

    def a_counted_collect(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        idx = t.org_index(rng)
        if idx is None:
            return None
        f = self.fn(m, f"count{cap(t.name)}", rng.choice(["query", "authedQuery", "internalQuery"]))
        b = f.body
        s, e = b.wrapped(
            "const total = ",
            "ctx.db",
            [f'.query("{t.name}")', self.iq(m, f, t, idx, n_eq=1), ".collect()"],
            ".length",
        )
        b.plant("unbounded-collect", "counted_collect", e, s, e)
        b.add("return { total };")
        return f

    def a_js_filtered_collect(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        idx = t.org_index(rng)
        if idx is None:
            return None
        f = self.fn(
            m, f"recent{cap(t.name)}Filtered", rng.choice(["query", "authedQuery", "internalQuery"])
        )
        m.need("convex/values", "v")
        b = f.body
        since = f.arg("since", "v.number()")
        s, e = b.chain(
            f"const all{cap(t.name)} = await ",
            "ctx.db",
            [f'.query("{t.name}")', self.iq(m, f, t, idx, n_eq=1), ".collect()"],
        )
        b.plant(
            "unbounded-collect",
            "js_filtered_collect",
            e,
            s,
            e,
            detail="filtered by date in JavaScript",
        )
        b.add(f"const {t.name} = all{cap(t.name)}.filter((row) => row.createdAt >= {since});")
        if t.status and rng.random() < 0.5:
            b.add(f'return {t.name}.filter((row) => row.status !== "{t.status[-1]}");')
        else:
            b.add(f"return {t.name};")
        return f

    def a_whole_org_collect(self, m: Module, t: Table) -> Fn | None:
        idx = t.org_index(self.rng)
        if idx is None:
            return None
        f = self.fn(m, f"{t.singular}Summary", self.rng.choice(["query", "authedQuery"]))
        b = f.body
        s, e = b.chain(
            f"const {t.name} = await ",
            "ctx.db",
            [f'.query("{t.name}")', self.iq(m, f, t, idx, n_eq=1, rng_field=False), ".collect()"],
        )
        b.plant(
            "unbounded-collect",
            "whole_org_collect",
            e,
            s,
            e,
            detail="whole organisation loaded for a summary",
        )
        b.add("let newest = 0;")
        b.add("let withNotes = 0;")
        b.open(f"for (const {t.singular} of {t.name}) {{")
        b.add(f"newest = Math.max(newest, {t.singular}.createdAt);")
        b.open(f"if ({t.singular}.updatedAt !== undefined) {{")
        b.add("withNotes += 1;")
        b.close()
        b.close()
        b.add(f"return {{ total: {t.name}.length, newest, withNotes }};")
        return f

    def a_filter_after_index(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        idx = next(
            (
                i
                for i in t.live_indexes()
                if i.fields == ["orgId"] or (i.fields[0] == "orgId" and i.fields[-1] == "createdAt")
            ),
            None,
        )
        if idx is None:
            idx = t.org_index(rng)
        if idx is None:
            return None
        fcands = [
            fl for fl in t.fields if fl.kind in ("enum", "boolean") and fl.name not in idx.fields
        ]
        if not fcands:
            return None
        fl = rng.choice(fcands)
        valexpr = f'"{fl.literals[0]}"' if fl.kind == "enum" else "false"
        f = self.fn(
            m,
            f"list{cap(t.name)}By{cap(fl.name)}",
            rng.choice(["query", "authedQuery", "internalQuery"]),
        )
        b = f.body
        term = rng.choice([".collect()", ".collect()", ".collect()", ".take(50)", ".first()"])
        calls = [
            f'.query("{t.name}")',
            self.iq(m, f, t, idx, n_eq=1, rng_field=False),
            f'.filter((q) => q.eq(q.field("{fl.name}"), {valexpr}))',
            term,
        ]
        s, e = b.chain(f"const {t.name} = await ", "ctx.db", calls)
        b.plant(
            "filter-on-query",
            "filter_after_index",
            s,
            s,
            e,
            detail=f"wants index [{', '.join([*idx.fields[:1], fl.name])}]",
        )
        if term == ".collect()":
            b.plant("unbounded-collect", "after_query_filter", e, s, e)
        b.add(f"return {t.name};")
        return f

    def a_filter_no_index(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        fcands = [
            fl for fl in t.fields if fl.kind in ("enum", "boolean", "id") and fl.name != "orgId"
        ]
        if not t.org or len(fcands) < 1:
            return None
        f = self.fn(m, f"find{cap(t.name)}Matching", rng.choice(["query", "internalQuery"]))
        m.need("convex/values", "v")
        b = f.body
        org = f.arg("orgId", 'v.id("organizations")')
        conds = [f'q.eq(q.field("orgId"), {org})']
        for fl in fcands[:2]:
            if fl.kind == "enum":
                conds.append(f'q.eq(q.field("{fl.name}"), "{fl.literals[0]}")')
            elif fl.kind == "boolean":
                conds.append(f'q.eq(q.field("{fl.name}"), false)')
            else:
                conds.append(f'q.eq(q.field("{fl.name}"), {f.arg(fl.name, arg_validator(fl))})')
        s = b.add("const matches = await ctx.db")
        b.ind += 1
        b.add(f'.query("{t.name}")')
        b.add(".filter((q) =>")
        b.add("  q.and(")
        for c in conds:
            b.add(f"    {c},")
        b.add("  ),")
        b.add(")")
        e = b.add(".collect();")
        b.ind -= 1
        b.plant(
            "filter-on-query",
            "filter_no_index",
            s,
            s,
            e,
            detail=f"{len(conds)}-field filter, no index",
        )
        b.plant("full-table-scan", "filter_no_index", e, s, e)
        b.plant("unbounded-collect", "after_query_filter", e, s, e)
        b.add("return matches;")
        return f

    def a_unknown_index(self, m: Module, t: Table) -> Fn | None:
        rng = self.rng
        if not t.org:
            return None
        names = {i.name for i in t.indexes}
        cands = []
        for fl in t.fields:
            if fl.kind in ("enum", "id") and fl.name != "orgId":
                for nm in (f"by_orgId_and_{fl.name}", f"by_{fl.name}_and_orgId"):
                    if nm not in names:
                        cands.append((nm, fl))
        if not cands:
            return None
        nm, fl = cands[0] if rng.random() < 0.6 else rng.choice(cands)
        first, second = ("orgId", fl.name) if nm.startswith("by_orgId") else (fl.name, "orgId")
        f = self.fn(
            m, f"list{cap(t.name)}By{cap(fl.name)}Fast", rng.choice(["query", "authedQuery"])
        )
        m.need("convex/values", "v")
        b = f.body
        vals = {"orgId": f.arg("orgId", 'v.id("organizations")')}
        vals[fl.name] = (
            f'"{fl.literals[0]}"' if fl.kind == "enum" else f.arg(fl.name, arg_validator(fl))
        )
        s, e = b.chain(
            f"const {t.name} = await ",
            "ctx.db",
            [
                f'.query("{t.name}")',
                f'.withIndex("{nm}", (q) => q.eq("{first}", {vals[first]}).eq("{second}", {vals[second]}))',
                ".take(50)",
            ],
        )
        b.plant(
            "unknown-index",
            "unknown_index",
            s + (1 if e > s else 0),
            s,
            e,
            detail=f"{t.name} has no index {nm}",
        )
        b.add(f"return {t.name};")
        return f

    def a_index_range_order(self, m: Module, t: Table) -> Fn | None:
        cands = [
            i for i in t.live_indexes() if len(i.fields) >= 2 and i.fields[1] not in ("createdAt",)
        ]
        if not cands:
            return None
        idx = self.rng.choice(cands)
        f = self.fn(
            m,
            f"find{cap(t.singular)}For{cap(idx.fields[1].replace('Id', ''))}",
            self.rng.choice(["query", "internalQuery"]),
        )
        self.use(t, idx)
        a, bb = idx.fields[0], idx.fields[1]
        va = self.val(m, f, t, a)
        vb = self.val(m, f, t, bb)
        b = f.body
        s, e = b.chain(
            f"const {t.singular} = await ",
            "ctx.db",
            [
                f'.query("{t.name}")',
                f'.withIndex("{idx.name}", (q) => q.eq("{bb}", {vb}).eq("{a}", {va}))',
                ".first()",
            ],
        )
        b.plant(
            "index-range-order",
            "index_range_order",
            s + (1 if e > s else 0),
            s,
            e,
            detail=f"{idx.name} is [{', '.join(idx.fields)}]",
        )
        b.add(f"return {t.singular};")
        return f

    def a_better_auth_id_field(self, m: Module, t: Table) -> Fn | None:
        f = self.fn(
            m,
            "getAuthUserFor" + cap(t.singular),
            self.rng.choice(["query", "internalQuery", "action"]),
        )
        m.need("convex/values", "v")
        m.need(m.rel("_generated/api"), "components")
        uid = f.arg("authUserId", "v.string()")
        b = f.body
        s = b.open("const authUser = await ctx.runQuery(components.betterAuth.adapter.findOne, {")
        b.add('model: "user",')
        a = b.add(f'where: [{{ field: "id", value: {uid} }}],')
        e = b.close("});")
        b.plant("better-auth-id-field", "better_auth_id_field", a, s, e)
        b.open("if (!authUser) {")
        b.add("return null;")
        b.close()
        b.add("return { id: authUser._id, email: authUser.email, name: authUser.name };")
        return f

    def a_fetch_no_timeout(self, m: Module, t: Table) -> Fn | None:
        f = self.fn(
            m, f"push{cap(t.singular)}Webhook", self.rng.choice(["action", "internalAction"])
        )
        m.need("convex/values", "v")
        idv = f.arg("id", f'v.id("{t.name}")')
        b = f.body
        b.add(f"const doc = await ctx.runQuery({self.api(m, t, 'getById')}, {{ id: {idv} }});")
        b.open("if (doc === null) {")
        b.add("return false;")
        b.close()
        self._api_key(b)
        b.add(f"const payload = {{ id: doc._id, label: doc.{t.label} }};")
        s, e = self._fetch_call(b, self.rng.choice(self.URLS), False)
        b.plant("fetch-without-timeout", "fetch_no_timeout", s, s, e)
        b.add("return response.ok;")
        return f

    def a_sdk_no_timeout(self, m: Module, t: Table) -> Fn | None:
        m.need("openai", "OpenAI")
        f = self.fn(m, f"summarize{cap(t.singular)}WithAi", "internalAction")
        m.need("convex/values", "v")
        idv = f.arg("id", f'v.id("{t.name}")')
        b = f.body
        b.add(f"const doc = await ctx.runQuery({self.api(m, t, 'getById')}, {{ id: {idv} }});")
        b.open("if (doc === null) {")
        b.add("return null;")
        b.close()
        b.add("const openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });")
        s = b.open("const completion = await openai.chat.completions.create({")
        b.add('model: "gpt-4o-mini",')
        b.add(f'messages: [{{ role: "user", content: `Summarise: ${{doc.{t.label}}}` }}],')
        e = b.close("});")
        b.plant(
            "fetch-without-timeout",
            "sdk_no_timeout",
            s,
            s,
            e,
            detail="OpenAI client without timeout",
        )
        b.add('return completion.choices[0]?.message?.content ?? "";')
        return f

    def a_large_take(self, m: Module, t: Table) -> Fn | None:
        idx = t.org_index(self.rng)
        if idx is None:
            return None
        n = self.rng.choice([1000, 1000, 1000, 5000, 10000])
        f = self.fn(m, f"export{cap(t.name)}Csv", self.rng.choice(["query", "internalQuery"]))
        b = f.body
        s, e = b.chain(
            f"const {t.name} = await ",
            "ctx.db",
            [f'.query("{t.name}")', self.iq(m, f, t, idx, n_eq=1), f".take({n})"],
        )
        b.add('// take(1000) is "everything" for now; nobody has that many yet.')
        b.plant("large-take", "large_take", e, s, e, detail=f".take({n}) used as all")
        b.add(
            f'return {t.name}.map((row) => [row._id, String(row.createdAt)].join(",")).join("\\n");'
        )
        return f

    # -- the audit's worst query --------------------------------------------------------
    def _worst_query(self, m: Module) -> None:
        rng = self.rng
        f = self.fn(m, "getClubDashboard", "authedQuery")
        m.need("convex/values", "v")
        org = f.arg("orgId", 'v.id("organizations")')
        b = f.body
        b.add("// The one query the dashboard page makes on load.")
        t_names = [
            x
            for x in ("players", "teams", "voiceNotes", "insights", "trainingSessions", "injuries")
            if x in self.by_name
        ]
        org_tables = [self.by_name[x] for x in t_names if self.by_name[x].org_index(rng)]
        extra = [t for t in self.main_tables if t.org_index(rng) and t not in org_tables]
        while len(org_tables) < 4 and extra:
            org_tables.append(extra.pop(0))
        collected = []
        for t in org_tables[:4]:
            idx = t.org_index(rng)
            s, e = b.chain(
                f"const {t.name} = await ",
                "ctx.db",
                [
                    f'.query("{t.name}")',
                    self.iq(m, f, t, idx, n_eq=1, values={"orgId": org}, rng_field=False),
                    ".collect()",
                ],
            )
            b.plant("unbounded-collect", "whole_org_collect", e, s, e, detail="getClubDashboard")
            collected.append(t)
        b.add("")
        loops = 0
        enriched = []
        for t in collected:
            if loops >= 2:
                break
            fks = [k for k in t.child_fks() if not (t.f(k) and t.f(k).optional)]
            if not fks:
                continue
            fk = fks[0]
            target = self.by_name[t.fks[fk]]
            nm = f"{target.singular}For{cap(t.singular)}"
            s = b.open(f"const {t.name}Enriched = await Promise.all(")
            b.add(f"{t.name}.map(async (row) => ({{ ...row, {nm}: await ctx.db.get(row.{fk}) }})),")
            e = b.close(");")
            b.plant(
                "n-plus-one-read", "promise_all_map_get", s + 1, s, e, detail="getClubDashboard"
            )
            enriched.append(t)
            loops += 1
        for t in collected:
            if loops >= 3:
                break
            ch = [c for c in self.children_of(t) if c[0].name != t.name]
            if not ch:
                continue
            ct, fk, idx = ch[0]
            b.add(f"const {t.singular}Counts: Record<string, number> = {{}};")
            s = b.open(f"for (const row of {t.name}) {{")
            a, e2 = b.wrapped(
                f"{t.singular}Counts[row._id] = ",
                "ctx.db",
                [
                    f'.query("{ct.name}")',
                    self.iq(m, f, ct, idx, n_eq=1, values={fk: "row._id"}),
                    ".collect()",
                ],
                ".length",
            )
            e = b.close()
            b.plant("n-plus-one-read", "per_item_index_collect", a, s, e, detail="getClubDashboard")
            b.plant(
                "unbounded-collect", "in_loop_counted_collect", e2, a, e2, detail="getClubDashboard"
            )
            loops += 1
        b.open("return {")
        for t in collected:
            if t in enriched:
                b.add(f"{t.name}: {t.name}Enriched.slice(0, 20),")
            else:
                b.add(f"{t.name}Total: {t.name}.length,")
        b.add("generatedAt: Date.now(),")
        b.close("};")
        f.doc = "Dashboard summary. Known slow: see the perf audit."
        m.add(f)

    # -- index coverage -----------------------------------------------------------------
    def _cover_indexes(self) -> None:
        """Every index that is not planted-unused gets at least one reference."""
        rng = self.rng
        by_table: dict[str, list[Module]] = {}
        for m in self.modules:
            if m.table is not None and m.role in ("main", "admin", "reports") and not m.use_node:
                by_table.setdefault(m.table.name, []).append(m)
        anywhere = [
            m
            for m in self.modules
            if m.role in ("main", "admin", "reports", "big") and not m.use_node
        ]
        for t in self.tables:
            for idx in t.live_indexes():
                if (t.name, idx.name) in self.used_index:
                    continue
                mods = by_table.get(t.name) or anywhere
                m = rng.choice(mods)
                f = self.fn(
                    m,
                    f"list{cap(t.name)}Via{cap(idx.name.replace('by_', '').replace('_and_', '_').replace('_', ''))}",
                    rng.choice(["query", "internalQuery"]),
                )
                b = f.body
                calls = [
                    f'.query("{t.name}")',
                    self.iq(m, f, t, idx),
                    f".take({rng.choice([20, 50, 100])})",
                ]
                s, e = b.chain("const rows = await ", "ctx.db", calls)
                b.plant(None, "take_small", e, s, e)
                b.add("return rows;")
                m.add(f)

    # -- rendering ----------------------------------------------------------------------
    def _render_all(self) -> None:
        for m in sorted(self.modules, key=lambda x: x.path):
            text, plants = render_module(m)
            self.files[m.path] = text
            for p, base, fname in plants:
                self.plants.append(
                    {
                        "file": m.path,
                        "line": base + p.anchor + 1,
                        "start_line": base + p.start + 1,
                        "end_line": base + p.end + 1,
                        "rule": p.rule,
                        "shape": p.shape,
                        "function": fname,
                        "benign": p.benign,
                        "detail": p.detail,
                    }
                )
        for t in self.tables:
            idxs = t.indexes
            for i in idxs:
                if i.unused:
                    self.plants.append(
                        {
                            "file": i.file,
                            "line": i.line,
                            "start_line": i.line,
                            "end_line": i.line,
                            "rule": "unused-index",
                            "shape": "unused_index",
                            "function": t.name,
                            "benign": False,
                            "detail": f"{t.name}.{i.name}",
                        }
                    )
            for i in idxs:
                for j in idxs:
                    if (
                        i is not j
                        and len(i.fields) < len(j.fields)
                        and j.fields[: len(i.fields)] == i.fields
                    ):
                        self.plants.append(
                            {
                                "file": i.file,
                                "line": i.line,
                                "start_line": i.line,
                                "end_line": i.line,
                                "rule": "redundant-index",
                                "shape": "prefix_index",
                                "function": t.name,
                                "benign": False,
                                "detail": f"{t.name}.{i.name} is a prefix of {j.name}",
                            }
                        )
                        break

    def _static_files(self) -> None:
        F = self.files
        F["convex/_generated/server.ts"] = GENERATED_SERVER
        F["convex/_generated/api.ts"] = GENERATED_API
        F["convex/_generated/dataModel.ts"] = GENERATED_DATAMODEL
        F["convex/lib/functions.ts"] = LIB_FUNCTIONS
        F["convex/lib/auth.ts"] = LIB_AUTH
        F["convex/lib/utils.ts"] = LIB_UTILS
        # these index references come from lib/auth.ts
        for key in (("users", "by_tokenIdentifier"), ("members", "by_orgId_and_userId")):
            self.used_index[key] = self.used_index.get(key, 0) + 1
        F["convex/crons.ts"] = self._crons()
        F["convex/http.ts"] = self._http()
        F["convex/tsconfig.json"] = TSCONFIG
        F["package.json"] = (
            json.dumps(
                {
                    "name": f"club-platform-w{self.n_files}",
                    "version": "0.0.0",
                    "private": True,
                    "description": "Generated by convex-xray benchmarks/generate.py. Not a real app.",
                    "type": "module",
                    "dependencies": {
                        "convex": "^1.31.0",
                        "convex-helpers": "^0.1.100",
                        "openai": "^4.0.0",
                    },
                    "devDependencies": {"typescript": "^5.9.0"},
                },
                indent=2,
            )
            + "\n"
        )

    def _crons(self) -> str:
        lines = [
            'import { cronJobs } from "convex/server";',
            'import { internal } from "./_generated/api";',
            "",
            "const crons = cronJobs();",
            "",
        ]
        ts = [t for t in self.main_tables if t.org][:6]
        for k, t in enumerate(ts):
            if k % 2 == 0:
                lines.append(
                    f'crons.interval("sweep {words(t.name)}", {{ minutes: {15 * (k + 1)} }}, internal.{t.module}.sweepStale);'
                )
            else:
                lines.append(
                    f'crons.daily("{words(t.name)} digest", {{ hourUTC: {3 + k}, minuteUTC: {7 * k % 60} }}, internal.{t.module}.sweepStale);'
                )
        lines += ["", "export default crons;", ""]
        return "\n".join(lines)

    def _http(self) -> str:
        t = self.main_tables[0]
        return "\n".join(
            [
                'import { httpRouter } from "convex/server";',
                'import { httpAction } from "./_generated/server";',
                'import { internal } from "./_generated/api";',
                "",
                "const http = httpRouter();",
                "",
                "http.route({",
                '  path: "/webhooks/payments",',
                '  method: "POST",',
                "  handler: httpAction(async (ctx, request) => {",
                "    const body = (await request.json()) as { ids?: string[] };",
                "    const ids = body.ids ?? [];",
                f"    await ctx.runQuery(internal.{t.module}.getManyByIds, {{ ids: ids as never }});",
                "    return new Response(null, { status: 204 });",
                "  }),",
                "});",
                "",
                "http.route({",
                '  path: "/health",',
                '  method: "GET",',
                "  handler: httpAction(async () => {",
                '    return new Response("ok", { status: 200 });',
                "  }),",
                "});",
                "",
                "export default http;",
                "",
            ]
        )

    # -- manifest -----------------------------------------------------------------------
    def manifest(self) -> dict:
        ts_files = {p: s for p, s in self.files.items() if p.endswith(".ts")}
        total_lines = sum(s.count("\n") for s in ts_files.values())
        planted: dict[str, dict[str, int]] = {}
        negatives: dict[str, int] = {}
        benign: dict[str, int] = {}
        for p in self.plants:
            if p["rule"] is None:
                negatives[p["shape"]] = negatives.get(p["shape"], 0) + 1
            elif p["benign"]:
                benign[p["shape"]] = benign.get(p["shape"], 0) + 1
            else:
                planted.setdefault(p["rule"], {})
                planted[p["rule"]][p["shape"]] = planted[p["rule"]].get(p["shape"], 0) + 1
        builders: dict[str, int] = {}
        for m in self.modules:
            for it in m.items:
                if isinstance(it, Fn):
                    builders[it.builder] = builders.get(it.builder, 0) + 1
        largest = sorted(((s.count("\n"), p) for p, s in ts_files.items()), reverse=True)[:5]
        return {
            "generator": "convex-xray benchmarks/generate.py",
            "generator_version": GENERATOR_VERSION,
            "seed": self.seed,
            "requested_files": self.n_files,
            "ts_files": len(ts_files),
            "ts_lines": total_lines,
            "schema_lines": self.files["convex/schema.ts"].count("\n"),
            "schema_files": [
                p
                for p in (
                    "convex/schema.ts",
                    "convex/schemas/billing.ts",
                    "convex/schemas/validators.ts",
                )
                if p in self.files
            ],
            "tables": len(self.tables),
            "indexes": sum(len(t.indexes) for t in self.tables),
            "search_indexes": sum(len(t.search) for t in self.tables),
            "vector_indexes": sum(len(t.vector) for t in self.tables),
            "functions": sum(builders.values()),
            "functions_by_builder": dict(sorted(builders.items())),
            "largest_files": [{"file": p, "lines": n} for n, p in largest],
            "planted": {r: dict(sorted(v.items())) for r, v in sorted(planted.items())},
            "planted_total": sum(sum(v.values()) for v in planted.values()),
            "benign": dict(sorted(benign.items())),
            "negatives": dict(sorted(negatives.items())),
            "notes": [
                "planted: anti-patterns a correct analyzer must report (rule slug -> shape -> count).",
                "A single site may carry several rules (e.g. a whole-table collect is both full-table-scan and unbounded-collect).",
                "benign: low-risk sites (parent-scoped indexed .collect()) that may be reported at low severity but should not be shouted about.",
                "negatives: correct patterns that must NOT get a diagnostic of the related rule.",
                "instances: every site with file, anchor line and [start_line, end_line] span (1-based).",
            ],
            "instances": self.plants,
        }


# --------------------------------------------------------------------------------------
# Static file contents
# --------------------------------------------------------------------------------------

GENERATED_SERVER = """/* eslint-disable */
/**
 * Minimal stand-in for Convex's generated server utilities (written by the benchmark
 * generator, not by `npx convex dev`).
 */
import {
  actionGeneric,
  httpActionGeneric,
  internalActionGeneric,
  internalMutationGeneric,
  internalQueryGeneric,
  mutationGeneric,
  queryGeneric,
} from "convex/server";
import type {
  ActionBuilder,
  GenericActionCtx,
  GenericDatabaseReader,
  GenericDatabaseWriter,
  GenericMutationCtx,
  GenericQueryCtx,
  HttpActionBuilder,
  MutationBuilder,
  QueryBuilder,
} from "convex/server";
import type { DataModel } from "./dataModel";

export const query: QueryBuilder<DataModel, "public"> = queryGeneric;
export const internalQuery: QueryBuilder<DataModel, "internal"> = internalQueryGeneric;
export const mutation: MutationBuilder<DataModel, "public"> = mutationGeneric;
export const internalMutation: MutationBuilder<DataModel, "internal"> = internalMutationGeneric;
export const action: ActionBuilder<DataModel, "public"> = actionGeneric;
export const internalAction: ActionBuilder<DataModel, "internal"> = internalActionGeneric;
export const httpAction: HttpActionBuilder = httpActionGeneric;

export type QueryCtx = GenericQueryCtx<DataModel>;
export type MutationCtx = GenericMutationCtx<DataModel>;
export type ActionCtx = GenericActionCtx<DataModel>;
export type DatabaseReader = GenericDatabaseReader<DataModel>;
export type DatabaseWriter = GenericDatabaseWriter<DataModel>;
"""

GENERATED_API = """/* eslint-disable */
/**
 * Minimal stand-in for Convex's generated API (untyped function references).
 */
import { anyApi, componentsGeneric } from "convex/server";
import type { AnyApi } from "convex/server";

export const api: AnyApi = anyApi;
export const internal: AnyApi = anyApi;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const components = componentsGeneric() as any;
"""

GENERATED_DATAMODEL = """/* eslint-disable */
/**
 * Minimal stand-in for Convex's generated data model types.
 */
import type {
  DataModelFromSchemaDefinition,
  DocumentByName,
  TableNamesInDataModel,
  SystemTableNames,
} from "convex/server";
import type { GenericId } from "convex/values";
import schema from "../schema";

export type TableNames = TableNamesInDataModel<DataModel>;
export type Doc<TableName extends TableNames> = DocumentByName<DataModel, TableName>;
export type Id<TableName extends TableNames | SystemTableNames> = GenericId<TableName>;
export type DataModel = DataModelFromSchemaDefinition<typeof schema>;
"""

LIB_FUNCTIONS = """// Custom function builders: every authed function gets `ctx.user`.
import {
  customCtx,
  customMutation,
  customQuery,
} from "convex-helpers/server/customFunctions";
import { mutation, query } from "../_generated/server";
import { requireUser } from "./auth";

export const authedQuery = customQuery(
  query,
  customCtx(async (ctx) => {
    const user = await requireUser(ctx);
    return { user };
  }),
);

export const authedMutation = customMutation(
  mutation,
  customCtx(async (ctx) => {
    const user = await requireUser(ctx);
    return { user };
  }),
);
"""

LIB_AUTH = """import { ConvexError } from "convex/values";
import type { QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";

export async function requireUser(ctx: QueryCtx): Promise<Doc<"users">> {
  const identity = await ctx.auth.getUserIdentity();
  if (identity === null) {
    throw new ConvexError({ code: "UNAUTHENTICATED", message: "Sign in first" });
  }
  const user = await ctx.db
    .query("users")
    .withIndex("by_tokenIdentifier", (q) =>
      q.eq("tokenIdentifier", identity.tokenIdentifier),
    )
    .unique();
  if (user === null) {
    throw new ConvexError({ code: "UNAUTHENTICATED", message: "Unknown user" });
  }
  return user;
}

export async function requireMembership(
  ctx: QueryCtx,
  orgId: Id<"organizations">,
  userId: Id<"users">,
): Promise<Doc<"members">> {
  const member = await ctx.db
    .query("members")
    .withIndex("by_orgId_and_userId", (q) =>
      q.eq("orgId", orgId).eq("userId", userId),
    )
    .unique();
  if (member === null) {
    throw new ConvexError({ code: "FORBIDDEN", message: "Not a member" });
  }
  return member;
}
"""

LIB_UTILS = """// Small pure helpers shared by many modules.
export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

export function uniqueBy<T, K>(items: T[], key: (item: T) => K): T[] {
  const seen = new Set<K>();
  const out: T[] = [];
  for (const item of items) {
    const k = key(item);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(item);
    }
  }
  return out;
}

export function daysAgo(days: number, now: number = Date.now()): number {
  return now - days * 24 * 60 * 60 * 1000;
}

export function formatCents(amountCents: number, currency = "GBP"): string {
  return new Intl.NumberFormat("en-GB", { style: "currency", currency }).format(
    amountCents / 100,
  );
}
"""

TSCONFIG = (
    json.dumps(
        {
            "compilerOptions": {
                "allowJs": True,
                "strict": True,
                "moduleResolution": "Bundler",
                "jsx": "react-jsx",
                "skipLibCheck": True,
                "allowSyntheticDefaultImports": True,
                "target": "ESNext",
                "lib": ["ES2021", "dom"],
                "forceConsistentCasingInFileNames": True,
                "module": "ESNext",
                "isolatedModules": True,
                "noEmit": True,
            },
            "include": ["./**/*"],
        },
        indent=2,
    )
    + "\n"
)


# --------------------------------------------------------------------------------------
# Long single file (LSP keystroke benchmark)
# --------------------------------------------------------------------------------------


def generate_long_module(
    lines: int = 3000, seed: int = DEFAULT_SEED, n_files: int = 300
) -> tuple[str, list[dict]]:
    """A single ~`lines`-line Convex module (imports relative to convex/big/), using the
    tables of the `n_files` workspace with the same seed.  Returns (text, instances)."""
    g = Generator(n_files, seed)
    sb = SchemaBuilder(g.rng, g.n_tables, n_files)
    g.tables = sb.build()
    g.by_name = {t.name: t for t in g.tables}
    g.files["convex/schema.ts"], _ = render_schema(g.tables, g.rng)
    g._plan_modules()
    for m in g.modules:
        if m.role == "main":
            g._std_functions(m)
    for t in g.main_tables[: g.n_model]:
        g._model_module(t)
    m = Module("convex/big/keystroke.ts", "big", None, lines - 30)
    g._worst_query(m)
    quota = g._quota()
    while m.est_lines < m.target_lines:
        if quota and g.rng.random() < 0.12:
            shape = quota.pop()
            if g._plant(m, shape):
                continue
        g._clean(m)
    text, plants = render_module(m)
    inst = [
        {
            "file": m.path,
            "line": base + p.anchor + 1,
            "start_line": base + p.start + 1,
            "end_line": base + p.end + 1,
            "rule": p.rule,
            "shape": p.shape,
            "function": fn,
            "benign": p.benign,
            "detail": p.detail,
        }
        for p, base, fn in plants
    ]
    return text, inst


# --------------------------------------------------------------------------------------
# Writing, verification, CLI
# --------------------------------------------------------------------------------------


def write_workspace(out: Path, n_files: int, seed: int = DEFAULT_SEED) -> dict:
    t0 = time.perf_counter()
    g = Generator(n_files, seed)
    files = g.generate()
    man = g.manifest()
    if out.exists():
        shutil.rmtree(out)
    for rel, text in sorted(files.items()):
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode())
        h.update(b"\0")
        h.update(files[rel].encode())
    man["content_sha256"] = h.hexdigest()
    (out / "manifest.json").write_text(json.dumps(man, indent=1) + "\n", encoding="utf-8")
    man["generate_seconds"] = round(
        time.perf_counter() - t0, 3
    )  # printed, not stored (determinism)
    return man


def _find_ts_python() -> str | None:
    try:
        import tree_sitter  # noqa: F401
        import tree_sitter_typescript  # noqa: F401

        return sys.executable
    except ImportError:
        pass
    here = Path(__file__).resolve().parent.parent
    for cand in (
        os.environ.get("CONVEX_XRAY_VERIFY_PYTHON"),
        str(here / ".venv/bin/python"),
        "/work/venv/bin/python",
    ):
        if cand and Path(cand).exists():
            r = subprocess.run(
                [cand, "-c", "import tree_sitter, tree_sitter_typescript"], capture_output=True
            )
            if r.returncode == 0:
                return cand
    return None


VERIFY_SNIPPET = r"""
import sys, json, pathlib
import tree_sitter, tree_sitter_typescript
lang = tree_sitter.Language(tree_sitter_typescript.language_typescript())
parser = tree_sitter.Parser(lang)
root = pathlib.Path(sys.argv[1])
paths = [root] if root.is_file() else sorted(root.rglob("*.ts"))
bad = []
def find(node, out):
    if node.type == "ERROR" or node.is_missing:
        out.append((node.start_point[0] + 1, node.type))
        return
    if node.has_error:
        for ch in node.children:
            find(ch, out)
for p in paths:
    tree = parser.parse(p.read_bytes())
    if tree.root_node.has_error:
        errs = []
        find(tree.root_node, errs)
        bad.append({"file": str(p), "errors": errs[:5]})
print(json.dumps({"files": len(paths), "bad": bad}))
"""


def verify(path: Path) -> bool:
    py = _find_ts_python()
    if py is None:
        print(
            "verify: tree-sitter + tree-sitter-typescript not importable (pip install tree-sitter "
            "tree-sitter-typescript, or set CONVEX_XRAY_VERIFY_PYTHON)",
            file=sys.stderr,
        )
        return False
    r = subprocess.run([py, "-c", VERIFY_SNIPPET, str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
        return False
    res = json.loads(r.stdout)
    if res["bad"]:
        print(
            f"verify: {len(res['bad'])} of {res['files']} files have tree-sitter ERROR/MISSING nodes:",
            file=sys.stderr,
        )
        for b in res["bad"][:20]:
            print(f"  {b['file']}: {b['errors']}", file=sys.stderr)
        return False
    print(f"verify: {res['files']} TypeScript files parse with zero ERROR/MISSING nodes")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--files",
        type=int,
        default=300,
        help="number of .ts files under convex/ (30, 300, 3000...)",
    )
    ap.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output workspace dir (or a .ts path with --long-file)",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument(
        "--verify",
        action="store_true",
        help="parse every generated file with tree-sitter; fail on ERROR nodes",
    )
    ap.add_argument(
        "--long-file",
        type=int,
        metavar="LINES",
        help="write a single LINES-line Convex module instead",
    )
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.long_file:
        text, inst = generate_long_module(a.long_file, a.seed, a.files)
        out = a.out if a.out.suffix == ".ts" else a.out / "convex/big/keystroke.ts"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        out.with_suffix(".manifest.json").write_text(
            json.dumps({"lines": text.count("\n"), "instances": inst}, indent=1) + "\n"
        )
        if not a.quiet:
            print(
                f"wrote {out} ({text.count(chr(10))} lines, {sum(1 for i in inst if i['rule'] and not i['benign'])} planted sites)"
            )
        return 0 if not a.verify or verify(out) else 1
    man = write_workspace(a.out, a.files, a.seed)
    if not a.quiet:
        keys = (
            "ts_files",
            "ts_lines",
            "schema_lines",
            "tables",
            "indexes",
            "search_indexes",
            "vector_indexes",
            "functions",
            "planted_total",
            "generate_seconds",
        )
        print(f"wrote {a.out}: " + ", ".join(f"{k}={man[k]}" for k in keys))
        print(
            "largest: " + ", ".join(f"{x['file']} ({x['lines']})" for x in man["largest_files"][:3])
        )
    if a.verify:
        return 0 if verify(a.out / "convex") else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
