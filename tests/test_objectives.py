"""The objective's terms against hand-worked numbers and float64 references."""

import math

import pytest
import torch
import torch.nn.functional as F

from ssvae import objectives
from ssvae.consistency import Consistency
from ssvae.models import ADGM, M1, M2, Supervised
from ssvae.models import adgm as adgm_module
from ssvae.models import m2 as m2_module
from ssvae.models import vae as vae_module
from ssvae.models.networks import ENCODER_LOGVAR_RANGE, ConvNet, DiagonalGaussian, mlp
from ssvae.objectives import (LossWeights, gaussian_kl, labelled_bound, log_likelihood, unlabelled_bound)



@pytest.fixture(autouse=True)
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.mark.parametrize("dtype, widened", [(torch.bfloat16, torch.float32), (torch.float16, torch.float32),
                                             (torch.float32, torch.float32), (torch.float64, torch.float64)])
def test_widen_casts_narrow_floats_up_and_never_down(dtype, widened):
    assert objectives.widen(torch.ones(2, dtype=dtype)).dtype == widened


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_bfloat16_network_outputs_give_float32_terms_as_exact_as_float64s(likelihood):
    """Under bfloat16 autocast the networks' outputs are bfloat16, but the KL and log-likelihood sum 50 to 64
    terms each: summed in bfloat16 (8 bits of mantissa) they would be about 1e-3 off, in float32 1e-7."""
    g = torch.Generator().manual_seed(0)
    mu, logvar = (3 * torch.randn(32, 50, generator=g)).bfloat16(), torch.randn(32, 50, generator=g).bfloat16()
    x = torch.rand(32, 64, generator=g).bfloat16()
    params = torch.randn(32, objectives.likelihood_size(64, likelihood), generator=g).bfloat16()
    with torch.autocast("cpu", torch.bfloat16):
        kl, log_px = gaussian_kl(mu, logvar), log_likelihood(x, params, likelihood)
    assert kl.dtype == log_px.dtype == torch.float32
    torch.testing.assert_close(kl, gaussian_kl(mu.double(), logvar.double()).float(), rtol=1e-6, atol=0)
    torch.testing.assert_close(log_px, log_likelihood(x.double(), params.double(), likelihood).float(),
                               rtol=1e-6, atol=0)


def test_kl_by_hand():
    # KL(N(1, 1) || N(0, 1)) = 0.5 * mu^2 = 0.5; KL(N(0, e^2) || N(0, 1)) = 0.5 * (e^2 - 1 - 2)
    assert gaussian_kl(torch.tensor([[1.0]]), torch.tensor([[0.0]])).item() == pytest.approx(0.5)
    assert gaussian_kl(torch.tensor([[0.0]]), torch.tensor([[2.0]])).item() == pytest.approx(0.5 * (math.e**2 - 3))


def test_kl_matches_monte_carlo_and_sums_over_dims():
    torch.manual_seed(0)
    mu, logvar = torch.tensor([0.3, -1.2, 0.8]), torch.tensor([-0.5, 0.4, 0.1])
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    z = q.sample((400_000,))
    p = torch.distributions.Normal(0.0, 1.0)
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean()
    assert gaussian_kl(mu, logvar).item() == pytest.approx(mc.item(), abs=5e-3)
    assert gaussian_kl(mu[None].repeat(4, 1), logvar[None].repeat(4, 1)).shape == (4,)


def test_bernoulli_and_gaussian_log_likelihood():
    x = torch.tensor([[1.0, 0.0, 0.25]])
    logits = torch.tensor([[0.0, 0.0, 2.0]])
    p = torch.sigmoid(torch.tensor(2.0))
    expected = 2 * math.log(0.5) + 0.25 * math.log(p) + 0.75 * math.log(1 - p)
    assert log_likelihood(x, logits, "bernoulli").item() == pytest.approx(expected)
    mean, logvar = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[0.0, 1.0, -2.0]])
    reference = torch.distributions.Normal(mean, (0.5 * logvar).exp()).log_prob(x).sum(-1)
    assert log_likelihood(x, torch.cat([mean, logvar], -1), "gaussian").item() == pytest.approx(reference.item())


def test_the_runtimes_numpy_log_likelihoods_are_the_objectives():
    """ssvae.runtime scores with numpy copies of the log-likelihoods (it imports no torch): in float64 they
    give the objectives' values, for logits far out (+-800, where exp overflows float64) and for
    images of any rank, summed per example."""
    import numpy as np

    from ssvae import runtime

    generator = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 4, 5, generator=generator)
    logits = torch.cat([torch.tensor([800.0, -800.0]), 8 * torch.randn(58, generator=generator)]).reshape(3, 1, 4, 5)
    expected = log_likelihood(x.flatten(1), logits.flatten(1), "bernoulli")
    assert np.allclose(runtime.log_bernoulli(x.numpy(), logits.numpy()), expected.numpy(), rtol=1e-12, atol=0)
    mean, logvar = torch.randn(2, 3, 1, 4, 5, generator=generator)
    expected = log_likelihood(x.flatten(1), torch.cat([mean.flatten(1), logvar.flatten(1)], -1), "gaussian")
    assert np.allclose(runtime.log_gaussian(x.numpy(), mean.numpy(), logvar.numpy()), expected.numpy(), rtol=1e-12,
                       atol=0)
    assert runtime.log_bernoulli(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0,)


