"""Plots are written as non-empty PNG files without touching pyplot's global state."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from arnews_ml.classify.plots import (
    display_labels,
    plot_confusion_matrix,
    plot_label_confusion,
    plot_precision_recall,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LABELS = ["politics", "sports", "economy"]


def _is_png(path) -> bool:
    data = path.read_bytes()
    return data.startswith(PNG_MAGIC) and len(data) > 2000


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=40)
    Y = np.eye(3, dtype=int)[y]
    scores = np.clip(Y * 0.6 + rng.random((40, 3)) * 0.5, 0, 1)
    return Y, scores


def test_confusion_matrix_png(tmp_path):
    Y, scores = _data()
    pred = np.eye(3, dtype=int)[scores.argmax(axis=1)]
    fig = plot_confusion_matrix(Y, pred, LABELS, tmp_path / "cm.png")
    assert _is_png(tmp_path / "cm.png")
    assert fig.axes
    plot_confusion_matrix(Y.argmax(1), pred.argmax(1), LABELS, tmp_path / "n.png", normalize="true")
    assert _is_png(tmp_path / "n.png")


def test_label_confusion_png(tmp_path):
    Y, scores = _data(1)
    Y[:5, 1] = 1  # some multi-label rows
    plot_label_confusion(Y, (scores >= 0.5).astype(int), LABELS, tmp_path / "sub" / "lc.png")
    assert _is_png(tmp_path / "sub" / "lc.png")


def test_precision_recall_png_with_a_label_without_positives(tmp_path):
    Y, scores = _data(2)
    Y[:, 2] = 0
    fig = plot_precision_recall(Y, scores, LABELS, tmp_path / "pr.png")
    assert _is_png(tmp_path / "pr.png")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[2] == "economy (no positives)"
    assert legend[0].startswith("politics (AP=")


def test_non_latin_labels_are_not_drawn():
    assert display_labels(["sports", "سياسة"]) == ["sports", "label_1"]


def test_importing_classify_does_not_import_matplotlib():
    code = "import sys, arnews_ml.classify; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
