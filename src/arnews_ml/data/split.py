"""Seeded train/val/test splits: stratified, multi-label iterative (Sechidis et al. 2011), by date, predefined."""

from __future__ import annotations

import logging
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import pandas as pd

from arnews_ml.data.schema import SPLIT_NAMES, normalize_split_values
from arnews_ml.exceptions import ConfigError, DataError

if TYPE_CHECKING:
    from arnews_ml.data.corpus import Corpus

__all__ = ["SPLIT_METHODS", "SplitMethod", "Splits", "split_corpus"]

logger = logging.getLogger(__name__)

SplitMethod = Literal["auto", "stratified", "iterative", "date", "predefined"]
SPLIT_METHODS: tuple[str, ...] = get_args(SplitMethod)

_TRAIN, _VAL, _TEST = 0, 1, 2
_RARE = "\x00rare"


@dataclass(frozen=True, eq=False)
class Splits:
    """Train, validation and test frames (each with a ``split`` column); unpacks as three.

    Attributes:
        train: Training rows, in their original order, fresh index.
        val: Validation rows (may be empty when ``val_size=0``).
        test: Test rows.
        method: The method actually used (``auto`` resolved).
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    method: str = ""

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.train, self.val, self.test))

    def sizes(self) -> dict[str, int]:
        """Rows per split: ``{"train": n, "val": n, "test": n}``."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def _check_size(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ConfigError(
            f"{name} must be a fraction in [0, 1), got {value!r}. E.g. {name}=0.1 for 10%."
        )
    return float(value)


def _count(size: float, n: int) -> int:
    return 0 if size == 0 else max(1, round(size * n))


def _label_lists(frame: pd.DataFrame) -> list[list[str]]:
    if "labels" not in frame.columns:
        return [[] for _ in range(len(frame))]
    return [
        sorted({str(x) for x in v}) if isinstance(v, list | tuple | np.ndarray) else []
        for v in frame["labels"]
    ]


def _stratify_keys(keys: np.ndarray) -> np.ndarray:
    """Keys with a single member go to one rare bucket (sklearn needs >= 2 per class)."""
    values, counts = np.unique(keys, return_counts=True)
    rare = set(values[counts < 2].tolist())
    if not rare:
        return keys
    out = np.array([_RARE if k in rare else k for k in keys], dtype=object)
    if len(rare) == 1:  # a lone rare member joins the largest class
        out[out == _RARE] = values[np.argmax(counts)]
    return out


