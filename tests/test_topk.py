"""The top-k MIL loss (cbmil.losses.topk_mil_loss) and training with it (TrainConfig(loss="topk"))."""

import json
import math

import numpy as np
import pytest
import torch

from cbmil.losses import mil_ranking_loss, sparsity_term, topk_mean, topk_mil_loss
from cbmil.train import LOSSES, RunSettings, TrainConfig, Trainer, Variant, paper_variants, score_bank
from conftest import assert_parameters_close, tiny_world

# two abnormal and two normal bags of 4 segments; their top-2 means are 0.8, 0.25 and 0.3, 0.35
ABNORMAL = [[0.9, 0.1, 0.5, 0.7], [0.2, 0.3, 0.2, 0.1]]
NORMAL = [[0.1, 0.4, 0.2, 0.0], [0.6, 0.1, 0.1, 0.1]]


def bags(dtype=torch.float64):
    return torch.tensor(ABNORMAL, dtype=dtype), torch.tensor(NORMAL, dtype=dtype)


def random_bags(*shape, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen, dtype=dtype), torch.rand(shape, generator=gen, dtype=dtype)


def plain_topk_loss(a, n, w, k, l1, l2):
    """The docstring's formula with plain operations, bag by bag (an independent reference)."""
    terms = []
    for i in range(len(a)):
        p = torch.sort(a[i], descending=True).values[:k].mean()
        terms.append(-w[i] * torch.log(p))
    for j in range(len(n)):
        p = torch.sort(n[j], descending=True).values[:k].mean()
        terms.append(-torch.log(1 - p))
    smooth = torch.stack([((a[i, 1:] - a[i, :-1]) ** 2).sum() for i in range(len(a))]).mean()
    sparse = torch.stack([a[i].sum() for i in range(len(a))]).mean()
    return torch.stack(terms).sum() / (len(a) + len(n)) + l1 * smooth + l2 * sparse


# ----------------------------------------------------------------------------- the loss

def test_topk_loss_equals_the_hand_computation_without_and_with_weights():
    a, n = bags()
    bce = [-math.log(0.8), -math.log(0.25), -math.log(1 - 0.3), -math.log(1 - 0.35)]
    smooth = (0.8 ** 2 + 0.4 ** 2 + 0.2 ** 2 + 3 * 0.1 ** 2) / 2    # mean over the 2 abnormal bags
    sparse = (2.2 + 0.8) / 2
    loss = topk_mil_loss(a, n, k=2, lambda_smooth=0.1, lambda_sparse=0.01)
    assert loss.ndim == 0
    assert loss.item() == pytest.approx(sum(bce) / 4 + 0.1 * smooth + 0.01 * sparse, rel=1e-12)
    weighted = topk_mil_loss(a, n, weights=[2.0, 0.5], k=2, lambda_smooth=0.1, lambda_sparse=0.01)
    expected = (2.0 * bce[0] + 0.5 * bce[1] + bce[2] + bce[3]) / 4 + 0.1 * smooth + 0.01 * sparse
    assert weighted.item() == pytest.approx(expected, rel=1e-12)
    # only the abnormal bags are weighted: scaling the weights leaves the normal bags' terms alone
    only_bce = topk_mil_loss(a, n, weights=[0.0, 0.0], k=2, lambda_smooth=0, lambda_sparse=0)
    assert only_bce.item() == pytest.approx((bce[2] + bce[3]) / 4, rel=1e-12)


def test_defaults_are_k3_and_the_ranking_loss_lambdas():
    a, n = random_bags(5, 32)
    assert topk_mil_loss(a, n).item() == pytest.approx(
        topk_mil_loss(a, n, k=3, lambda_smooth=8e-5, lambda_sparse=8e-5).item(), rel=1e-15)
    # the regularisers are exactly the ranking loss's ("paired": a mean over the abnormal bags)
    ranking_regularisers = mil_ranking_loss(a, n) - mil_ranking_loss(a, n, lambda_smooth=0, lambda_sparse=0)
    regularisers = topk_mil_loss(a, n) - topk_mil_loss(a, n, lambda_smooth=0, lambda_sparse=0)
    assert regularisers.item() == pytest.approx(ranking_regularisers.item(), rel=1e-9)
    squared = topk_mil_loss(a, n, sparsity="squared") - topk_mil_loss(a, n, lambda_sparse=0, sparsity="squared")
    assert squared.item() == pytest.approx(8e-5 * sparsity_term(a, "squared").mean().item(), rel=1e-9)


