"""Notebook 02's exercise checks: the right answer passes, a wrong one raises with a hint."""

import pytest
import torch

from cbmil.data.features import segment_pool
from cbmil.exercises import nb02
from cbmil.losses import mil_ranking_loss
from cbmil.train import TrainConfig


@pytest.fixture
def toy_pair():
    """The toy pair of section 2: abnormal maximum 0.8, normal maximum 0.3."""
    abnormal = torch.full((32,), 0.1)
    abnormal[10:14] = torch.tensor([0.4, 0.8, 0.7, 0.3])
    normal = torch.full((32,), 0.05)
    normal[20] = 0.3
    return abnormal, normal


def test_exercise_1_is_the_rise_that_brings_the_hinge_to_zero(toy_pair, capsys):
    abnormal, normal = toy_pair
    nb02.exercise_1(0.5, abnormal, normal)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="Exercise 1: .* Hint"):
        nb02.exercise_1(1.3, abnormal, normal)             # the new maximum, not the rise
    nb02.exercise_1(None, abnormal, normal)
    assert "not answered yet" in capsys.readouterr().out
    raised = abnormal.clone()
    raised[11] = 0.9                                        # a different pair: a different answer
    nb02.exercise_1(0.4, raised, normal)


def test_pooled_snippets_follows_segment_pool():
    snippets = torch.arange(7, dtype=torch.float32)[:, None].numpy()
    pooled = segment_pool(snippets)[:, 0]
    for s in range(32):
        members = nb02.pooled_snippets(7, s)
        assert pooled[s] == pytest.approx(sum(members) / len(members))
    assert nb02.pooled_snippets(100, 31) == {96, 97, 98, 99}
    with pytest.raises(ValueError, match="segment"):
        nb02.pooled_snippets(7, 32)


def test_exercise_2_accepts_the_last_snippet_alone(capsys):
    nb02.exercise_2([6])
    nb02.exercise_2(6)
    assert capsys.readouterr().out.count("correct") == 2
    for wrong in ([5, 6], [6, 7], 31, "six"):
        with pytest.raises(AssertionError, match="Exercise 2: .* Hint"):
            nb02.exercise_2(wrong)
    nb02.exercise_2([96, 97, 98, 99], n_snippets=100)


def test_pairing_factor_is_exactly_the_batch_size():
    for batch in (1, 4, 30):
        assert nb02.pairing_factor(batch) == pytest.approx(batch, rel=1e-12)
    # with class weights the two pairings differ in more than scale: the factor is not B
    g = torch.Generator().manual_seed(0)
    a, n = torch.rand(4, 32, generator=g), torch.rand(4, 32, generator=g)
    w = torch.tensor([0.1, 1.0, 2.0, 0.9])
    ratio = (mil_ranking_loss(a, n, w, pairing="all") / mil_ranking_loss(a, n, w)).item()
    assert ratio != pytest.approx(4, rel=1e-3)


def test_exercise_3_is_the_batch_size_and_no_clipping(capsys):
    batch = TrainConfig().batch_size
    nb02.exercise_3((batch, False))
    assert "Exercise 3 (clip): correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"Exercise 3 \(factor\): .* Hint"):
        nb02.exercise_3((batch - 0.5, False))             # "about B" is not enough
    with pytest.raises(AssertionError, match=r"Exercise 3 \(clip\): .* Hint"):
        nb02.exercise_3((batch, True))
    with pytest.raises(AssertionError, match="Exercise 3: .* pair"):
        nb02.exercise_3(batch)                            # not a pair
    nb02.exercise_3((4, False), batch_size=4)
    nb02.exercise_3(None)
    assert "not answered yet" in capsys.readouterr().out
