"""Decision records: every decision the service makes, stored append-only and chained by hashes.

A decision is one subject's outcomes on one date under one policy: its `id` (1, 2, 3, … in the order they
were made), the time (`decided_at`, UTC), the policy (name, version, digest — `bundle.policy_digest`), the
param overrides in force, `as_of`, the subject's key, a copy of the facts as posted with their SHA-256
(`facts_sha256`, over the canonical JSON), the outcomes (`outcomes_of`: per rule the outcome, dates, days and
the message), and `prev_hash` / `hash`: `hash` is SHA-256 over the canonical JSON of the decision as
`Decision.to_json()` gives it, less `hash` itself — `prev_hash` included, which is the previous decision's
`hash` (64 zeros for the first). Changing, removing or reordering a stored decision breaks the chain at that
decision or the next one; `verify_chain` finds the first that does not check.

Canonical JSON: keys sorted, no spaces (`,` and `:`), UTF-8 without escapes, no NaN. Anyone can check a
decision from `GET /v1/decisions/{id}` alone: `sha256(canonical(decision - "hash")) == decision["hash"]`.

Storage: SQLite through the standard library (`sqlite:///decisions.db`, `sqlite:////abs/path.db`,
`sqlite:///:memory:`, or a bare file path), with triggers that refuse UPDATE and DELETE; PostgreSQL when
`psycopg` is installed (`postgresql://user@host/db`), the same table with a trigger that refuses UPDATE,
DELETE and TRUNCATE. The triggers stop mistakes; the chain shows tampering by anyone who can drop them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from safetyrules.engine.results import EnterpriseResult
from safetyrules.errors import InputError

GENESIS = "0" * 64  # the `prev_hash` of the first decision
# the fields of each rule's result a decision keeps (and `safetyrules replay` compares)
OUTCOME_KEYS = ("rule", "implements", "outcome", "due_on", "days_overdue", "days_remaining", "listed_until",
                "message")
_COLUMNS = ("id", "decided_at", "policy_name", "policy_version", "policy_digest", "params", "as_of", "subject",
            "facts_sha256", "facts", "outcomes", "prev_hash", "hash")


class RecordsError(InputError):
    """The decision records cannot be opened or read (a bad URL, a missing database, a missing driver)."""


def canonical(value: Any) -> bytes:
    """The canonical JSON the hashes are taken over: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
                      ).encode("utf-8")


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def outcomes_of(result: EnterpriseResult) -> list[dict[str, Any]]:
    """What a decision keeps of each rule's result (the library's JSON, reduced to `OUTCOME_KEYS`)."""
    return [{k: r[k] for k in OUTCOME_KEYS} for r in (x.to_json(explanation=False) for x in result.results)]


@dataclass(frozen=True, slots=True)
class PolicyRef:
    name: str
    version: str
    digest: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "digest": self.digest}


@dataclass(frozen=True, slots=True)
class NewDecision:
    """A decision to append: the log gives it its id, time and hashes."""

    policy: PolicyRef
    params: Mapping[str, Any]
    as_of: str
    subject: str
    facts: Mapping[str, Any]
    outcomes: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Decision:
    id: int
    decided_at: str
    policy: PolicyRef
    params: dict[str, Any]
    as_of: str
    subject: str
    facts_sha256: str
    facts: dict[str, Any]
    outcomes: list[dict[str, Any]]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """Everything the hash covers: the decision's JSON less `hash`."""
        out = self.to_json()
        del out["hash"]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "decided_at": self.decided_at, "policy": self.policy.to_json(),
                "params": self.params, "as_of": self.as_of, "subject": self.subject,
                "facts_sha256": self.facts_sha256, "facts": self.facts, "outcomes": self.outcomes,
                "prev_hash": self.prev_hash, "hash": self.hash}

    def intact(self) -> bool:
        """Whether its hashes match its contents (whether it follows the decision before it is the chain's
        business: `DecisionLog.verify_chain`)."""
        return self.facts_sha256 == sha256_hex(self.facts) and self.hash == sha256_hex(self.body())


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchmany(self, size: int = ..., /) -> list[Any]: ...


