"""aenet.lasagne objectives, nonlinearities and regularization against numpy.

All symbolic results of the module are compiled into one function.
"""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aenet.lasagne import nonlinearities, objectives, regularization
from aenet.lasagne.layers import DenseLayer, InputLayer

rng = np.random.RandomState(0)
N, K = 6, 4
PROBS = rng.dirichlet(np.ones(K), N).astype(np.float32)
# Labels with rank 1, 1, 2, 2, 4, 4 in their rows: top-1 and top-2 accuracy differ.
LABELS = np.argsort(-PROBS, axis=1)[np.arange(N), [0, 0, 1, 1, 3, 3]].astype(np.int32)
ONE_HOT = np.eye(K, dtype=np.float32)[LABELS]
BINARY_P = rng.uniform(0.05, 0.95, (N, 1)).astype(np.float32)
BINARY_T = np.array([0, 1, 1, 0, 1, 0], np.int32)
A = rng.standard_normal((N, K)).astype(np.float32)
B = rng.standard_normal((N, K)).astype(np.float32)
WEIGHTS = rng.uniform(0, 2, N).astype(np.float32)
LOGITS = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0], [-50.0, 50.0, 0.0]], np.float32)
LOGIT_LABELS = np.array([1, 2, 0], np.int32)


@pytest.fixture(scope="module")
def results():
    p, y, t, pb, tb, a, b, w, z, zy = (
        at.fmatrix("p"), at.ivector("y"), at.fmatrix("t"),
        at.tensor("float32", shape=(None, 1), name="pb"), at.ivector("tb"),
        at.fmatrix("a"), at.fmatrix("b"), at.fvector("w"), at.fmatrix("z"), at.ivector("zy"),
    )  # fmt: skip
    ce = objectives.categorical_crossentropy(p, y)
    exprs = {
        "ce_int": ce,
        "ce_onehot": objectives.categorical_crossentropy(p, t),
        "ce_softmax": objectives.categorical_crossentropy(nonlinearities.softmax(z), zy),
        "bce": objectives.binary_crossentropy(pb, tb),
        "squared": objectives.squared_error(a, b),
        "squared_column": objectives.squared_error(pb, tb),
        "mean": objectives.aggregate(ce),
        "sum": objectives.aggregate(ce, mode="sum"),
        "weighted_mean": objectives.aggregate(ce, w),
        "weighted_sum": objectives.aggregate(ce, w, mode="sum"),
        "normalized_sum": objectives.aggregate(ce, w, mode="normalized_sum"),
        "acc_int": objectives.categorical_accuracy(p, y),
        "acc_onehot": objectives.categorical_accuracy(p, t),
        "acc_top2": objectives.categorical_accuracy(p, y, top_k=2),
        "rectify": nonlinearities.rectify(a),
        "tanh": nonlinearities.tanh(a),
        "sigmoid": nonlinearities.sigmoid(a),
        "softmax": nonlinearities.softmax(a),
        "linear": nonlinearities.linear(a),
    }
    fn = aesara.function([p, y, t, pb, tb, a, b, w, z, zy], list(exprs.values()), on_unused_input="ignore")
    outputs = fn(PROBS, LABELS, ONE_HOT, BINARY_P, BINARY_T, A, B, WEIGHTS, LOGITS, LOGIT_LABELS)
    return dict(zip(exprs, outputs)), exprs


def ce_reference():
    return -np.log(PROBS[np.arange(N), LABELS])


def test_categorical_crossentropy_with_int_or_one_hot_targets(results):
    values, _ = results
    np.testing.assert_allclose(values["ce_int"], ce_reference(), rtol=1e-6)
    np.testing.assert_allclose(values["ce_onehot"], ce_reference(), rtol=1e-6)


def test_crossentropy_of_softmax_is_stable_for_huge_logits(results):
    values, _ = results
    shifted = LOGITS.astype(np.float64) - LOGITS.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(3), LOGIT_LABELS]
    assert np.all(np.isfinite(values["ce_softmax"]))
    np.testing.assert_allclose(values["ce_softmax"], expected, rtol=1e-6)


def test_binary_crossentropy_and_squared_error(results):
    values, _ = results
    t = BINARY_T[:, None]
    np.testing.assert_allclose(
        values["bce"], -(t * np.log(BINARY_P) + (1 - t) * np.log(1 - BINARY_P)), rtol=1e-5
    )
    np.testing.assert_allclose(values["squared"], (A - B) ** 2, rtol=1e-6)
    # a (batch,) target vector is compared with a (batch, 1) prediction column row by row
    assert values["bce"].shape == (N, 1)
    np.testing.assert_allclose(values["squared_column"], (BINARY_P - t) ** 2, rtol=1e-6)
    assert values["squared_column"].shape == (N, 1)


