"""Short-text benchmark: the default `arnews-train` pipeline on a short-text proxy built from ANT.

Some corpora the package is judged on are short social-media news posts (~20 words), where a
character 1-8-gram TF-IDF SVM is the published reference. This proxy cuts ANT multi-source
(../shared/data/ant_multisource, its train and test files) down to short texts:

  titles  each article's title only (``text`` is TITLE, a blank line, then the body; ~9 words)
  lead20  the first 20 words of each article (title included)

Only single-label articles are kept (as in the short-text corpora, so both models are
multiclass: argmax, no thresholds); ``--multilabel`` keeps them all. It prints the test
macro/micro-F1 of the package's default run (and its validation macro-F1, the figure to choose
settings by) next to a plain scikit-learn peer: TF-IDF character 1-8-grams
(``analyzer="char"``, sublinear tf, min_df 2) + one-vs-rest LinearSVC (C=1). Walls are printed
too (one run each, not alternating).

    .venv/bin/python benchmarks/short_texts.py [--proxy titles|lead20|both] [--multilabel]
        [--train-limit N] [overrides]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import measure, require_dataset
from classification import run_package

PROXIES = ("titles", "lead20")


def shorten(texts: pd.Series, proxy: str) -> pd.Series:
    """The short-text proxy of ANT texts: the title (before the first blank line) or the first
    20 words."""
    if proxy == "titles":
        return texts.str.split("\n\n", n=1).str[0].str.strip()
    return texts.str.split().str[:20].str.join(" ")


def run_peer(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    """TF-IDF character 1-8-grams + one-vs-rest LinearSVC: the published short-text reference."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC

    with measure() as total:
        mlb = MultiLabelBinarizer()
        y_train = mlb.fit_transform(train["labels"])
        vectorizer = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 8), sublinear_tf=True, min_df=2
        )
        x_train = vectorizer.fit_transform(train["text"])
        model = OneVsRestClassifier(LinearSVC(C=1.0)).fit(x_train, y_train)
        y_pred = model.predict(vectorizer.transform(test["text"]))
    y_test = mlb.transform(test["labels"])
    return {
        "f1_micro": f1_score(y_test, y_pred, average="micro", zero_division=0),
        "f1_macro": f1_score(y_test, y_pred, average="macro", zero_division=0),
        "wall_seconds": total.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--proxy", choices=(*PROXIES, "both"), default="both")
    parser.add_argument(
        "--multilabel", action="store_true", help="Keep the articles with 2+ labels."
    )
    parser.add_argument(
        "--train-limit", type=int, default=None, help="Use only the first N training rows."
    )
    args, overrides = parser.parse_known_args()
    logging.basicConfig(level=logging.WARNING)
    folder = require_dataset("ant_multisource")
    train = pd.read_json(folder / "train.jsonl.gz", lines=True)
    test = pd.read_json(folder / "test.jsonl.gz", lines=True)
    if not args.multilabel:
        train = train[train["labels"].str.len() == 1]
        test = test[test["labels"].str.len() == 1]
    if args.train_limit:
        train = train.head(args.train_limit)
    proxies = PROXIES if args.proxy == "both" else (args.proxy,)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        for proxy in proxies:
            short = {}
            for name, frame in (("train", train), ("test", test)):
                frame = frame.assign(text=shorten(frame["text"], proxy))
                frame = frame[frame["text"].str.len() > 0]
                short[name] = frame
                frame.to_json(
                    work / f"{proxy}-{name}.jsonl", orient="records", lines=True, force_ascii=False
                )
            words = short["train"]["text"].str.split().str.len()
            print(
                f"{proxy}: train {len(short['train']):,}, test {len(short['test']):,} texts, "
                f"{words.mean():.1f} words on average"
            )
            t0 = time.perf_counter()
            result, ours = run_package(
                work / f"{proxy}-train.jsonl",
                work / f"{proxy}-test.jsonl",
                work,
                list(overrides),
                new_store=False,
            )
            ours["wall_seconds"] = time.perf_counter() - t0
            ours["val_f1_macro"] = result.metrics.get("val_f1_macro", float("nan"))
            rows[f"{proxy}: arnews-train (default)"] = ours
            rows[f"{proxy}: char 1-8 TF-IDF + LinearSVC (peer)"] = run_peer(
                short["train"], short["test"]
            )
    table = pd.DataFrame(rows).T[["f1_macro", "f1_micro", "val_f1_macro", "wall_seconds"]]
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    for proxy in proxies:
        ours = rows[f"{proxy}: arnews-train (default)"]["f1_macro"]
        peer = rows[f"{proxy}: char 1-8 TF-IDF + LinearSVC (peer)"]["f1_macro"]
        print(f"{proxy}: macro-F1 package {ours:.4f} vs peer {peer:.4f} (target: >= peer)")
    print(f"config: {' '.join(overrides) or 'defaults'}")


if __name__ == "__main__":
    main()