class DecisionLog:
    """Append-only, hash-chained decision records in a SQL database (SQLite here; `_PostgresLog` below)."""

    placeholder = "?"

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()  # one connection, used from the service's worker threads in turn

    # ----------------------------------------------------------------- backend hooks
    @contextlib.contextmanager
    def _write(self) -> Iterator[_Cursor]:  # a transaction that holds the table's write lock
        raise NotImplementedError
        yield

    @contextlib.contextmanager
    def _read(self) -> Iterator[_Cursor]:
        raise NotImplementedError
        yield

    def close(self) -> None:
        raise NotImplementedError

    # ----------------------------------------------------------------- the records
    def append(self, items: Sequence[NewDecision]) -> list[Decision]:
        """Store decisions, in order, in one transaction; return them with their ids and hashes."""
        if not items:
            return []
        marks = ", ".join([self.placeholder] * len(_COLUMNS))
        insert = f"INSERT INTO decisions ({', '.join(_COLUMNS)}) VALUES ({marks})"
        stored: list[Decision] = []
        with self._lock, self._write() as cur:
            cur.execute("SELECT id, hash FROM decisions ORDER BY id DESC LIMIT 1")
            row = cur.fetchone()
            last_id, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
            now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
            for offset, item in enumerate(items, start=1):
                facts = json.loads(canonical(item.facts))  # a plain JSON copy: what is stored is what is hashed
                params = json.loads(canonical(item.params))
                outcomes = json.loads(canonical(list(item.outcomes)))
                draft = Decision(last_id + offset, now, item.policy, params, item.as_of, item.subject,
                                 sha256_hex(facts), facts, outcomes, prev, "")
                decision = Decision(draft.id, draft.decided_at, draft.policy, draft.params, draft.as_of,
                                    draft.subject, draft.facts_sha256, draft.facts, draft.outcomes, prev,
                                    sha256_hex(draft.body()))
                cur.execute(insert, _row(decision))
                stored.append(decision)
                prev = decision.hash
        return stored

    def get(self, decision_id: int) -> Decision | None:
        with self._lock, self._read() as cur:
            cur.execute(f"SELECT {', '.join(_COLUMNS)} FROM decisions WHERE id = {self.placeholder}", (decision_id,))
            row = cur.fetchone()
        if row is None:
            return None
        decision = _decision(row)
        if decision is None:
            raise RecordsError(f"decision {decision_id} is unreadable (its stored JSON does not parse) / "
                               f"决定记录 {decision_id} 已损坏")
        return decision

    def count(self) -> int:
        with self._lock, self._read() as cur:
            cur.execute("SELECT COUNT(*) FROM decisions")
            return int(cur.fetchone()[0])

    def head(self) -> tuple[int, str] | None:
        """The id and hash of the last decision (publish it elsewhere: a chain cut short ends at an earlier one)."""
        with self._lock, self._read() as cur:
            cur.execute("SELECT id, hash FROM decisions ORDER BY id DESC LIMIT 1")
            row = cur.fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def verify_chain(self) -> tuple[bool, int | None]:
        """`(True, None)` when every decision checks and follows the one before; else `(False, id)` of the
        first that does not (its contents changed, or the one before it changed, went missing or moved)."""
        report = self.audit()
        return report.ok, report.first_bad

    def audit(self) -> ChainReport:
        """`verify_chain` with the reason and the count of decisions checked."""
        prev, count = GENESIS, 0
        with self._lock, self._read() as cur:
            cur.execute(f"SELECT {', '.join(_COLUMNS)} FROM decisions ORDER BY id")
            while rows := cur.fetchmany(500):
                for row in rows:
                    decision = _decision(row)
                    if decision is None:
                        return ChainReport(False, int(row[0]), "its stored JSON does not parse", count, prev)
                    if decision.hash != sha256_hex(decision.body()) \
                            or decision.facts_sha256 != sha256_hex(decision.facts):
                        return ChainReport(False, decision.id, "its contents do not match its hash: it was altered",
                                           count, prev)
                    if decision.prev_hash != prev:
                        return ChainReport(False, decision.id, "its prev_hash is not the hash of the decision before "
                                           "it: a decision before it was altered, removed or reordered", count, prev)
                    prev = decision.hash
                    count += 1
        return ChainReport(True, None, "", count, prev)


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    first_bad: int | None
    reason: str
    checked: int  # decisions that checked, in order, before the first bad one (all of them when ok)
    head: str  # the hash of the last decision that checked (GENESIS when none)


def _row(d: Decision) -> tuple[Any, ...]:
    return (d.id, d.decided_at, d.policy.name, d.policy.version, d.policy.digest, canonical(d.params).decode(),
            d.as_of, d.subject, d.facts_sha256, canonical(d.facts).decode(), canonical(d.outcomes).decode(),
            d.prev_hash, d.hash)


def _decision(row: Sequence[Any]) -> Decision | None:
    """A stored row as a decision; None when its JSON columns do not parse (a damaged row)."""
    try:
        params, facts, outcomes = json.loads(row[5]), json.loads(row[9]), json.loads(row[10])
    except (TypeError, ValueError):
        return None
    return Decision(int(row[0]), str(row[1]), PolicyRef(str(row[2]), str(row[3]), str(row[4])), params,
                    str(row[6]), str(row[7]), str(row[8]), facts, outcomes, str(row[11]), str(row[12]))


