"""Loss functions, each built from engine ops so the graph shows every piece.

===========================  =====================  =================================
loss                         predictions            targets
===========================  =====================  =================================
``mse(pred, y)``             any shape              same number of values
``hinge(scores, y)``         raw scores (N,) (N,1)  labels -1/+1 *or* 0/1 (0 -> -1)
``binary_cross_entropy``     logits (default) or    labels 0/1 *or* -1/+1 (-1 -> 0)
                             probabilities
``cross_entropy``            logits (N, C)          integer class labels (N,)
===========================  =====================  =================================

All return the mean over the samples, a single-number Tensor ready for
``.backward()``, named after the loss (``mse``, ``hinge``, ``bce``,
``cross_entropy``; ``l2_penalty``) so drawings and explanations say which
loss it is (``.named("loss")`` renames it). Targets are data (numpy arrays
or Tensors whose values are taken as they are, with no gradient); they enter
the graph named ``y`` (or the given Tensor's name; ``y as ±1`` where labels
were converted). A target of shape (N,) meets predictions of shape
(N, 1) as you would expect, instead of broadcasting to (N, N).
"""

import numpy as np

from .engine import ShapeError, Tensor, maximum, tensor

__all__ = ["mse", "hinge", "binary_cross_entropy", "bce", "cross_entropy", "l2_penalty",
           "get_loss", "LOSSES"]


def _pred(x):
    if isinstance(x, Tensor):
        return x
    return tensor(x, requires_grad=False)


def _targets(y, pred, what):
    """Targets as a float array shaped like ``pred`` (same number of values)."""
    y = np.asarray(y.data if isinstance(y, Tensor) else y, dtype=np.float64)
    if y.shape == pred.shape:
        return y
    if y.size == pred.data.size:
        return y.reshape(pred.shape)
    raise ShapeError(f"{what}: predictions {pred.label()} have shape {pred.shape} "
                     f"({pred.data.size} values) but the targets have shape {y.shape} "
                     f"({y.size} values)")


def _signed_labels(y, pred, what):
    """Labels as -1/+1 (0/1 labels are mapped 0 -> -1, 1 -> +1), and whether
    any label changed."""
    y = _targets(y, pred, what)
    low = y.min() if y.size else 0.0
    if y.size and low >= 0:                     # 0/1 (all-ones reads the same either way)
        if not np.all((y == 0.0) | (y == 1.0)):
            _bad_labels(y, what, "-1/+1 or 0/1")
        return 2.0 * y - 1.0, low == 0.0
    if not np.all(np.abs(y) == 1.0):
        _bad_labels(y, what, "-1/+1 or 0/1")
    return y, False


def _binary_labels(y, pred, what):
    """Labels as 0/1 (-1/+1 labels are mapped -1 -> 0, +1 -> 1), and whether
    any label changed."""
    y = _targets(y, pred, what)
    if y.size and y.min() >= 0:
        if not np.all((y == 0.0) | (y == 1.0)):
            _bad_labels(y, what, "0/1 or -1/+1")
        return y, False
    if not np.all(np.abs(y) == 1.0):
        _bad_labels(y, what, "0/1 or -1/+1")
    return (y + 1.0) / 2.0, True


def _named_targets(values, given, converted=""):
    """The targets as a tensor in the graph, named ``y`` (or the given tensor's
    name), so drawings show what they are; ``converted`` notes a relabelling
    such as 0/1 -> -1/+1. They need no gradient."""
    name = given.name if isinstance(given, Tensor) and given.name else "y"
    return tensor(values, name=f"{name} {converted}" if converted else name, requires_grad=False)


def _bad_labels(y, what, expected):
    raise ValueError(f"{what}: labels must be {expected}, got values {np.unique(y)[:6].tolist()}")


def mse(pred, y):
    """Mean squared error: ``mean((pred - y)²)``."""
    pred = _pred(pred)
    diff = pred - _named_targets(_targets(y, pred, "mse"), y)
    return (diff * diff).mean().named("mse")


