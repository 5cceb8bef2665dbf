"""`pulse keys` against a real PostgreSQL migrated by the archiver (run as a process)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from pulse_client.cli import main
from pulse_client.keys import api_key_hash, plain_dsn

pytestmark = pytest.mark.postgres


async def _migrate(database_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pulse_archiver",
        "migrate",
        env={**os.environ, "PULSE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, out.decode()


async def _pulse(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_create_list_revoke(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    await _migrate(database_url)
    db = ["--database-url", database_url]
    code, out, _ = await _pulse(
        capsys, "keys", "create", "--tenant", "acme", "--name", "ci", "--json", *db
    )
    assert code == 0
    made = json.loads(out)
    assert made["tenant"] == "acme"
    assert made["name"] == "ci"
    assert made["revoked_at"] is None
    assert made["key"].startswith("pulse_")
    assert made["prefix"] == made["key"][:12]

    code, out, _ = await _pulse(capsys, "keys", "create", "--tenant", "other", *db)
    assert code == 0
    assert "not shown again" in out
    code, out, _ = await _pulse(capsys, "keys", "list", "--tenant", "acme", "--json", *db)
    assert [k["key_id"] for k in json.loads(out)] == [made["key_id"]]
    assert made["key"] not in out  # listing never shows a key

    code, out, _ = await _pulse(capsys, "keys", "revoke", made["key_id"], *db)
    assert code == 0
    assert "revoked" in out
    code, out, _ = await _pulse(capsys, "keys", "list", *db)
    assert made["key_id"] not in out
    assert "other" in out
    code, out, _ = await _pulse(capsys, "keys", "list", "--all", "--json", *db)
    assert {k["key_id"]: k["revoked_at"] is not None for k in json.loads(out)}[made["key_id"]]

    code, _, err = await _pulse(capsys, "keys", "revoke", "key_nope", *db)
    assert code == 1
    assert "no API key" in err
    code, _, err = await _pulse(capsys, "keys", "create", "--tenant", "bad tenant!", *db)
    assert code == 2
    assert "tenant must match" in err


async def test_an_unmigrated_database_says_what_to_do(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await _pulse(capsys, "keys", "list", "--database-url", database_url)
    assert code == 2
    assert "pulse-archiver migrate" in err


def test_urls_and_hashes() -> None:
    assert plain_dsn("postgresql+asyncpg://u@h:5/db?ssl=x") == "postgresql://u@h:5/db?ssl=x"
    with pytest.raises(ValueError, match="postgresql"):
        plain_dsn("mysql://u@h/db")
    assert api_key_hash("k") == "8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a"