_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY,
  decided_at TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  policy_version TEXT NOT NULL,
  policy_digest TEXT NOT NULL,
  params TEXT NOT NULL,
  as_of TEXT NOT NULL,
  subject TEXT NOT NULL,
  facts_sha256 TEXT NOT NULL,
  facts TEXT NOT NULL,
  outcomes TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS decisions_subject ON decisions (subject);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decision records are append-only / 决定记录只可追加'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decision records are append-only / 决定记录只可追加'); END;
"""


class SqliteLog(DecisionLog):
    def __init__(self, url: str, path: str, create: bool) -> None:
        super().__init__(url)
        memory = path == ":memory:"
        if not memory and not create and not Path(path).is_file():
            raise RecordsError(f"{url}: no such database / 找不到决定记录数据库")
        try:
            target = path if memory or create else f"file:{Path(path).resolve().as_posix()}?mode=rw"
            self._conn = sqlite3.connect(target, uri=not (memory or create), isolation_level=None,
                                         check_same_thread=False, timeout=30)
            if not memory:
                self._conn.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
            if create:
                self._conn.executescript(_SQLITE_SCHEMA)
            self._conn.execute("SELECT COUNT(*) FROM decisions").fetchone()
        except sqlite3.Error as e:
            raise RecordsError(f"{url}: cannot open the decision records: {e}") from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[_Cursor]:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")  # the write lock first: another process appends after, not between
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[_Cursor]:
        yield self._conn.cursor()

    def close(self) -> None:
        self._conn.close()


_POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
  id BIGINT PRIMARY KEY,
  decided_at TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  policy_version TEXT NOT NULL,
  policy_digest TEXT NOT NULL,
  params TEXT NOT NULL,
  as_of TEXT NOT NULL,
  subject TEXT NOT NULL,
  facts_sha256 TEXT NOT NULL,
  facts TEXT NOT NULL,
  outcomes TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS decisions_subject ON decisions (subject);
CREATE OR REPLACE FUNCTION safetyrules_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'decision records are append-only / 决定记录只可追加'; END $$;
CREATE OR REPLACE TRIGGER decisions_no_change BEFORE UPDATE OR DELETE ON decisions
FOR EACH ROW EXECUTE FUNCTION safetyrules_append_only();
CREATE OR REPLACE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions
FOR EACH STATEMENT EXECUTE FUNCTION safetyrules_append_only();
"""


class PostgresLog(DecisionLog):  # tested when SAFETYRULES_TEST_POSTGRES names a database
    placeholder = "%s"

    def __init__(self, url: str, create: bool) -> None:
        super().__init__(url)
        try:
            psycopg: Any = importlib.import_module("psycopg")
        except ImportError:
            raise RecordsError(f"{url}: PostgreSQL decision records need psycopg: pip install 'psycopg[binary]' "
                               "/ 使用 PostgreSQL 需安装 psycopg；或使用 sqlite:///decisions.db") from None
        try:
            self._conn: Any = psycopg.connect(url, autocommit=True)
            if create:
                with self._conn.transaction():
                    self._conn.execute(_POSTGRES_SCHEMA)
            self._conn.execute("SELECT COUNT(*) FROM decisions").fetchone()
        except psycopg.Error as e:
            raise RecordsError(f"{url}: cannot open the decision records: {e}") from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[_Cursor]:
        with self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute("LOCK TABLE decisions IN SHARE ROW EXCLUSIVE MODE")  # one appender at a time
            yield cur

    @contextlib.contextmanager
    def _read(self) -> Iterator[_Cursor]:
        with self._conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        self._conn.close()


def open_records(url: str, create: bool = True) -> DecisionLog:
    """The decision records at `url`: `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite:///:memory:`,
    a bare file path (SQLite), or `postgresql://…` (needs psycopg). `create=False` opens an existing store only
    (`safetyrules replay`, `audit`). Raises `RecordsError`."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresLog(url, create)
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://"):]
        if not rest.startswith("/") or rest == "/":
            raise RecordsError(f"{url}: expected sqlite:///relative/path.db or sqlite:////absolute/path.db")
        return SqliteLog(url, rest[1:], create)
    if "://" in url:
        raise RecordsError(f"{url}: unknown database URL; use sqlite:///decisions.db or postgresql://… / "
                           "不支持的数据库地址")
    return SqliteLog(url, url, create)