def test_single_unit_dense_output_aligns_with_a_target_vector():
    """Length-1 parameter axes are broadcastable, so a 1-unit output is a known column."""
    layer = DenseLayer((None, 3), 1, nonlinearity=None)
    out = layer.get_output_for(at.fmatrix())
    assert out.broadcastable == (False, True)
    assert objectives.squared_error(out, at.fvector()).broadcastable == (False, True)


def test_aggregate_modes(results):
    values, _ = results
    ce = ce_reference()
    np.testing.assert_allclose(values["mean"], ce.mean(), rtol=1e-6)
    np.testing.assert_allclose(values["sum"], ce.sum(), rtol=1e-6)
    np.testing.assert_allclose(values["weighted_mean"], (ce * WEIGHTS).mean(), rtol=1e-6)
    np.testing.assert_allclose(values["weighted_sum"], (ce * WEIGHTS).sum(), rtol=1e-6)
    np.testing.assert_allclose(values["normalized_sum"], (ce * WEIGHTS).sum() / WEIGHTS.sum(), rtol=1e-6)


def test_aggregate_errors():
    loss = at.fvector()
    with pytest.raises(ValueError, match="needs weights"):
        objectives.aggregate(loss, mode="normalized_sum")
    with pytest.raises(ValueError, match="'median'"):
        objectives.aggregate(loss, mode="median")


def test_categorical_accuracy(results):
    values, _ = results
    top1 = PROBS.argmax(axis=1) == LABELS
    top2 = np.array([label in np.argsort(row)[-2:] for row, label in zip(PROBS, LABELS)])
    assert top1.any() and not top1.all() and not np.array_equal(top1, top2)  # the data tells them apart
    np.testing.assert_array_equal(values["acc_int"], top1)
    np.testing.assert_array_equal(values["acc_onehot"], top1)
    np.testing.assert_array_equal(values["acc_top2"], top2)
    with pytest.raises(TypeError, match="1 or 2 dimensions, got 3"):
        objectives.categorical_accuracy(at.fmatrix(), at.ftensor3())


def test_losses_stay_float32_with_int_targets(results):
    _, exprs = results
    for name in ("ce_int", "ce_softmax", "bce", "squared", "squared_column", "mean", "normalized_sum"):
        assert exprs[name].dtype == "float32", name


# -- nonlinearities ----------------------------------------------------------------------