def test_unlabelled_bound_by_hand():
    # q(y|x) = (0.25, 0.75), L = (-10, -20): U = 0.25*-10 + 0.75*-20 + H, H = -(0.25 ln .25 + 0.75 ln .75)
    logits = torch.log(torch.tensor([[0.25, 0.75]]))
    bounds = torch.tensor([[-10.0, -20.0]])
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert unlabelled_bound(bounds, logits).item() == pytest.approx(-17.5 + entropy)
    assert labelled_bound(torch.tensor(-5.0), torch.tensor(2.0), 10, kl_weight=0.5).item() == pytest.approx(
        -5.0 - 1.0 - math.log(10))


def _tiny_m2(likelihood="bernoulli"):
    torch.manual_seed(1)
    return M2(input_dim=6, n_classes=3, latent_dim=2, hidden=(5,), classifier=mlp((6, 4, 3)), likelihood=likelihood,
              vat_epsilon=1.0)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_enumerated_unlabelled_bound_equals_loop_over_classes(monkeypatch, likelihood):
    # With the noise switched off (z = mu), the batched enumeration must equal an explicit loop over y.
    monkeypatch.setattr(m2_module, "reparameterize", lambda mu, logvar: mu)
    model = _tiny_m2(likelihood)
    x = torch.rand(7, 6)
    q = torch.softmax(model.classifier(x), -1)
    loop = torch.zeros(7)
    for k in range(3):
        y = F.one_hot(torch.full((7,), k), 3).double()
        mu, logvar = model.encoder(x, y)
        log_px = log_likelihood(x, model.decoder(mu, y), likelihood)
        loop += q[:, k] * (log_px - gaussian_kl(mu, logvar) - math.log(3))
    loop += -(q * q.log()).sum(-1)
    torch.testing.assert_close(model.unlabelled(x), loop)


def test_gradients_reach_the_encoder_through_the_sample():
    model = _tiny_m2()
    x = torch.rand(5, 6)
    y = F.one_hot(torch.tensor([0, 1, 2, 0, 1]), 3).double()
    # kl_weight = 0 leaves only E_q[log p(x|y,z)]: the encoder is reached through z = mu + sigma * eps alone
    model.bound(x, y, kl_weight=0.0).sum().backward()
    assert model.encoder.body.in_proj.weight.grad.abs().sum() > 0
    # the log-variance half of the output layer too: sigma multiplies the noise
    last = model.encoder.body.rest[-1][-1]
    assert last.weight.grad[2:].abs().sum() > 0


def _losses_with_the_same_noise(model, *weights):
    """``model.loss`` on one small batch under each of ``weights``, every time with the same random draws."""
    x_l, y_l, x_u = torch.rand(4, 6), torch.tensor([0, 1, 2, 1]), torch.rand(5, 6)
    results = []
    for w in weights:
        torch.manual_seed(3)
        results.append(model.loss(x_l, y_l, x_u, w))
    return results


def test_loss_weights_classification_term():
    a, b = _losses_with_the_same_noise(_tiny_m2(), LossWeights(1.0, 0.0), LossWeights(1.0, 2.5))
    assert (b["loss"] - a["loss"]).item() == pytest.approx(2.5 * a["classification"].item())
    assert a["loss"].item() == pytest.approx(-(a["labelled_bound"] + a["unlabelled_bound"]).item())


def test_loss_weights_labelled_bound_term():
    """The labelled bound's weight (a table's N_labelled / N_unlabelled) scales that term of the loss alone."""
    a, b = _losses_with_the_same_noise(_tiny_m2(), LossWeights(1.0, 2.0), LossWeights(1.0, 2.0, labelled=0.25))
    assert all(torch.equal(a[term], b[term]) for term in ("labelled_bound", "unlabelled_bound", "classification"))
    assert (b["loss"] - a["loss"]).item() == pytest.approx(0.75 * a["labelled_bound"].item())
    assert b["loss"].item() == pytest.approx(-(0.25 * b["labelled_bound"] + b["unlabelled_bound"]
                                               - 2.0 * b["classification"]).item())