def hinge(scores, y, margin=1.0):
    """Mean hinge loss ``mean(relu(margin - y * score))`` of an SVM.

    ``scores`` are raw (unsquashed) outputs, one per sample. Labels may be
    -1/+1 or 0/1; 0/1 labels are read as 0 -> -1 and 1 -> +1. A sample costs
    nothing once it is on the right side of the boundary by ``margin``.
    """
    scores = _pred(scores)
    labels, changed = _signed_labels(y, scores, "hinge")
    y = _named_targets(labels, y, "as ±1" if changed else "")
    return (margin - scores * y).relu().mean().named("hinge")


def binary_cross_entropy(x, y, from_logits=True, eps=1e-12):
    """Mean binary cross-entropy ``-[y log p + (1 - y) log(1 - p)]``.

    ``from_logits=True`` (the default, and the one to prefer): ``x`` are raw
    scores and ``p = sigmoid(x)`` is never formed. The loss is computed as
    ``relu(x) - x*y + log(1 + exp(x - 2 relu(x)))``, i.e. with
    ``exp(-|x|)``, which never overflows and stays exact for large ``|x|``
    (written with relu rather than abs so the gradient at ``x = 0`` is the
    exact ``sigmoid(0) - y``).

    ``from_logits=False``: ``x`` are probabilities in [0, 1], kept at least
    ``eps`` away from 0 and 1 before the log (so the loss is finite; where the
    clip acts the gradient is zero).

    Labels may be 0/1 or -1/+1 (-1 is read as 0).
    """
    x = _pred(x)
    labels, changed = _binary_labels(y, x, "binary_cross_entropy")
    if from_logits:
        y = _named_targets(labels, y, "as 0/1" if changed else "")
        r = x.relu()
        return (r - x * y + (1.0 + (x - 2.0 * r).exp()).log()).mean().named("bce")
    y = _named_targets(labels, y, "as 0/1" if changed else "")
    not_y = tensor(1.0 - labels, name=f"1 - {y.name}", requires_grad=False)
    p = maximum(x, eps)
    q = maximum(1.0 - x, eps)
    return (-(y * p.log() + not_y * q.log()).mean()).named("bce")


bce = binary_cross_entropy


def cross_entropy(logits, y):
    """Mean softmax cross-entropy ``-log softmax(logits)[label]`` from raw logits.

    ``logits``: (N, C) (or (C,) for one sample); ``y``: integer class labels
    (N,) in 0..C-1. Uses ``log_softmax`` (max subtracted first), so large
    logits neither overflow nor lose precision.
    """
    logits = _pred(logits)
    labels = np.asarray(y.data if isinstance(y, Tensor) else y)
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError("cross_entropy: labels must be integer class indices")
    labels = labels.astype(np.intp)
    n_classes = logits.shape[-1] if logits.ndim else 0
    if logits.ndim == 1:
        if labels.size != 1:
            raise ShapeError(f"cross_entropy: one sample of logits {logits.shape} needs one "
                             f"label, got {labels.shape}")
        index = int(labels.reshape(()))
    elif logits.ndim == 2:
        labels = labels.reshape(-1)
        if labels.shape[0] != logits.shape[0]:
            raise ShapeError(f"cross_entropy: logits {logits.label()} have shape {logits.shape} "
                             f"but there are {labels.shape[0]} labels")
        index = (np.arange(labels.shape[0]), labels)
    else:
        raise ShapeError(f"cross_entropy: logits must be (N, C) or (C,), got {logits.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"cross_entropy: labels must lie in 0..{n_classes - 1}, got "
                         f"{int(labels.min())}..{int(labels.max())}")
    return (-logits.log_softmax(axis=-1)[index].mean()).named("cross_entropy")


def l2_penalty(params, weight):
    """``weight * Σ ||W||²`` over ``params`` (a list, or a Module: its weight
    matrices only, not the biases)."""
    if hasattr(params, "parameters"):
        params = [p for p in params.parameters() if p.ndim >= 2]
    total = None
    for p in params:
        term = (p * p).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l2_penalty: no parameters given")
    return (weight * total).named("l2_penalty")


LOSSES = {
    "mse": mse,
    "hinge": hinge,
    "binary_cross_entropy": binary_cross_entropy,
    "bce": binary_cross_entropy,
    "cross_entropy": cross_entropy,
}


def get_loss(loss):
    """A loss function from its name ("mse", "hinge", "bce", "cross_entropy") or itself."""
    if callable(loss):
        return loss
    try:
        return LOSSES[loss]
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)} or a function "
                         "f(predictions, targets) -> Tensor") from None
