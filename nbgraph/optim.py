"""Optimizers: the update ``W = W - lr * dL/dW``, written out.

    opt = ng.optim.SGD(model.parameters(), lr=0.05)
    for step in range(500):
        opt.zero_grad()              # forget last step's gradients
        loss = loss_fn(model(X), y)  # forward
        loss.backward()              # backward: fills every W.grad
        opt.step()                   # W = W - lr * W.grad

The update changes ``W.data`` in place, so ``W`` stays the same tensor (the
same node in every drawing) from one step to the next.
"""

import numpy as np

from .engine import Tensor

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """Holds the parameters; ``zero_grad()`` clears their gradients."""

    def __init__(self, params):
        if hasattr(params, "parameters") and not isinstance(params, (list, tuple)):
            params = params.parameters()       # a Module
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got no parameters to optimize")
        for p in self.params:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: every parameter must be a Tensor that "
                                f"requires grad; got {p!r:.80}")
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()

    def step(self):
        raise NotImplementedError

    def __repr__(self):
        names = ", ".join(p.name or "?" for p in self.params[:8])
        more = ", ..." if len(self.params) > 8 else ""
        return f"{type(self).__name__}([{names}{more}], lr={self.lr})"


class SGD(Optimizer):
    """Stochastic gradient descent: ``W = W - lr * dL/dW`` for every parameter.

    ``momentum`` > 0 keeps a velocity per parameter, ``v = momentum * v + grad``,
    and steps along it: ``W = W - lr * v``. ``weight_decay`` adds
    ``weight_decay * W`` to each gradient (L2 regularisation).
    """

    def __init__(self, params, lr=0.1, momentum=0.0, weight_decay=0.0):
        super().__init__(params)
        if lr <= 0:
            raise ValueError(f"SGD: lr must be positive, got {lr}")
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.velocity = [np.zeros_like(p.data) for p in self.params] if momentum else None

    def step(self):
        for i, W in enumerate(self.params):
            grad = W.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * W.data
            if self.momentum:
                v = self.velocity[i]
                v *= self.momentum
                v += grad
                grad = v
            W.data -= self.lr * grad           # W = W - lr * dL/dW
        self.steps += 1


class Adam(Optimizer):
    """Adam: per-parameter step sizes from running averages of the gradient
    (``m``) and of its square (``v``), with the start-up bias corrected.

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g²
        W = W - lr * m̂ / (sqrt(v̂) + eps),  m̂ = m / (1 - b1^t),  v̂ = v / (1 - b2^t)
    """

    def __init__(self, params, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params)
        if lr <= 0:
            raise ValueError(f"Adam: lr must be positive, got {lr}")
        self.lr, self.eps, self.weight_decay = float(lr), float(eps), float(weight_decay)
        self.b1, self.b2 = (float(b) for b in betas)
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        self.steps += 1
        c1 = 1.0 - self.b1 ** self.steps
        c2 = 1.0 - self.b2 ** self.steps
        for W, m, v in zip(self.params, self.m, self.v):
            g = W.grad
            if self.weight_decay:
                g = g + self.weight_decay * W.data
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * (g * g)
            W.data -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