def test_virtual_adversarial_loss_of_a_linear_classifier_by_hand():
    # Two classes, logits W x: q(y|x) changes only along w = W1 - W0, so the most sensitive direction of length
    # eps is +-eps w/|w| and shifts the logit difference by +-eps |w|. On the boundary (equal logits) either
    # sign gives KL(Bern(1/2) || Bern(sigmoid(d))) = -log(2) - (log sigmoid(d) + log sigmoid(-d)) / 2.
    torch.manual_seed(0)
    weight = torch.tensor([[0.5, -1.0, 2.0], [1.5, 1.0, 0.0]])
    w = weight[1] - weight[0]
    x = torch.randn(6, 3)
    x = x - (x @ w)[:, None] * w / w.dot(w)  # project onto the boundary w.x = 0
    eps = 0.7
    d = eps * w.norm()
    expected = -math.log(2.0) - 0.5 * (F.logsigmoid(d) + F.logsigmoid(-d))
    got = objectives.virtual_adversarial_loss(lambda a: a @ weight.T, x, eps)
    torch.testing.assert_close(got, expected.expand(6), rtol=1e-6, atol=0)


def test_virtual_adversarial_loss_trains_the_classifier_through_the_perturbed_prediction_only():
    """Off the boundary the direction of a two-class linear classifier is still +-eps w/|w|, its sign told by
    the loss it gives; the classifier's gradient is that of KL(target || q(y|a + r)) with the clean prediction
    a fixed target, as the paper's VAT: letting gradients through the target too changes it."""
    torch.manual_seed(1)
    weight = torch.tensor([[0.5, -1.0, 2.0], [1.5, 1.0, 0.0]], requires_grad=True)
    x, eps = torch.randn(8, 3), 0.7
    got = objectives.virtual_adversarial_loss(lambda a: a @ weight.T, x, eps)
    (grad,) = torch.autograd.grad(got.sum(), weight)
    w = (weight[1] - weight[0]).detach()
    target = F.log_softmax(x @ weight.T, -1).detach()

    def fixed_target_loss(r: torch.Tensor) -> torch.Tensor:
        return F.kl_div(F.log_softmax((x + r) @ weight.T, -1), target, log_target=True, reduction="none").sum(-1)

    plus, minus = (fixed_target_loss(sign * eps * w / w.norm()) for sign in (1, -1))
    took_plus = (got - plus).abs() < (got - minus).abs()  # each row took one sign: the one whose loss it gave
    assert torch.all(torch.minimum((got - plus).abs(), (got - minus).abs()) < 1e-5)
    assert torch.all((plus - minus).abs() > 1e-3)  # off the boundary the signs differ, so the loss tells them
    sign = torch.where(took_plus, 1.0, -1.0)[:, None]
    (want,) = torch.autograd.grad(fixed_target_loss(sign * eps * w / w.norm()).sum(), weight)
    torch.testing.assert_close(grad, want, rtol=1e-5, atol=1e-6)


def test_virtual_adversarial_direction_survives_bfloat16_autocast():
    # The same boundary case under bfloat16 autocast, with inputs of a few units, where bfloat16's spacing
    # (1/128 to 1/32) dwarfs the 1e-3 probe: rounding a + d to bfloat16 used to erase the probe, leaving a zero
    # or random direction and losses from 0 up. Only the last forward pass, a + r, may round now (a few %).
    torch.manual_seed(0)
    weight = torch.tensor([[0.5, -1.0, 2.0], [1.5, 1.0, 0.0]])
    w = weight[1] - weight[0]
    x = 3 * torch.randn(64, 3)
    x = x - (x @ w)[:, None] * w / w.dot(w)
    eps = 0.7
    d = eps * w.norm()
    expected = -math.log(2.0) - 0.5 * (F.logsigmoid(d) + F.logsigmoid(-d))
    with torch.autocast("cpu", torch.bfloat16):
        got = objectives.virtual_adversarial_loss(lambda a: a @ weight.T, x, eps)
    torch.testing.assert_close(got, expected.expand(64), rtol=0.05, atol=0)


def test_consistency_loss_by_hand():
    # Weak views: the first is 0.9-confident of class 2 (below 0.95: no target), the second 0.96-confident of
    # class 0. Strong views' probabilities are given, so the loss is -log of the target's probability.
    weak = torch.tensor([[0.05, 0.05, 0.90], [0.96, 0.02, 0.02]], requires_grad=True)
    strong = torch.log(torch.tensor([[0.2, 0.3, 0.5], [0.25, 0.5, 0.25]])).requires_grad_(True)
    loss = objectives.consistency_loss(weak, strong, threshold=0.95)
    torch.testing.assert_close(loss, torch.tensor([0.0, -math.log(0.25)]))
    torch.testing.assert_close(objectives.consistency_loss(weak, strong, threshold=0.89),
                               torch.tensor([-math.log(0.5), -math.log(0.25)]))
    torch.testing.assert_close(objectives.consistency_loss(weak, strong, threshold=0.96),  # as FixMatch: >=
                               torch.tensor([0.0, -math.log(0.25)]))
    loss.sum().backward()
    assert weak.grad is None  # the weak view's class is a fixed target
    torch.testing.assert_close(strong.grad, torch.tensor([[0.0, 0.0, 0.0], [0.25 - 1.0, 0.5, 0.25]]))


