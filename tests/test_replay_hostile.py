"""`replay` on ordinary and hostile saved files: error lines, never a traceback (issue 12, failure 4)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from tests.test_cli import run
from tests.test_pipeline import WIRE_ITEMS, rss

LINKLESS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Briefs</title>'
    b"<item><title>Weather for the weekend</title></item><item><title>Market prices</title></item>"
    b"</channel></rss>"
)


def hostile_entry_feed() -> bytes:
    """Entries whose keys the database would refuse as they come: a NUL in a guid (PostgreSQL text cannot
    hold one), a link with a control character, a guid and a title far past an index entry's size."""
    korean_title = "북한 " * 900
    emoji_guid = "\U0001f600" * 1_000
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>' + "Desk " * 100 + "</title>"
        "<item><guid>a&#0;b</guid><title>Nul in the guid</title></item>"
        "<item><guid>c</guid><title>Control in the link</title><link>https://e.example/a&#1;b</link></item>"
        f"<item><guid>{emoji_guid}</guid><title>{korean_title}</title><link>https://e.example/k</link></item>"
        "</channel></rss>"
    ).encode()


def replay(*paths: Path, db: str) -> list[dict[str, Any]]:
    """`advocacy-bot replay --db DB PATH...`: every line JSON, exit 0, no traceback."""
    result = run("replay", "--db", db, *map(str, paths))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_replay_gives_error_lines_for_hostile_files_and_goes_on(tmp_path: Path, database_url: str) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    # Two snapshots of one feed, a day apart: the second repeats one entry and brings a new one.
    (saved / "wire-monday.xml").write_bytes(rss("Wire", WIRE_ITEMS[:1]))
    (saved / "wire-tuesday.xml").write_bytes(rss("Wire", WIRE_ITEMS))
    (saved / "briefs.rss").write_bytes(LINKLESS)
    (saved / "desk.xml").write_bytes(hostile_entry_feed())
    (saved / "daily.xml.gz").write_bytes(gzip.compress(rss("Daily", WIRE_ITEMS[1:]).replace(b"wire.", b"daily.")))
    (saved / "cut.xml.gz").write_bytes(gzip.compress(LINKLESS)[:-12])
    (saved / "bomb.xml.gz").write_bytes(gzip.compress(b" " * (6 * 2**20)))
    (saved / "empty.atom").write_bytes(b"")
    (saved / "noise.rdf").write_bytes(bytes(range(256)) * 4)
    (saved / "notes.txt").write_text("not a feed file name: not read from a folder")

    records = replay(saved, db=database_url)
    errors = {Path(r["file"]).name: r["error"] for r in records if r["type"] == "error"}
    assert set(errors) == {"cut.xml.gz", "bomb.xml.gz", "empty.atom", "noise.rdf"}
    assert errors["cut.xml.gz"].startswith("unreadable: ")
    assert errors["bomb.xml.gz"].startswith("too-large: ")

    items = [r for r in records if r["type"] == "item"]
    by_title: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_title.setdefault(item["title"], []).append(item)
    # The report listed by both snapshots is stored once; its second listing says of what and why.
    first, again = by_title[WIRE_ITEMS[0][0]]
    assert (first["duplicate_of"], first["duplicate_reason"]) == (None, None)
    assert again["duplicate_of"] == first["link"] and again["duplicate_reason"] == "same guid"
    assert first["topics"] and first["story"] is not None and again["story"] == first["story"]
    # The gzipped feed is read; its copy of the missile report has another link and outlet, so it is new.
    copies = sorted((i["feed"], i["duplicate_of"]) for i in by_title[WIRE_ITEMS[1][0]])
    assert copies == [("Daily", None), ("Wire", None)]
    # Linkless entries and entries with keys no index could hold are stored like any other.
    for title in ("Weather for the weekend", "Market prices", "Nul in the guid", "Control in the link"):
        (item,) = by_title[title]
        assert item["link"] == "" and item["duplicate_of"] is None
    (korean,) = [i for i in items if i["title"].startswith("북한")]
    assert korean["feed"] == ("Desk " * 40).strip()

    # The same files again: every entry is now a repeat, and the output still holds no traceback.
    again_records = replay(saved, db=database_url)
    assert all(r["duplicate_of"] for r in again_records if r["type"] == "item")