def test_k1_is_the_max_pooled_bce_and_k_equal_to_s_the_mean():
    a, n = random_bags(6, 8, seed=1)

    def bce(pa, pn):
        return (-(torch.log(pa)).sum() - torch.log(1 - pn).sum()) / (len(pa) + len(pn))

    k1 = topk_mil_loss(a, n, k=1, lambda_smooth=0, lambda_sparse=0)
    torch.testing.assert_close(k1, bce(a.amax(dim=1), n.amax(dim=1)), rtol=1e-12, atol=0)
    ks = topk_mil_loss(a, n, k=8, lambda_smooth=0, lambda_sparse=0)
    torch.testing.assert_close(ks, bce(a.mean(dim=1), n.mean(dim=1)), rtol=1e-12, atol=0)
    assert torch.equal(topk_mean(a, 1), a.amax(dim=1))


def test_models_dimension_gives_m_independent_losses():
    a, n = random_bags(3, 5, 32, seed=2)
    w = torch.rand(3, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64) + 0.5
    shared = torch.tensor([1.0, 2.0, 0.5, 1.5, 3.0], dtype=torch.float64)
    many, many_shared = topk_mil_loss(a, n, w), topk_mil_loss(a, n, shared)
    assert many.shape == (3,)
    for m in range(3):
        torch.testing.assert_close(many[m], topk_mil_loss(a[m], n[m], w[m]), rtol=1e-12, atol=0)
        torch.testing.assert_close(many_shared[m], topk_mil_loss(a[m], n[m], shared), rtol=1e-12, atol=0)
    # a model's loss depends on its own scores only
    moved = a.clone()
    moved[1] = moved[1] * 0.5
    changed = topk_mil_loss(moved, n, w)
    assert changed[0] == many[0] and changed[2] == many[2] and changed[1] != many[1]


def test_abnormal_and_normal_bags_may_differ_in_number():
    a, _ = random_bags(4, 16, seed=4)
    _, n = random_bags(7, 16, seed=5)
    torch.testing.assert_close(topk_mil_loss(a, n, [1.0, 2.0, 0.5, 1.0]),
                               plain_topk_loss(a, n, [1.0, 2.0, 0.5, 1.0], 3, 8e-5, 8e-5), rtol=1e-12, atol=0)