def test_aligned_distribution_by_hand():
    # Labels are balanced (1/2, 1/2) but the classifier gives class 0 three times in four: its predictions
    # are scaled by (2/3, 2) and renormalised. (0.6, 0.4) -> (0.4, 0.8) / 1.2 = (1/3, 2/3).
    probs = torch.tensor([[0.6, 0.4], [0.9, 0.1]], dtype=torch.float64)
    aligned = objectives.aligned_distribution(probs, torch.tensor([0.5, 0.5], dtype=torch.float64),
                                              torch.tensor([0.75, 0.25], dtype=torch.float64))
    torch.testing.assert_close(aligned, torch.tensor([[1 / 3, 2 / 3], [0.6 / 0.8, 0.2 / 0.8]], dtype=torch.float64))


def test_consistency_aligns_with_running_frequencies_and_only_while_training():
    # momentum 0.5: each step moves a running frequency halfway to the step's. The classifier always says
    # (0.9, 0.1) and the labels are balanced. Step 1: predictions' frequency (0.7, 0.3), labels' (0.5, 0.5),
    # aligned weak view 0.9/0.7 : 0.1/0.3, i.e. 27/34 = 0.794 confident of class 0, a target at threshold 0.79.
    # Step 2: frequency (0.8, 0.2), aligned 0.9/0.8 : 0.1/0.2, 9/13 = 0.692: no longer a target.
    consistency = Consistency(2, threshold=0.79, momentum=0.5)
    weak = torch.log(torch.tensor([[0.9, 0.1]]))
    strong = torch.log(torch.tensor([[0.5, 0.5]]))
    labels = torch.tensor([0, 1])
    torch.testing.assert_close(consistency.loss(weak, strong, labels), torch.tensor([math.log(2.0)]))
    torch.testing.assert_close(consistency.prediction_frequency, torch.tensor([0.7, 0.3]))
    torch.testing.assert_close(consistency.label_frequency, torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(consistency.loss(weak, strong, labels), torch.tensor([0.0]))
    torch.testing.assert_close(consistency.prediction_frequency, torch.tensor([0.8, 0.2]))
    consistency.eval()
    consistency.loss(weak, strong, torch.tensor([0, 0]))
    torch.testing.assert_close(consistency.label_frequency, torch.tensor([0.5, 0.5]))  # frozen outside training
    torch.testing.assert_close(consistency.prediction_frequency, torch.tensor([0.8, 0.2]))


def test_consistency_loss_with_a_threshold_per_class():
    # the first weak view is 0.90-confident of class 2, whose bar is 0.85: a target; the second 0.96-confident
    # of class 0, whose bar is 0.97: none. One number for all (0.95) gives the other way round.
    weak = torch.tensor([[0.05, 0.05, 0.90], [0.96, 0.02, 0.02]])
    strong = torch.log(torch.tensor([[0.2, 0.3, 0.5], [0.25, 0.5, 0.25]]))
    per_class = objectives.consistency_loss(weak, strong, threshold=torch.tensor([0.97, 0.5, 0.85]))
    torch.testing.assert_close(per_class, torch.tensor([-math.log(0.5), 0.0]))
    torch.testing.assert_close(objectives.consistency_loss(weak, strong, threshold=0.95),
                               torch.tensor([0.0, -math.log(0.25)]))


def test_adaptive_threshold_starts_at_one_over_classes_and_follows_the_running_confidence():
    # The set-up of test_consistency_aligns_with_running_frequencies_and_only_while_training (momentum 0.5,
    # q(y|x) always (0.9, 0.1), balanced labels): step 1's aligned weak view is (27/34, 7/34). Its running means
    # move halfway from their start at 1/2: the largest probability's to (1/2 + 27/34) / 2 = 11/17, the classes'
    # to (11/17, 6/17). Class c's bar is 11/17 * class_c / max_class: (11/17, 6/17). 27/34 clears 11/17, a
    # target that the fixed 0.95 refuses.
    consistency = Consistency(2, threshold=0.95, momentum=0.5, adaptive=True)
    torch.testing.assert_close(consistency.thresholds(), torch.tensor([0.5, 0.5]))
    weak = torch.log(torch.tensor([[0.9, 0.1]]))
    strong = torch.log(torch.tensor([[0.5, 0.5]]))
    labels = torch.tensor([0, 1])
    torch.testing.assert_close(consistency.loss(weak, strong, labels), torch.tensor([math.log(2.0)]))
    torch.testing.assert_close(consistency.mean_confidence, torch.tensor(11 / 17))
    torch.testing.assert_close(consistency.class_confidence, torch.tensor([11 / 17, 6 / 17]))
    torch.testing.assert_close(consistency.thresholds(), torch.tensor([11 / 17, 6 / 17]))
    fixed = Consistency(2, threshold=0.95, momentum=0.5)
    torch.testing.assert_close(fixed.loss(weak, strong, labels), torch.tensor([0.0]))
    consistency.eval()
    consistency.loss(torch.log(torch.tensor([[0.5, 0.5]])), strong, labels)
    torch.testing.assert_close(consistency.thresholds(), torch.tensor([11 / 17, 6 / 17]))  # frozen outside training
    assert "mean_confidence" not in fixed.state_dict()  # a fixed threshold's checkpoints are as before


def test_adaptive_threshold_is_the_global_level_after_this_steps_move():
    # Four weak views whose mean is (1/2, 1/2), the labels' frequency too: alignment leaves them as they are.
    # Their largest probabilities average 0.75, so the global level moves from 1/2 to 0.625; the classes' means
    # stay (1/2, 1/2), so both bars are 0.625. The 0.9-confident views become targets, the 0.6-confident ones
    # not (which a bar taken before the move, or one without the global level, 1/2 either way, would admit).
    consistency = Consistency(2, threshold=0.95, momentum=0.5, adaptive=True)
    weak = torch.log(torch.tensor([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.4, 0.6]]))
    loss = consistency.loss(weak, torch.zeros(4, 2), torch.tensor([0, 1]))
    torch.testing.assert_close(consistency.thresholds(), torch.tensor([0.625, 0.625]))
    torch.testing.assert_close(loss, torch.tensor([math.log(2.0), math.log(2.0), 0.0, 0.0]))


