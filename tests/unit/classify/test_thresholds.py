"""Per-label threshold tuning on validation scores."""

from __future__ import annotations

import numpy as np
import pytest

from arnews_ml.classify.thresholds import DEFAULT_GRID, tune_thresholds
from arnews_ml.exceptions import DataError


def test_default_grid_points_equal_their_literals():
    assert len(DEFAULT_GRID) == 91
    assert DEFAULT_GRID[0] == 0.05 and DEFAULT_GRID[25] == 0.3 and DEFAULT_GRID[-1] == 0.95
    assert DEFAULT_GRID[1] == 0.06


def test_finds_the_threshold_that_separates_the_classes():
    # label 0: positives score 0.30-0.40, negatives <= 0.25 -> only 0.30 gives F1 = 1
    # label 1: positives >= 0.80, negatives <= 0.72 -> 0.73 to 0.80 all perfect; 0.73 is closest to 0.5
    Y = np.array([[1, 1], [1, 1], [1, 0], [0, 0], [0, 0], [0, 0]])
    S = np.array(
        [[0.30, 0.80], [0.35, 0.90], [0.40, 0.72], [0.10, 0.70], [0.20, 0.10], [0.25, 0.00]]
    )
    np.testing.assert_array_equal(tune_thresholds(Y, S), [0.30, 0.73])


def test_ties_go_to_the_threshold_closest_to_half_then_the_lower_one():
    Y = np.array([[1], [0]])
    assert tune_thresholds(Y, np.array([[1.0], [0.0]]))[0] == 0.5  # every grid point is perfect
    S = np.array([[0.7], [0.3]])
    assert tune_thresholds(Y, S, grid=np.array([0.6, 0.4]))[0] == 0.4  # equidistant: lower wins


def test_label_without_positives_keeps_half():
    Y = np.array([[1, 0], [0, 0]])
    S = np.array([[0.9, 0.9], [0.1, 0.8]])
    assert tune_thresholds(Y, S)[1] == 0.5


def test_shape_mismatch_is_a_data_error():
    with pytest.raises(DataError, match="same 2-D shape"):
        tune_thresholds(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(DataError, match="0/1"):
        tune_thresholds(np.full((2, 1), 2), np.zeros((2, 1)))
