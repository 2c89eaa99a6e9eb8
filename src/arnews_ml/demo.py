"""The main job (`make demo`): a real experiment on the bundled sample corpus, logged to MLflow.

It composes the same configs as `arnews-train`, so what it shows is what the commands do.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

__all__ = ["EXAMPLE_ARTICLES", "main"]

#: Two new articles (written for this demo) to show inference on text the model never saw.
EXAMPLE_ARTICLES = [
    "أعلنت قيادة العمليات المشتركة تنفيذ عملية أمنية في صحراء الأنبار لملاحقة خلايا داعش "
    "بإسناد جوي من طيران التحالف الدولي، وأسفرت عن تدمير عدد من الأوكار.",
    "صوّت مجلس النواب في جلسته اليوم على مشروع قانون الموازنة العامة بعد خلافات بين الكتل "
    "السياسية حول حصص المحافظات وتمويل المشاريع الاستثمارية.",
]


def _banner(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def run_classification(out_root: Path) -> None:
    """Train the default classifier on the sample corpus and show what came out."""
    from arnews_ml.config import compose
    from arnews_ml.data.summary import format_summary
    from arnews_ml.inference import load_model
    from arnews_ml.tasks.train_classifier import format_result, train_classifier

    cfg = compose("train", [f"paths.output_dir={out_root / 'train'}"])
    _banner("1. Train a classifier on the bundled sample corpus (arnews-train)")
    result = train_classifier(cfg)

    _banner("Corpus")
    corpus_report = json.loads(
        (result.output_dir / "corpus_report.json").read_text(encoding="utf-8")
    )
    print(format_summary(corpus_report, max_lines=8))

    _banner("Results")
    print(format_result(result))

    _banner("2. Load the model back and label two new articles")
    model = load_model(result.model_uri or result.bundle_dir)
    scores = model.predict_scores(EXAMPLE_ARTICLES)
    predicted = model.predict_from_scores(scores)
    for text, labels, (_, row) in zip(EXAMPLE_ARTICLES, predicted, scores.iterrows(), strict=True):
        top = row.sort_values(ascending=False).head(3)
        shown = ", ".join(f"{k.removeprefix('score_')} {v:.2f}" for k, v in top.items())
        print(f"- {text[:60]}...\n    labels: {labels}   top scores: {shown}")


def run_topics(out_root: Path) -> None:
    """Fit the default topic model on the sample corpus and show its topics and metrics."""
    from arnews_ml.config import compose
    from arnews_ml.tasks.fit_topics import fit_topics, format_topics_result

    cfg = compose("topics", [f"paths.output_dir={out_root / 'topics'}"])
    _banner("3. Fit a topic model on the same corpus (arnews-topics)")
    result = fit_topics(cfg)
    print(format_topics_result(result))


def main() -> None:
    """Run the demo end to end; exit status 1 on failure."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("arnews_ml").setLevel(logging.INFO)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out_root = Path("outputs") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    started = time.perf_counter()
    try:
        run_classification(out_root)
        run_topics(out_root)
    except Exception as err:  # the demo's last line must say what failed
        print(f"\ndemo failed: {type(err).__name__}: {err}", file=sys.stderr)
        raise
    _banner("Next")
    uri = os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    print(f"finished in {time.perf_counter() - started:.0f} s; runs are in {uri}")
    print("open the MLflow UI:  make ui   (then http://127.0.0.1:5000)")
    print("a sweep of heads:    .venv/bin/arnews-train -m classifier=svm,logreg,linear_svc,sgd")
    print("a search (Optuna):   .venv/bin/arnews-train -m hparams_search=svm_optuna")
    print(
        "compare topic models: .venv/bin/arnews-topics -m topic_model=bertopic,bertopic_kmeans,lda,nmf"
    )
    print(
        "rank the runs:       .venv/bin/arnews-runs   (--sweep ID, --promote RUN --alias champion)"
    )


if __name__ == "__main__":
    main()