@pytest.mark.parametrize("term", ["adversarial", "consistency"])
def test_classifier_regulariser_is_weighted_and_trains_the_classifier_only(monkeypatch, term):
    monkeypatch.setattr(m2_module, "reparameterize", lambda mu, logvar: mu)  # the terms draw noise; z does not
    model = M2(input_dim=16, n_classes=3, latent_dim=2, hidden=(5,), classifier=mlp((16, 4, 3)),
               likelihood="bernoulli", vat_epsilon=1.0, consistency=Consistency(3, threshold=0.0))
    x_l, y_l, x_u = torch.rand(4, 1, 4, 4), torch.tensor([0, 1, 2, 1]), torch.rand(5, 1, 4, 4)
    strong_u = torch.rand(5, 1, 4, 4)
    off, on = (model.loss(x_l, y_l, x_u, w, strong_u)
               for w in (LossWeights(1.0, 2.0), LossWeights(1.0, 2.0, **{term: 3.0})))
    assert term not in off and on[term].item() > 0  # consistency threshold 0: every example is a target
    assert on["labelled_bound"].item() == pytest.approx(off["labelled_bound"].item())
    assert on["unlabelled_bound"].item() == pytest.approx(off["unlabelled_bound"].item())
    assert (on["loss"] - off["loss"]).item() == pytest.approx(2.0 * 3.0 * on[term].item())
    # the term trains the classifier only: the encoder and decoder get no gradient from it
    model.zero_grad()
    on[term].backward()
    assert model.classifier[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in [*model.encoder.parameters(), *model.decoder.parameters()])


def test_virtual_adversarial_term_smooths_the_classifier_around_labelled_and_unlabelled_inputs(monkeypatch):
    """VAT needs no label, so it is taken over both batches: the labelled inputs then the unlabelled ones, as
    the classifier sees them (standardised), at the model's epsilon."""
    seen = []

    def recorded(classify, a, epsilon):
        seen.append((a.detach().clone(), epsilon))
        return torch.zeros(len(a))

    monkeypatch.setattr(m2_module, "virtual_adversarial_loss", recorded)
    model = M2(input_dim=6, n_classes=3, latent_dim=2, hidden=(5,), classifier=mlp((6, 4, 3)),
               likelihood="gaussian", vat_epsilon=0.7)
    model.fit_standardisation(3 + 2 * torch.rand(20, 6))
    x_l, x_u = torch.rand(4, 6), torch.rand(5, 6)
    model.loss(x_l, torch.tensor([0, 1, 2, 1]), x_u, LossWeights(1.0, 2.0, adversarial=3.0))
    [(a, epsilon)] = seen
    torch.testing.assert_close(a, torch.cat([model.prepare(x_l), model.prepare(x_u)]), rtol=0, atol=0)
    assert epsilon == 0.7 and not torch.allclose(a, torch.cat([x_l, x_u]))