def test_gradient_matches_the_plain_formula_and_gradcheck():
    a, n = random_bags(5, 12, seed=6)
    w = torch.tensor([1.0, 0.3, 2.0, 1.0, 0.7], dtype=torch.float64)
    a1, n1 = a.clone().requires_grad_(), n.clone().requires_grad_()
    a2, n2 = a.clone().requires_grad_(), n.clone().requires_grad_()
    topk_mil_loss(a1, n1, w, k=4, lambda_smooth=0.05, lambda_sparse=0.02).backward()
    plain_topk_loss(a2, n2, w, 4, 0.05, 0.02).backward()
    torch.testing.assert_close(a1.grad, a2.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(n1.grad, n2.grad, rtol=1e-10, atol=1e-12)
    assert (a1.grad != 0).sum(dim=1).min() == 12   # smoothness and sparsity reach every abnormal segment
    assert ((n1.grad != 0).sum(dim=1) == 4).all()  # the pooled term reaches the k top segments only
    # [M, B, S] with [M, B] weights, in float64, against finite differences
    a3, n3 = (x.reshape(1, 5, 12).repeat(2, 1, 1).mul(0.9).add(0.05).requires_grad_() for x in (a, n))
    weights = torch.stack([w, w.flip(0)])
    assert torch.autograd.gradcheck(lambda x, y: topk_mil_loss(x, y, weights, k=3, lambda_smooth=0.1,
                                                               lambda_sparse=0.1), (a3, n3))


def test_the_cross_entropy_stays_finite_at_scores_of_0_and_1():
    # torch's binary_cross_entropy clamps each log at -100: a saturated bag costs 100, not inf
    zeros, ones = torch.zeros(2, 4, requires_grad=True), torch.ones(2, 4, requires_grad=True)
    worst = topk_mil_loss(zeros, ones, lambda_smooth=0, lambda_sparse=0)
    assert worst.item() == pytest.approx(100.0)
    worst.backward()
    assert torch.isfinite(zeros.grad).all() and torch.isfinite(ones.grad).all()
    best = topk_mil_loss(torch.ones(2, 4), torch.zeros(2, 4), lambda_smooth=0, lambda_sparse=0)
    assert best.item() == 0.0
    # close to the ends, the exact -log p and -log(1 - p)
    tiny = torch.full((1, 4), 1e-30, dtype=torch.float64)
    assert topk_mil_loss(tiny, torch.zeros(1, 4, dtype=torch.float64), lambda_smooth=0,
                         lambda_sparse=0).item() == pytest.approx(-math.log(1e-30) / 2, rel=1e-12)
    near_one = torch.full((1, 4), 1 - 1e-7, dtype=torch.float64)
    assert topk_mil_loss(torch.ones(1, 4, dtype=torch.float64), near_one, lambda_smooth=0,
                         lambda_sparse=0).item() == pytest.approx(-math.log(1e-7) / 2, rel=1e-6)
    # float32 scores at the sigmoid's saturation keep a finite gradient
    logits = torch.tensor([[30.0, -30.0, 0.0, 5.0]], requires_grad=True)
    topk_mil_loss(torch.sigmoid(logits), torch.sigmoid(-logits), k=2).backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("k", [0, 33, 2.5, True, "3"])
def test_bad_k_is_refused_naming_the_allowed_range(k):
    a, n = random_bags(2, 32)
    with pytest.raises(ValueError, match=r"k \(segments pooled per bag\) must be an integer with 1 <= k <= S = 32"):
        topk_mil_loss(a, n, k=k)


def test_bad_shapes_weights_and_scores_are_refused_naming_what_was_expected():
    a, n = random_bags(3, 8)
    with pytest.raises(ValueError, match=r"abnormal_scores must have shape \[B, S\].*got shape \(8,\)"):
        topk_mil_loss(a[0], n)
    with pytest.raises(ValueError, match="same number of segments S"):
        topk_mil_loss(a, n[:, :6])
    with pytest.raises(ValueError, match="both be"):
        topk_mil_loss(a, n.unsqueeze(0))
    with pytest.raises(ValueError, match=r"weights must have shape \[B\] = \[3\]"):
        topk_mil_loss(a, n, weights=[1.0, 2.0])
    with pytest.raises(TypeError, match="torch.Tensor"):
        topk_mil_loss(a.numpy(), n)
    with pytest.raises(ValueError, match=r"abnormal_scores must be probabilities in \[0, 1\]"):
        topk_mil_loss(a + 1, n)
    with pytest.raises(ValueError, match=r"normal_scores must be probabilities in \[0, 1\]"):
        topk_mil_loss(a, n.log())  # scores given as logits
    with pytest.raises(ValueError, match="lambda_sparse"):
        topk_mil_loss(a, n, lambda_sparse=-1.0)
    with pytest.raises(ValueError, match="sparsity"):
        topk_mil_loss(a, n, sparsity="cubic")


# ----------------------------------------------------------------------------- training with it

def config(**kw):
    return TrainConfig(**{"iterations": 20, "batch_size": 6, **kw})


def settings(**kw):
    return RunSettings(**{"progress": False, "device": "cpu", "precision": "fp32", **kw})


@pytest.fixture(scope="module")
def tiny_seed3():
    return tiny_world(3)


def test_train_config_loss_options_are_checked():
    assert TrainConfig().loss == "ranking" and TrainConfig().topk == 3 and LOSSES == ("ranking", "topk")
    with pytest.raises(ValueError, match="TrainConfig.loss must be one of 'ranking', 'topk'; got 'top-k'"):
        TrainConfig(loss="top-k")
    for k in (0, 33, 2.5, True):
        with pytest.raises(ValueError, match=r"TrainConfig.topk must be an integer with 1 <= topk <= 32"):
            TrainConfig(loss="topk", topk=k)
    with pytest.raises(ValueError, match="loss='topk' gives every bag its own term"):
        TrainConfig(loss="topk", pairing="all")
    assert TrainConfig(loss="topk", topk=32).topk == 32


def test_training_with_the_topk_loss_lowers_it_from_equal_starts(tiny_seed3):
    # equal class counts in the tiny world: only raw weights (all < 1) make CB-MIL differ from MIL
    variants = [Variant("MIL"), Variant("CB-MIL 0.999", 0.999)]
    cfg = config(loss="topk", iterations=60, optimizer="adam", normalize_weights="none")
    trainer = Trainer(tiny_seed3, variants, [0], cfg, settings())

    def params(m):
        return [p.detach().clone() for p in trainer.bank.scorer(m).parameters()]
    assert all(torch.equal(x, y) for x, y in zip(params(0), params(1)))  # the models of one seed start equal
    trainer.run(log_every=5)
    losses = np.array(trainer.history["loss"])  # [logged steps, models]
    assert (losses[-3:].mean(axis=0) < losses[:3].mean(axis=0)).all()
    assert not all(torch.equal(x, y) for x, y in zip(params(0), params(1)))  # only the weights differed


def test_the_step_computes_the_configured_loss(tiny_seed3):
    """Trainer.loss dispatches by TrainConfig.loss: the ranking loss of a default config (unchanged,
    bit for bit) or the top-k loss of each model's bags with its variant's weights."""
    variants = paper_variants((0.9,))
    for cfg, expected in ((config(), "ranking"), (config(loss="topk", topk=5, sparsity="squared"), "topk")):
        trainer = Trainer(tiny_seed3, variants, [0, 1], cfg, settings())
        x, classes = trainer.sample()
        scores = trainer.scores(x, trainer.masks(x.shape[1]))  # [S, V, 2B, 32]
        b = cfg.batch_size
        a, n = scores[:, :, :b].reshape(4, b, 32), scores[:, :, b:].reshape(4, b, 32)
        w = trainer.weights[:, classes].transpose(0, 1).reshape(4, b)
        if expected == "ranking":
            reference = mil_ranking_loss(a, n, w)
        else:
            reference = topk_mil_loss(a, n, w, k=5, sparsity="squared")
        assert torch.equal(trainer.loss(scores, classes), reference)


def test_an_explicit_ranking_config_trains_as_the_default(tiny_seed3):
    variants = paper_variants((0.99,))
    default = Trainer(tiny_seed3, variants, [0], config(), settings()).run()
    explicit = Trainer(tiny_seed3, variants, [0], config(loss="ranking", topk=7), settings()).run()
    topk = Trainer(tiny_seed3, variants, [0], config(loss="topk"), settings()).run()
    assert_parameters_close(default.bank, explicit.bank, rtol=0, atol=0)  # topk is read by loss="topk" only
    assert default.history["loss"] == explicit.history["loss"]
    assert not torch.equal(default.bank.w1, topk.bank.w1)


def test_fused_pass_and_fixed_buffer_step_train_the_topk_loss_as_eager(tiny_seed3):
    # both speed paths differentiate the scores of Trainer.loss, whichever loss it computes
    from cbmil.accel.cudagraph import GraphedStep
    variants, seeds, cfg = paper_variants((0.9999,)), [0, 2], config(loss="topk")
    eager = Trainer(tiny_seed3, variants, seeds, cfg, settings()).run(log_every=1)
    fused = Trainer(tiny_seed3, variants, seeds, cfg, settings(fused=True)).run(log_every=1)
    graphed = Trainer(tiny_seed3, variants, seeds, cfg, settings())
    step = GraphedStep(graphed, capture=False)
    losses = [step.step().tolist() for _ in range(cfg.iterations)]
    for other in (fused, graphed):
        np.testing.assert_allclose(score_bank(other.bank, tiny_seed3)[0], score_bank(eager.bank, tiny_seed3)[0],
                                   rtol=0, atol=1e-5)
        assert_parameters_close(other.bank, eager.bank, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fused.history["loss"], eager.history["loss"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(losses, eager.history["loss"], rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------- reproduce and the CLI

def test_cli_reproduce_with_the_topk_loss_records_and_names_it(tmp_path, monkeypatch):
    import cbmil.study.reproduction as reproduction
    from cbmil import cli
    monkeypatch.setattr(reproduction, "synthetic_worlds", lambda preset, seeds, **kw: [tiny_world(s) for s in seeds])
    out = tmp_path / "out"
    code = cli.main(["reproduce", "--loss", "topk", "--topk", "4", "--seeds", "2", "--iterations", "3",
                     "--batch-size", "6", "--betas", "0.9", "--out", str(out), "--figures", "none", "--quiet",
                     "--device", "cpu", "--precision", "fp32"])
    assert code == 0
    runs = json.loads((out / "runs.json").read_text())
    assert (runs["config"]["loss"], runs["config"]["topk"]) == ("topk", 4)
    assert "top-4 MIL loss" in runs["label"]
    assert [v["name"] for v in runs["variants"]] == ["MIL", "CB-MIL 0.9"]  # methods keep their names
    assert "top-4 MIL loss" in (out / "table2_beta.md").read_text().splitlines()[0]
    assert "top-4 MIL loss" in (out / "table1_per_class.md").read_text().splitlines()[0]


def test_reproduce_defaults_to_the_ranking_loss_and_refuses_a_bad_topk_before_any_data(tmp_path, monkeypatch,
                                                                                         capsys):
    import cbmil.study.reproduction as reproduction
    from cbmil import cli
    args = cli.build_parser().parse_args(["reproduce"])
    assert (args.loss, args.topk) == ("ranking", 3)
    assert reproduction.loss_label(TrainConfig()) == ""
    monkeypatch.setattr(reproduction, "synthetic_worlds", lambda *a, **k: pytest.fail("data was made"))
    assert cli.main(["reproduce", "--loss", "topk", "--topk", "40", "--out", str(tmp_path)]) == 2
    assert "TrainConfig.topk must be an integer with 1 <= topk <= 32" in capsys.readouterr().err
    with pytest.raises(ValueError, match="set loss in it"):
        reproduction.reproduce(config=TrainConfig(), loss="topk", out=tmp_path)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["reproduce", "--loss", "hinge"])