def test_nonlinearities_match_numpy(results):
    values, exprs = results
    exp = np.exp(A - A.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(values["rectify"], np.where(A > 0, A, 0))
    np.testing.assert_allclose(values["tanh"], np.tanh(A), rtol=1e-6)
    np.testing.assert_allclose(values["sigmoid"], 1 / (1 + np.exp(-A)), rtol=1e-6)
    np.testing.assert_allclose(values["softmax"], exp / exp.sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(values["linear"], A)
    assert all(exprs[name].dtype == "float32" for name in ("rectify", "tanh", "sigmoid", "softmax"))


def test_identity_is_linear_and_returns_its_input():
    x = at.fmatrix()
    assert nonlinearities.identity is nonlinearities.linear
    assert nonlinearities.linear(x) is x


# -- regularization ----------------------------------------------------------------------


def test_penalties_cover_weights_not_biases():
    l_in = InputLayer((None, 3))
    hidden = DenseLayer(l_in, 4, b=np.ones(4, np.float32))
    out = DenseLayer(hidden, 2, b=np.ones(2, np.float32))
    W1, W2 = hidden.W.get_value(), out.W.get_value()
    l2 = regularization.regularize_network_params(out, regularization.l2).eval()
    l1 = regularization.regularize_network_params(out, regularization.l1).eval()
    np.testing.assert_allclose(l2, (W1**2).sum() + (W2**2).sum(), rtol=1e-5)
    np.testing.assert_allclose(l1, np.abs(W1).sum() + np.abs(W2).sum(), rtol=1e-5)
    layer_l2 = regularization.regularize_layer_params([out], regularization.l2).eval()
    np.testing.assert_allclose(layer_l2, (W2**2).sum(), rtol=1e-5)
    single = regularization.apply_penalty(hidden.W, regularization.l2).eval()
    np.testing.assert_allclose(single, (W1**2).sum(), rtol=1e-5)


# -- hinge, huber and binary accuracy ------------------------------------------------------


def evaluate(expression, inputs, values):
    return aesara.function(inputs, expression)(*values)


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("column", [False, True])
def test_binary_hinge_loss_on_log_odds(binary, column):
    p, t = at.fvector("p"), at.ivector("t")
    scores = np.array([0.3, -1.5, 2.0, 0.9, -0.2, 0.0], np.float32)
    labels = np.array([1, 0, 1, 0, 0, 1], np.int32)
    signs = 2 * labels - 1
    loss = objectives.binary_hinge_loss(p[:, None] if column else p, t, delta=1.5, log_odds=True, binary=binary)
    assert loss.dtype == "float32" and loss.ndim == 1 + column
    result = evaluate(loss, [p, t], [scores, labels if binary else signs.astype(np.int32)])
    np.testing.assert_allclose(np.ravel(result), np.maximum(0, 1.5 - scores * signs), rtol=1e-6)


def test_binary_hinge_loss_on_probabilities_and_its_default():
    p, t = at.fvector("p"), at.ivector("t")
    probs = np.array([0.2, 0.7, 0.5, 0.95], np.float32)
    labels = np.array([1, 0, 1, 1], np.int32)
    log_odds = np.log(probs / (1 - probs))
    loss = objectives.binary_hinge_loss(p, t, log_odds=False)
    np.testing.assert_allclose(
        evaluate(loss, [p, t], [probs, labels]), np.maximum(0, 1 - log_odds * (2 * labels - 1)), rtol=1e-5, atol=1e-6
    )
    with pytest.warns(FutureWarning, match="log_odds"):
        default = objectives.binary_hinge_loss(p, t)
    np.testing.assert_allclose(
        evaluate(default, [p, t], [probs, labels]), np.maximum(0, 1 - probs * (2 * labels - 1)), rtol=1e-6
    )


def multiclass_hinge_reference(scores, labels, delta):
    rows = np.arange(len(labels))
    others = scores.astype(np.float64).copy()
    others[rows, labels] = -np.inf
    return np.maximum(0, others.max(axis=1) - scores[rows, labels] + delta)


def test_multiclass_hinge_loss_with_int_or_one_hot_targets():
    p, y, t = at.fmatrix("p"), at.ivector("y"), at.fmatrix("t")
    scores = A.copy()
    scores[[0, 3], LABELS[[0, 3]]] = 5.0  # rows 0 and 3 win by a margin, the others do not
    expected = multiclass_hinge_reference(scores, LABELS, 0.5)
    assert (expected == 0).any() and (expected > 0).any()
    np.testing.assert_allclose(
        evaluate(objectives.multiclass_hinge_loss(p, y, delta=0.5), [p, y], [scores, LABELS]), expected, rtol=1e-6
    )
    np.testing.assert_allclose(
        evaluate(objectives.multiclass_hinge_loss(p, t, 0.5), [p, t], [scores, ONE_HOT]), expected, rtol=1e-6
    )
    with pytest.raises(TypeError, match="rank mismatch"):
        objectives.multiclass_hinge_loss(at.fvector(), at.fmatrix())


def test_multiclass_hinge_loss_gradient():
    labels = LABELS

    def loss(scores):
        return objectives.multiclass_hinge_loss(scores, at.as_tensor_variable(labels), delta=0.5).sum()

    # rows away from the hinge's kinks, so that the finite differences see one side only
    aesara.gradient.verify_grad(loss, [A.astype(np.float64)], rng=np.random.RandomState(0), eps=1e-6)


@pytest.mark.parametrize("delta", [1.0, 0.3])
def test_huber_loss_against_numpy(delta):
    a, b = at.fmatrix("a"), at.fmatrix("b")
    diff = np.abs((A - B).astype(np.float64))
    assert (diff < delta).any() and (diff > delta).any()
    expected = np.where(diff <= delta, 0.5 * diff**2, delta * (diff - delta / 2))
    loss = objectives.huber_loss(a, b, delta=delta)
    assert loss.dtype == "float32"
    np.testing.assert_allclose(evaluate(loss, [a, b], [A, B]), expected, rtol=1e-5, atol=1e-7)
    column = objectives.huber_loss(at.tensor("float32", shape=(None, 1)), at.fvector())
    assert column.broadcastable == (False, True)


def test_huber_loss_gradient_is_clipped_difference():
    a = at.fmatrix("a")
    gradient = aesara.grad(objectives.huber_loss(a, at.constant(B), delta=0.5).sum(), a)
    np.testing.assert_allclose(evaluate(gradient, [a], [A]), np.clip(A - B, -0.5, 0.5), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("column", [False, True])
def test_binary_accuracy(column):
    p, t = at.fvector("p"), at.ivector("t")
    probs = np.array([0.1, 0.6, 0.5, 0.49, 0.9, 0.3], np.float32)
    labels = np.array([0, 0, 1, 1, 1, 1], np.int32)
    accuracy = objectives.binary_accuracy(p[:, None] if column else p, t)
    np.testing.assert_array_equal(np.ravel(evaluate(accuracy, [p, t], [probs, labels])), [1, 0, 1, 0, 1, 0])
    strict = objectives.binary_accuracy(p, t, threshold=0.95)
    np.testing.assert_array_equal(evaluate(strict, [p, t], [probs, labels]), [1, 1, 0, 0, 0, 0])


def test_accuracy_rank_mismatch():
    with pytest.raises(TypeError, match="rank mismatch"):
        objectives.categorical_accuracy(at.fvector(), at.fmatrix())