def test_virtual_adversarial_probes_leave_the_running_statistics_to_the_training_batch():
    # VAT classifies three more batches (the clean target, the probe and the perturbed inputs); only the
    # training pass may move a conv classifier's batch-norm statistics, which evaluation normalises by.
    def statistics_after(adversarial: float, steps: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        torch.manual_seed(0)
        model = M2(input_dim=16, n_classes=3, latent_dim=2, hidden=(5,), classifier=ConvNet((1, 4, 4), (4,), 3),
                   likelihood="bernoulli", vat_epsilon=1.0)
        x_l, y_l, x_u = torch.rand(4, 1, 4, 4), torch.tensor([0, 1, 2, 1]), torch.rand(5, 1, 4, 4)
        for _ in range(steps):
            terms = model.loss(x_l, y_l, x_u, LossWeights(1.0, 2.0, adversarial=adversarial))
        assert terms["adversarial"].item() > 0 if adversarial else "adversarial" not in terms
        norm = model.classifier.features[1]
        return norm.running_mean, norm.running_var, int(norm.num_batches_tracked)

    for steps in (1, 2):  # the second step counts: the statistics are tracked again after the probes
        plain, probed = statistics_after(0.0, steps), statistics_after(1.0, steps)
        assert probed[2] == plain[2] == steps
        torch.testing.assert_close(probed[:2], plain[:2])


class _LogitsOfTheMean(torch.nn.Module):
    """A classifier whose logits are (10 m, 0, -1) for an input of mean m: sure of class 0 on bright inputs."""

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        m = a.mean(-1, keepdim=True)
        return torch.cat([10 * m, 0 * m, 0 * m - 1], -1)


def test_consistency_trains_the_strong_view_towards_the_weak_views_class():
    # weak views are white (logits 10, 0, -1: class 0 at 0.99995, a target at threshold 0.9), strong views
    # black (logits 0, 0, -1), so each example's term is -log softmax(0, 0, -1)[0] = log(2 + 1/e). With the
    # views swapped, the black view's 0.42 would make no target and the term would be 0.
    model = M2(input_dim=16, n_classes=3, latent_dim=2, hidden=(5,), classifier=_LogitsOfTheMean(),
               likelihood="bernoulli", vat_epsilon=1.0, consistency=Consistency(3, threshold=0.9))
    x_l, y_l = torch.rand(4, 1, 4, 4), torch.tensor([0, 1, 2, 1])
    terms = model.loss(x_l, y_l, torch.ones(5, 1, 4, 4), LossWeights(1.0, 2.0, consistency=1.0),
                       strong_u=torch.zeros(5, 1, 4, 4))
    assert terms["consistency"].item() == pytest.approx(math.log(2.0 + math.exp(-1.0)), rel=1e-6)


def test_fixmatch_loss_by_hand():
    # The classifier of the test above, without M2's generative model. Labelled inputs are white (logits 10, 0,
    # -1) with classes 0 and 1: cross-entropies log(1 + e^-10 + e^-11) and 10 + the same. Unlabelled weak views
    # white, strong views black: consistency log(2 + 1/e) each, as above, weighted 3 in the loss.
    model = Supervised(16, _LogitsOfTheMean(), standardise=False, consistency=Consistency(3, threshold=0.9))
    assert model.uses_unlabelled and not model.generative
    x_l, y_l = torch.ones(2, 1, 4, 4), torch.tensor([0, 1])
    terms = model.loss(x_l, y_l, torch.ones(5, 1, 4, 4), LossWeights(1.0, 2.0, consistency=3.0),
                       strong_u=torch.zeros(5, 1, 4, 4))
    ce = math.log(1 + math.exp(-10) + math.exp(-11)) + 5.0
    consistency = math.log(2.0 + math.exp(-1.0))
    assert terms["classification"].item() == pytest.approx(ce, rel=1e-9)
    assert terms["consistency"].item() == pytest.approx(consistency, rel=1e-9)
    assert terms["loss"].item() == pytest.approx(ce + 3.0 * consistency, rel=1e-9)
    with pytest.raises(ValueError, match="needs unlabelled images and their strong views"):
        model.loss(x_l, y_l, None, LossWeights(1.0, 2.0, consistency=3.0))
    baseline = Supervised(16, _LogitsOfTheMean(), standardise=False)  # model supervised: the labels alone
    assert not baseline.uses_unlabelled
    assert baseline.loss(x_l, y_l, None, LossWeights(1.0, 2.0)) == {"loss": pytest.approx(ce, rel=1e-9),
                                                                    "classification": pytest.approx(ce, rel=1e-9)}


def test_logvar_floor_of_gaussian_decoder():
    """A decoder variance no smaller than e^-6.9; above the floor the log-variance is the network's own."""
    params = torch.tensor([[0.0, -50.0], [0.0, -3.0]])
    assert objectives.split_gaussian(params)[1].flatten().tolist() == pytest.approx([-6.9, -3.0])


def test_encoder_logvar_is_clamped_so_that_a_drifted_encoder_gives_a_finite_kl_in_float32():
    """A long Fashion-MNIST run's encoder drifted to log-variances of -650 and +102; e^102 overflows float32
    and the loss turned NaN. Clamped to [-20, 5], each dimension's KL is 0.5 (mu^2 + e^lv - 1 - lv) at the
    bound; inside the range the encoder's output is untouched."""
    body = mlp([1, 4]).float()
    encoder = DiagonalGaussian(body)
    with torch.no_grad():
        body[0].weight.copy_(torch.tensor([[0.0], [0.0], [-700.0], [102.0]]))
        body[0].bias.copy_(torch.tensor([1.0, 2.0, 0.0, 0.0]))
    assert ENCODER_LOGVAR_RANGE == (-20.0, 5.0)
    mu, logvar = encoder(torch.tensor([[1.0]], dtype=torch.float32))
    assert mu.tolist() == [[1.0, 2.0]] and logvar.tolist() == [[-20.0, 5.0]]
    expected = 0.5 * (1.0 + math.exp(-20.0) - 1.0 + 20.0) + 0.5 * (4.0 + math.exp(5.0) - 1.0 - 5.0)
    assert gaussian_kl(mu, logvar).item() == pytest.approx(expected, rel=1e-6)
    inside = DiagonalGaussian(lambda x: x)
    values = torch.tensor([[0.3, -0.7, -19.5, 4.5]])
    assert torch.equal(inside(values)[1], values[:, 2:])


def _log_normal(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(x).sum(-1)


def test_loss_terms_under_kl_warm_up_by_hand(monkeypatch):
    """Every term of the loss of M2 and the ADGM at KL weight 0.3, assembled by hand (z and a at their means):
    the labelled bound, the classification term, and the unlabelled bound, the batch mean of
    sum_y q(y|x) L(x, y) + H(q(y|x)) with the weight in each L. The ADGM's auxiliary terms
    log p(a|x,y,z) - log q(a|x) carry the weight too."""
    for module in (m2_module, adgm_module):
        monkeypatch.setattr(module, "reparameterize", lambda mu, logvar: mu)
    torch.manual_seed(3)
    x, y, x_u = torch.rand(5, 6), torch.tensor([0, 1, 2, 0, 1]), torch.rand(4, 6)
    onehot, weights = F.one_hot(y, 3).to(x.dtype), LossWeights(kl=0.3, classification=2.0)
    every_class = [F.one_hot(torch.full((4,), k), 3).to(x.dtype) for k in range(3)]

    def entropy(logits: torch.Tensor) -> torch.Tensor:
        q = torch.softmax(logits, -1)
        return -(q * q.log()).sum(-1)

    m2 = M2(input_dim=6, n_classes=3, latent_dim=2, hidden=(5,), classifier=mlp((6, 4, 3)),
            likelihood="bernoulli", vat_epsilon=1.0)

    def m2_bound(x: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        mu, logvar = m2.encoder(x, onehot)
        return log_likelihood(x, m2.decoder(mu, onehot), "bernoulli") - 0.3 * gaussian_kl(mu, logvar) - math.log(3)

    q = torch.softmax(m2.classifier(x_u), -1)
    unlabelled = sum(q[:, k] * m2_bound(x_u, c) for k, c in enumerate(every_class)) + entropy(m2.classifier(x_u))
    terms = m2.loss(x, y, x_u, weights)
    torch.testing.assert_close(terms["labelled_bound"], m2_bound(x, onehot).mean())
    torch.testing.assert_close(terms["unlabelled_bound"], unlabelled.mean())
    torch.testing.assert_close(terms["classification"], F.cross_entropy(m2.classifier(x), y))

    adgm = ADGM(input_dim=6, n_classes=3, latent_dim=2, aux_dim=3, hidden=(5,), classifier_hidden=(4,),
                likelihood="bernoulli")

    def adgm_bound(x: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        aux_mu, aux_logvar = adgm.aux_encoder(x)
        mu, logvar = adgm.encoder(torch.cat([x, aux_mu], -1), onehot)
        log_pa = _log_normal(aux_mu, *adgm.aux_decoder(torch.cat([x, mu], -1), onehot))
        auxiliary = log_pa - _log_normal(aux_mu, aux_mu, aux_logvar)
        return (log_likelihood(x, adgm.decoder(mu, onehot), "bernoulli") + 0.3 * auxiliary
                - 0.3 * gaussian_kl(mu, logvar) - math.log(3))

    def adgm_logits(x: torch.Tensor) -> torch.Tensor:
        return adgm.classifier(torch.cat([x, adgm.aux_encoder(x)[0]], -1))

    q = torch.softmax(adgm_logits(x_u), -1)
    unlabelled = sum(q[:, k] * adgm_bound(x_u, c) for k, c in enumerate(every_class)) + entropy(adgm_logits(x_u))
    terms = adgm.loss(x, y, x_u, weights)
    torch.testing.assert_close(terms["labelled_bound"], adgm_bound(x, onehot).mean())
    torch.testing.assert_close(terms["unlabelled_bound"], unlabelled.mean())
    torch.testing.assert_close(terms["classification"], F.cross_entropy(adgm_logits(x), y))


def test_m1_loss_by_hand_and_its_classifier_trains_apart_from_the_vae(monkeypatch):
    """M1 at KL weight 0.3 (z at its mean): the bound is the mean over the labelled and unlabelled rows together
    of log p(x|z) - 0.3 KL, the classification term the cross-entropy of the classifier on the labelled rows'
    posterior means; the classifier's gradient stops at those means (the paper's M1 learns without labels)."""
    monkeypatch.setattr(vae_module, "reparameterize", lambda mu, logvar: mu)
    torch.manual_seed(4)
    x, y, x_u = torch.rand(5, 6), torch.tensor([0, 1, 2, 0, 1]), torch.rand(4, 6)
    m1 = M1(input_dim=6, n_classes=3, latent_dim=2, hidden=(5,), classifier_hidden=(4,), likelihood="bernoulli")
    both = torch.cat([x, x_u])
    mu, logvar = m1.encoder(both)
    bound = log_likelihood(both, m1.decoder(mu), "bernoulli") - 0.3 * gaussian_kl(mu, logvar)
    terms = m1.loss(x, y, x_u, LossWeights(kl=0.3, classification=2.0))
    torch.testing.assert_close(terms["unlabelled_bound"], bound.mean())
    torch.testing.assert_close(terms["classification"], F.cross_entropy(m1.classifier(mu[:5]), y))
    torch.testing.assert_close(terms["loss"], -bound.mean() + terms["classification"])
    m1.zero_grad()
    terms["classification"].backward()
    assert all(p.grad is None for p in [*m1.encoder.parameters(), *m1.decoder.parameters()])
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m1.classifier.parameters())


def test_adgm_enumerated_bound_equals_loop_over_classes(monkeypatch):
    monkeypatch.setattr(adgm_module, "reparameterize", lambda mu, logvar: mu)
    torch.manual_seed(2)
    model = ADGM(input_dim=6, n_classes=3, latent_dim=2, aux_dim=3, hidden=(5,), classifier_hidden=(4,),
                 likelihood="bernoulli")
    x = torch.rand(7, 6)
    aux_mu, aux_logvar = model.aux_encoder(x)
    log_qa = torch.distributions.Normal(aux_mu, (0.5 * aux_logvar).exp()).log_prob(aux_mu).sum(-1)
    xa = torch.cat([x, aux_mu], -1)
    q = torch.softmax(model.classifier(xa), -1)
    loop = torch.zeros(7)
    for k in range(3):
        y = F.one_hot(torch.full((7,), k), 3).double()
        mu, logvar = model.encoder(xa, y)
        log_px = log_likelihood(x, model.decoder(mu, y), "bernoulli")
        pa_mu, pa_logvar = model.aux_decoder(torch.cat([x, mu], -1), y)
        log_pa = torch.distributions.Normal(pa_mu, (0.5 * pa_logvar).exp()).log_prob(aux_mu).sum(-1)
        loop += q[:, k] * (log_px + log_pa - gaussian_kl(mu, logvar) - math.log(3))
    loop += -(q * q.log()).sum(-1) - log_qa
    torch.testing.assert_close(model.unlabelled(x), loop)


def test_label_frequency_moves_towards_the_steps_labels():
    """Momentum 0.5 and labels of frequency (0.75, 0.25) after a uniform start: halfway, (0.625, 0.375)."""
    consistency = Consistency(2, threshold=0.99, momentum=0.5)
    weak = torch.log(torch.tensor([[0.5, 0.5]]))
    consistency.loss(weak, weak, torch.tensor([0, 0, 0, 1]))
    torch.testing.assert_close(consistency.label_frequency, torch.tensor([0.625, 0.375]))


@pytest.mark.parametrize("adaptive", [False, True])
def test_the_running_means_hold_no_gradient_history(adaptive):
    """The running means move with every step's weak predictions, but as numbers: were the logits' graph
    kept in them, each step's graph would stay reachable and training memory would grow step after step."""
    consistency = Consistency(3, threshold=0.5, adaptive=adaptive).train()
    weak = torch.randn(4, 3, requires_grad=True)
    consistency.loss(weak, torch.randn(4, 3, requires_grad=True), torch.tensor([0, 1])).sum().backward()
    assert weak.grad is None  # the weak view is the target: no gradient flows into it
    for name, buffer in consistency.named_buffers():
        assert not buffer.requires_grad and buffer.grad_fn is None, name