def _take_stratified(
    idx: np.ndarray, keys: np.ndarray, n_take: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rest, taken) positions; stratified when sklearn can, plain shuffled split otherwise."""
    from sklearn.model_selection import train_test_split

    if n_take == 0:
        return idx, idx[:0]
    try:
        rest, taken = train_test_split(
            idx, test_size=n_take, random_state=seed, stratify=_stratify_keys(keys[idx])
        )
    except ValueError as exc:  # fewer rows to take than classes, and the like
        logger.info("split stratified=false reason=%r", str(exc))
        rest, taken = train_test_split(idx, test_size=n_take, random_state=seed, shuffle=True)
    return np.asarray(rest), np.asarray(taken)


def _stratified_folds(labels: Sequence[list[str]], counts: Sequence[int], seed: int) -> np.ndarray:
    keys = np.array(["|".join(x) for x in labels], dtype=object)
    idx = np.arange(len(keys))
    folds = np.full(len(keys), _TRAIN, dtype=np.int8)
    rest, test = _take_stratified(idx, keys, counts[_TEST], seed)
    folds[test] = _TEST
    _, val = _take_stratified(rest, keys, counts[_VAL], seed)
    folds[val] = _VAL
    return folds


def _pick(
    scores: list[float], active: list[bool], tie: list[float], rng: np.random.Generator
) -> int:
    """Fold with the highest score; ties by the highest ``tie``, then at random."""
    best = max(s for s, a in zip(scores, active, strict=True) if a)
    cand = [j for j in range(3) if active[j] and scores[j] == best]
    if len(cand) > 1:
        best_tie = max(tie[j] for j in cand)
        cand = [j for j in cand if tie[j] == best_tie]
    return cand[0] if len(cand) == 1 else int(cand[rng.integers(len(cand))])


def _iterative_folds(labels: Sequence[list[str]], counts: Sequence[int], seed: int) -> np.ndarray:
    """Iterative stratification (Sechidis, Tsoumakas & Vlahavas, ECML PKDD 2011).

    Labels are handled rarest first; each of a label's unassigned documents goes to the fold
    that most wants that label (ties: the fold that wants most documents, then random).
    Documents without labels then fill the folds by overall demand. A label that ends up
    absent from train while present elsewhere gets one document moved into train.
    """
    rng = np.random.default_rng(seed)
    n = len(labels)
    names = sorted({x for row in labels for x in row})
    index = {name: i for i, name in enumerate(names)}
    row_labels = [[index[x] for x in row] for row in labels]
    ratio = [c / n for c in counts]
    active = [c > 0 for c in counts]
    rows_of: list[list[int]] = [[] for _ in names]
    for r in rng.permutation(n).tolist():
        for lab in row_labels[r]:
            rows_of[lab].append(r)
    desired = [float(c) for c in counts]
    desired_l = [[ratio[j] * len(rows) for j in range(3)] for rows in rows_of]
    remaining = np.array([len(rows) for rows in rows_of], dtype=np.int64)
    folds = np.full(n, -1, dtype=np.int8)
    while remaining.sum() > 0:
        lab = int(np.argmin(np.where(remaining > 0, remaining, np.iinfo(np.int64).max)))
        for r in rows_of[lab]:
            if folds[r] >= 0:
                continue
            fold = _pick(desired_l[lab], active, desired, rng)
            folds[r] = fold
            desired[fold] -= 1
            for other in row_labels[r]:
                desired_l[other][fold] -= 1
                remaining[other] -= 1
    for r in rng.permutation(np.flatnonzero(folds < 0)).tolist():
        fold = _pick(desired, active, [0.0, 0.0, 0.0], rng)
        folds[r] = fold
        desired[fold] -= 1
    if active[_TRAIN]:
        _ensure_labels_in_train(folds, row_labels, rows_of)
    return folds


def _ensure_labels_in_train(
    folds: np.ndarray, row_labels: list[list[int]], rows_of: list[list[int]]
) -> None:
    for rows in rows_of:
        if rows and not any(folds[r] == _TRAIN for r in rows):
            # the document with the fewest labels disturbs the other labels least
            move = min(rows, key=lambda r: len(row_labels[r]))
            folds[move] = _TRAIN


def _folds(
    labels: Sequence[list[str]], counts: Sequence[int], strategy: str, seed: int
) -> np.ndarray:
    if strategy == "iterative":
        return _iterative_folds(labels, counts, seed)
    return _stratified_folds(labels, counts, seed)


def _is_multilabel(labels: Sequence[list[str]]) -> bool:
    return any(len(x) >= 2 for x in labels)


def _date_folds(frame: pd.DataFrame, date_column: str, counts: Sequence[int]) -> np.ndarray:
    if date_column not in frame.columns:
        raise DataError(
            f"method='date' needs a {date_column!r} column; columns are: "
            f"{', '.join(map(str, frame.columns))}. Set date_column or use method='stratified'."
        )
    dates = pd.to_datetime(frame[date_column], errors="coerce")
    missing = int(dates.isna().sum())
    if missing:
        raise DataError(
            f"method='date' needs a date on every row, but {missing} of {len(frame)} rows have "
            f"no (parseable) {date_column!r}. Fix or drop them, or use method='stratified' / "
            "'iterative'."
        )
    order = np.argsort(dates.to_numpy(), kind="stable")  # oldest first; ties keep file order
    folds = np.empty(len(frame), dtype=np.int8)
    n_train = counts[_TRAIN]
    folds[order[:n_train]] = _TRAIN
    folds[order[n_train : n_train + counts[_VAL]]] = _VAL
    folds[order[n_train + counts[_VAL] :]] = _TEST
    return folds


def _predefined_folds(
    frame: pd.DataFrame,
    labels: Sequence[list[str]],
    val_size: float,
    test_size: float,
    seed: int,
) -> np.ndarray:
    if "split" not in frame.columns:
        raise DataError(
            "method='predefined' needs a 'split' column (train/val/test); load the corpus with "
            "train_path/val_path/test_path, or use method='auto'."
        )
    names = normalize_split_values(frame["split"], "the corpus").to_numpy()
    folds = np.select([names == "train", names == "val"], [_TRAIN, _VAL], _TEST).astype(np.int8)
    if not (folds == _TRAIN).any():
        raise DataError("method='predefined': the 'split' column has no 'train' rows.")
    n = len(frame)
    strategy = "iterative" if _is_multilabel(labels) else "stratified"
    # Missing val (or test) rows are carved out of train, sized as a share of the whole corpus.
    for fold, size, name in ((_VAL, val_size, "val"), (_TEST, test_size, "test")):
        if size == 0 or (folds == fold).any():
            continue
        train_idx = np.flatnonzero(folds == _TRAIN)
        n_take = _count(size, n)
        if n_take >= len(train_idx):
            raise DataError(
                f"Cannot carve {n_take} {name} rows out of {len(train_idx)} train rows; "
                f"lower {name}_size."
            )
        sub = _folds(
            [labels[i] for i in train_idx], [len(train_idx) - n_take, n_take, 0], strategy, seed
        )
        folds[train_idx[sub == _VAL]] = fold
        logger.info("split predefined carved=%s rows=%d strategy=%s", name, n_take, strategy)
    return folds


def split_corpus(
    frame: pd.DataFrame | Corpus,
    *,
    method: SplitMethod = "auto",
    val_size: float = 0.1,
    test_size: float = 0.2,
    seed: int = 13,
    date_column: str = "date",
) -> Splits:
    """Split a corpus frame into train/val/test, deterministically for a given seed.

    Methods:
        ``stratified``: single-label; scikit-learn ``train_test_split`` stratified on the
            label set of each row (classes with one member share a bucket; when stratifying
            is impossible it falls back to a plain shuffled split). Rows without labels are fine.
        ``iterative``: multi-label iterative stratification (Sechidis et al. 2011), which also
            keeps every label in train when it can.
        ``date``: oldest rows train, next val, newest test; every row needs a date.
        ``predefined``: the ``split`` column; missing val (or test) rows are carved out of
            train (iterative if multi-label, else stratified) with ``val_size``/``test_size``.
        ``auto``: ``predefined`` with a ``split`` column, else ``iterative`` if any row has
            two or more labels, else ``stratified``.

    Args:
        frame: A corpus frame (or a :class:`Corpus`).
        method: One of the methods above.
        val_size: Share of all rows for validation, in [0, 1); 0 gives an empty val frame.
        test_size: Share of all rows for test, in [0, 1).
        seed: Random seed (unused by ``date``).
        date_column: Column that ``date`` sorts on.

    Returns:
        :class:`Splits` with each part in original row order and a ``split`` column.

    Raises:
        ConfigError: Unknown method or invalid sizes.
        DataError: Too few rows, missing dates for ``date``, no ``split`` for ``predefined``.
    """
    if not isinstance(frame, pd.DataFrame) and hasattr(frame, "frame"):
        frame = frame.frame
    if method not in SPLIT_METHODS:
        raise ConfigError(
            f"split method must be one of {', '.join(SPLIT_METHODS)}; got {method!r}."
        )
    val_size = _check_size("val_size", val_size)
    test_size = _check_size("test_size", test_size)
    if val_size + test_size >= 1:
        raise ConfigError(
            f"val_size + test_size must leave rows for training; got {val_size} + {test_size}."
        )
    n = len(frame)
    labels = _label_lists(frame)
    if method == "auto":
        if "split" in frame.columns and frame["split"].notna().any():
            method = "predefined"
        else:
            method = "iterative" if _is_multilabel(labels) else "stratified"

    if method == "predefined":
        folds = _predefined_folds(frame, labels, val_size, test_size, seed)
    else:
        n_val, n_test = _count(val_size, n), _count(test_size, n)
        if n - n_val - n_test < 1:
            raise DataError(
                f"Too few rows ({n}) for val_size={val_size} and test_size={test_size}: "
                "no row would be left for training."
            )
        counts = [n - n_val - n_test, n_val, n_test]
        if method == "date":
            folds = _date_folds(frame, date_column, counts)
        else:
            folds = _folds(labels, counts, method, seed)

    parts = []
    for code, name in enumerate(SPLIT_NAMES):
        part = frame.iloc[np.flatnonzero(folds == code)].reset_index(drop=True)
        part["split"] = name
        parts.append(part)
    splits = Splits(*parts, method=method)
    logger.info(
        "split_corpus method=%s seed=%d %s",
        method,
        seed,
        " ".join(f"{k}={v}" for k, v in splits.sizes().items()),
    )
    return splits
