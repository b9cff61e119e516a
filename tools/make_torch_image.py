"""Regenerate the README picture of a traced PyTorch model (needs torch).

    python tools/make_torch_image.py       # writes docs/images/torch_mlp_backward.{png,svg}

A two-layer PyTorch MLP with a cross-entropy loss, traced with
``ng.torch.trace`` and drawn mid-way through the backward pass: module boxes,
parameters named by attribute path, PyTorch's values and gradients.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import torch                              # noqa: E402
import torch.nn as nn                     # noqa: E402
import torch.nn.functional as F           # noqa: E402

import nbgraph as ng                      # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "docs", "images")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(2, 3), nn.Linear(3, 2)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def main():
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    net = Net()
    x, y = torch.randn(4, 2), torch.tensor([0, 1, 1, 0])
    with ng.torch.trace(net) as tr:
        loss = F.cross_entropy(net(x), y)
    s = ng.Stepper(tr.graph(loss))
    G = s.graph
    # stop where the gradient has just reached fc1's output, half-way back
    s.position = len(G.forward_steps) + 1 + next(
        i for i, st in enumerate(G.backward_steps) if G.nodes[st.node].label == "fc1")
    os.makedirs(OUT, exist_ok=True)
    for ext in ("png", "svg"):
        path = os.path.join(OUT, f"torch_mlp_backward.{ext}")
        s.drawing().save(path)
        print(os.path.relpath(path, os.path.dirname(HERE)))


if __name__ == "__main__":
    main()
