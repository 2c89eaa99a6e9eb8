"""A tiny bundle-able test double (EchoModel) for the persistence, tracking and serving tests.

It lives in the package, not in tests/, because ``load_bundle`` only imports classes under
``arnews_ml.`` and because ``mlflow models serve`` runs in another process that must import it.
It is not a real model: do not use it for anything but tests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["EchoModel"]

ECHO_FILE = "echo.json"


class EchoModel:
    """Test double: label "a" when the text contains ``keyword``, else "b".

    Args:
        keyword: The substring that selects label "a".
        labels: The two label names (positive first).
    """

    bundle_kind = "classifier"

    def __init__(self, keyword: str = "النفط", labels: Sequence[str] = ("a", "b")) -> None:
        self.keyword = keyword
        self.labels = tuple(labels)

    def predict_scores(self, texts: Sequence[str]) -> Any:
        """Scores per label, shape (n_texts, 2), as a DataFrame with ``score_<label>`` columns."""
        import pandas as pd

        hits = [1.0 if self.keyword in text else 0.0 for text in texts]
        positive, negative = self.labels
        return pd.DataFrame(
            {f"score_{positive}": hits, f"score_{negative}": [1.0 - h for h in hits]}
        )

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        """One label list per text."""
        positive, negative = self.labels
        return [[positive] if self.keyword in text else [negative] for text in texts]

    def predict_frame(self, texts: Sequence[str]) -> Any:
        """The pyfunc output: a ``labels`` column (list of str) followed by the score columns;
        a text that is not a non-empty string gets an ``error``, as the real models do."""
        from arnews_ml.text.rows import predict_rows

        def predict(valid: list[str]) -> Any:
            frame = self.predict_scores(valid)
            frame.insert(0, "labels", self.predict(valid))
            return frame

        return predict_rows(texts, predict)

    def _write_bundle_parts(self, directory: Path) -> dict[str, Any]:
        payload = {"keyword": self.keyword, "labels": list(self.labels)}
        (Path(directory) / ECHO_FILE).write_text(
            json.dumps(payload, ensure_ascii=False), encoding="utf-8"
        )
        return {"labels": list(self.labels)}

    @classmethod
    def _read_bundle_parts(cls, directory: Path, manifest: dict[str, Any]) -> EchoModel:
        payload = json.loads((Path(directory) / ECHO_FILE).read_text(encoding="utf-8"))
        return cls(keyword=payload["keyword"], labels=payload["labels"])
