"""ng.torch.trace: the user's own PyTorch model, as an nbgraph graph with PyTorch's values and gradients."""

import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn                      # noqa: E402
import torch.nn.functional as F            # noqa: E402

import nbgraph as ng                       # noqa: E402

TOL = 1e-10


# ---------------------------------------------------------------------------
# The models (float64 throughout)
# ---------------------------------------------------------------------------

class MLP(nn.Module):
    def __init__(self, sizes=(3, 5, 4, 2)):
        super().__init__()
        self.fc1 = nn.Linear(sizes[0], sizes[1])
        self.fc2 = nn.Linear(sizes[1], sizes[2])
        self.out = nn.Linear(sizes[2], sizes[3])

    def forward(self, x):
        return self.out(torch.tanh(self.fc2(F.relu(self.fc1(x)))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(3 * 3 * 3, 4)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(F.relu(self.conv(x))), 1))


class LSTMCell(nn.Module):
    """Written out: one linear map of [x, h], four gates."""

    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.gates = nn.Linear(n_in + n_hidden, 4 * n_hidden)

    def forward(self, x, h, c):
        i, f, g, o = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class Unrolled(nn.Module):
    def __init__(self, cell, n_hidden, steps=4):
        super().__init__()
        self.cell, self.readout = cell, nn.Linear(n_hidden, 1)
        self.n_hidden, self.steps = n_hidden, steps

    def forward(self, xs):
        h = torch.zeros(xs.shape[1], self.n_hidden)
        c = torch.zeros_like(h)
        for t in range(self.steps):
            if isinstance(self.cell, nn.GRUCell):
                h = self.cell(xs[t], h)
            else:
                h, c = self.cell(xs[t], h, c)
        return self.readout(h)


class TransformerBlock(nn.Module):
    """Attention written out: q/k/v projections, softmax, residuals, layer norm."""

    def __init__(self, d=8, heads=2, dropout=0.0):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.proj = nn.Linear(d, d)
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
        self.drop = nn.Dropout(dropout)

    def attention(self, x):
        B, T, D = x.shape
        H = self.heads

        def split(t):
            return t.view(B, T, H, D // H).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(D // H)
        weights = self.drop(torch.softmax(scores, dim=-1))
        return self.proj((weights @ v).transpose(1, 2).reshape(B, T, D))

    def forward(self, x):
        x = self.norm1(x + self.attention(x))
        return self.norm2(x + self.ff(x))


def make(name):
    """(model, inputs, loss function) for each model the bridge must handle."""
    torch.manual_seed(0)
    if name == "mlp":
        model, x = MLP(), torch.randn(6, 3)
        target = torch.randn(6, 2)
        return model, lambda: ((model(x) - target) ** 2).mean()
    if name == "cnn":
        model, x, y = CNN(), torch.randn(2, 1, 6, 6), torch.tensor([1, 3])
        return model, lambda: F.cross_entropy(model(x), y)
    if name == "lstm":
        model, xs = Unrolled(LSTMCell(2, 3), 3), torch.randn(4, 2, 2)
        return model, lambda: model(xs).pow(2).sum()
    if name == "gru":
        model, xs = Unrolled(nn.GRUCell(2, 3), 3), torch.randn(4, 2, 2)
        return model, lambda: model(xs).pow(2).sum()
    if name == "transformer":
        model, x = TransformerBlock(), torch.randn(2, 3, 8)
        return model, lambda: model(x).pow(2).mean()
    raise KeyError(name)


@pytest.fixture(autouse=True)
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def trace(name, backward=None):
    model, run = make(name)
    with ng.torch.trace(model) as tr:
        loss = run()
        if backward == "inside":
            loss.backward()
    if backward == "after":
        loss.backward()
    return model, tr, loss


def graph(tr, loss):
    """tr.graph(loss) with every node's gradient filled in."""
    G = tr.graph(loss)
    G.backward_steps
    return G


def check_against_torch(model, tr, loss):
    """Every node's value and gradient equal PyTorch's; every parameter's gradient too."""
    G = graph(tr, loss)
    pairs = [(t, nb) for t, nb in tr.recorded() if _in(G, nb)]
    assert len(pairs) >= 3
    torch_grads = torch.autograd.grad(loss, [t for t, _ in pairs], retain_graph=True,
                                      allow_unused=True)
    for (t, nb), tg in zip(pairs, torch_grads):
        node = G.node(nb)
        np.testing.assert_allclose(node.value, t.detach().numpy(), rtol=0, atol=TOL)
        if not node.op.name.startswith("torch."):
            # a mapped op, run by nbgraph on the recorded inputs, gives PyTorch's value
            ins = [G.nodes[i].value for i in node.inputs]
            np.testing.assert_allclose(node.op.forward(*ins, **node.params), node.value,
                                       rtol=0, atol=TOL, err_msg=node.op.name)
        expected = np.zeros(node.shape) if tg is None else tg.numpy()
        np.testing.assert_allclose(node.grad, expected, rtol=0, atol=TOL, err_msg=node.label)
    params = dict(model.named_parameters())
    pgrads = torch.autograd.grad(loss, list(params.values()), retain_graph=True)
    for (name, p), pg in zip(params.items(), pgrads):
        node = G.node(name)
        assert node.kind == "param"
        np.testing.assert_allclose(node.grad, pg.numpy(), rtol=0, atol=TOL, err_msg=name)
    return G


def _in(G, nb):
    try:
        G.node(nb)
        return True
    except KeyError:
        return False


# ---------------------------------------------------------------------------
# Values and gradients equal PyTorch's
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "gru", "transformer"])
def test_every_value_and_gradient_equals_pytorch(name):
    model, tr, loss = trace(name)
    G = check_against_torch(model, tr, loss)
    loss.backward()                                 # and the .grad PyTorch itself accumulates
    for pname, p in model.named_parameters():
        np.testing.assert_allclose(G.node(pname).grad, p.grad.numpy(), rtol=0, atol=TOL)


class EmbedNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.bn, self.lin = nn.Embedding(10, 4), nn.BatchNorm1d(4), nn.Linear(4, 3)

    def forward(self, ids):
        return self.lin(F.gelu(self.bn(self.emb(ids))))


def other(name):
    torch.manual_seed(0)
    if name == "nn.LSTM":
        model, x = nn.LSTM(3, 4, batch_first=True), torch.randn(2, 5, 3)
        return model, lambda: model(x)[0].pow(2).sum(), "torch.lstm"
    if name == "nn.MultiheadAttention":          # two outputs, both used
        model, q = nn.MultiheadAttention(8, 2, batch_first=True), torch.randn(2, 3, 8)

        def run():
            out, weights = model(q, q, q)
            return out.pow(2).sum() + (weights * torch.arange(3.0)).sum()
        return model, run, "torch.multi_head_attention_forward"
    if name == "embedding+batchnorm":            # integer ids; batch_norm updates its buffers in place
        model, ids = EmbedNorm(), torch.tensor([1, 2, 5, 7, 2])
        return model, lambda: F.mse_loss(model(ids), torch.ones(5, 3)), "torch.batch_norm"
    if name == "einsum+expand+clamp":
        model, x = nn.Linear(4, 4), torch.randn(3, 4)

        def run():
            h = torch.einsum("ij,jk->ik", model(x), model.weight).expand(2, 3, 4)
            return (h.masked_fill(x > 1, 0.0).clamp(-1, 1) + model(x).max(dim=1).values[:, None]).std()
        return model, run, "torch.einsum"


@pytest.mark.parametrize("name", ["nn.LSTM", "nn.MultiheadAttention", "embedding+batchnorm",
                                  "einsum+expand+clamp"])
def test_other_modules_are_single_nodes_differentiated_by_pytorch(name):
    model, run, op = other(name)
    with ng.torch.trace(model) as tr:
        loss = run()
    G = check_against_torch(model, tr, loss)
    assert op in {n.op.name for n in G.nodes if n.op is not None}


def test_mapped_and_pytorch_differentiated_ops():
    ops = {}
    for name in ("mlp", "cnn", "lstm", "gru", "transformer"):
        model, tr, loss = trace(name)
        ops[name] = {n.op.name for n in tr.graph(loss).nodes if n.op is not None}
    assert {"matmul", "add", "transpose", "relu", "tanh", "sub", "pow", "mean"} <= ops["mlp"]
    assert {"torch.conv2d", "torch.max_pool2d", "reshape", "torch.cross_entropy"} <= ops["cnn"]
    assert {"concat", "getitem", "sigmoid", "tanh", "mul", "add"} <= ops["lstm"]
    assert any(o.startswith("torch.gru_cell") for o in ops["gru"])
    assert {"softmax", "reshape", "transpose", "div", "torch.layer_norm"} <= ops["transformer"]


def test_an_op_pytorch_differentiates_says_so_with_the_numbers():
    model, tr, loss = trace("cnn")
    G = graph(tr, loss)
    conv = next(n for n in G.nodes if n.op is not None and n.op.name == "torch.conv2d")
    forward = next(s for s in G.forward_steps if s.node == conv.id).explanation
    assert forward.startswith("conv = conv2d(x, conv.weight, conv.bias, padding=(1, 1))\n")
    from nbgraph.text import fmt_value
    assert fmt_value(conv.value) in forward
    back = next(s for s in G.backward_steps if s.node == G.node("conv.weight").id).explanation
    assert "computed by PyTorch: torch.autograd.grad of conv2d on the recorded inputs" in back
    from nbgraph.text import fmt_value
    assert fmt_value(G.node("conv.weight").grad) in back


def test_backward_inside_after_or_never_gives_the_same_graph_and_gradients():
    results = []
    for when in (None, "inside", "after"):
        model, tr, loss = trace("transformer", backward=when)
        grads_before = {n: None if p.grad is None else p.grad.clone()
                        for n, p in model.named_parameters()}
        G = tr.graph(loss)
        G.backward_steps
        for n, p in model.named_parameters():         # tr.graph never touches .grad
            if grads_before[n] is None:
                assert p.grad is None
            else:
                assert torch.equal(p.grad, grads_before[n])
        results.append(G)
        if when is not None:
            for n, p in model.named_parameters():
                np.testing.assert_allclose(G.node(n).grad, p.grad.numpy(), rtol=0, atol=TOL)
    first = results[0]
    for G in results[1:]:
        assert [(n.label, n.op and n.op.name, n.scope) for n in G.nodes] == \
               [(n.label, n.op and n.op.name, n.scope) for n in first.nodes]
        for a, b in zip(G.nodes, first.nodes):
            np.testing.assert_array_equal(a.value, b.value)
            if a.grad is not None:
                np.testing.assert_allclose(a.grad, b.grad, rtol=0, atol=TOL)


def test_tracing_changes_nothing_in_the_model():
    model, run = make("mlp")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with ng.torch.trace(model) as tr:
        loss = run()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    s = ng.Stepper(tr.graph(loss))
    s.run_to_end()
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])
    for n, p in model.named_parameters():
        assert torch.equal(p.grad, grads[n])


def test_dropout_shows_what_really_happened():
    torch.manual_seed(1)
    lin = nn.Linear(6, 6)
    x = torch.randn(4, 6)
    with ng.torch.trace(lin) as tr:
        d = F.dropout(lin(x), p=0.5, training=True)
        loss = (d * torch.arange(6.0)).sum()
    G = graph(tr, loss)
    node = G.node(tr.tensor(d))
    assert node.op.name == "torch.dropout"
    np.testing.assert_array_equal(node.value, d.detach().numpy())
    assert (node.value == 0).any() and (node.value != 0).any()
    loss.backward()
    np.testing.assert_allclose(G.node("weight").grad, lin.weight.grad.numpy(), rtol=0, atol=TOL)


# ---------------------------------------------------------------------------
# Names and scopes
# ---------------------------------------------------------------------------

def test_scopes_and_parameters_are_named_by_attribute_path():
    model, tr, loss = trace("transformer")
    G = tr.graph(loss)
    assert {"TransformerBlock/q", "TransformerBlock/norm1", "TransformerBlock/ff/ff.0:Linear",
            "TransformerBlock/ff"} <= set(G.scopes)
    names = {n.name for n in G.nodes if n.kind == "param"}
    assert names == {n for n, _ in model.named_parameters()}
    assert G.node("ff.0.weight").scope == "TransformerBlock/ff/ff.0:Linear"
    assert G.node("x").kind == "leaf"                     # forward(self, x) names the input
    assert G.nodes[G.output_ids[0]].label == "loss"


def test_without_a_model_scopes_are_class_names_and_repeated_calls_are_numbered():
    model, run = make("lstm")
    with ng.torch.trace() as tr:
        loss = run()
    G = tr.graph(loss)
    assert {"Unrolled", "Unrolled/LSTMCell #1", "Unrolled/LSTMCell #4",
            "Unrolled/LSTMCell #2/Linear"} <= set(G.scopes)
    # a weight shared by the four steps is drawn outside them
    w = [n for n in G.nodes if n.kind == "param" and n.shape == (12, 5)]
    assert len(w) == 1 and w[0].name == "Linear.weight" and w[0].scope == ""


def test_module_scopes_are_drawn_as_boxes():
    model, tr, loss = trace("mlp")
    G = tr.graph(loss)
    dot = ng.to_dot(G).source
    for label in ("MLP", "fc1", "fc2", "out"):
        assert f">{label}</td>" in dot            # the cluster's title cell
    svg = ng.show(G).svg
    assert svg.count(' ng-scope') >= 4 and ">fc1</text>" in svg


def test_mlp_steps_show_matmul_and_add_formulas_with_numbers():
    # (checked through nbgraph's own number formatting, not a fixed notation)
    from nbgraph.text import fmt_number as num, paren
    torch.manual_seed(0)
    model = MLP(sizes=(1, 1, 1, 1))
    with ng.torch.trace(model) as tr:
        loss = model(torch.tensor([[2.0]])).sum()
    G = graph(tr, loss)
    w, b = model.fc1.weight.item(), model.fc1.bias.item()

    def step(steps, label):
        return next(s.explanation for s in steps if G.nodes[s.node].label == label)
    matmul = step(G.forward_steps, "v2")
    assert "x @ v1" in matmul and f"2 @ {paren(num(w))}" in matmul and matmul.endswith(f"= {num(2 * w)}")
    add = step(G.forward_steps, "fc1")
    assert "v2 + fc1.bias" in add and f"{num(2 * w)} + {paren(num(b))}" in add
    assert add.endswith(f"= {num(2 * w + b)}")
    g = G.node("fc1").grad.item()                 # dloss/dfc1; then dloss/dv1 = 2 g
    back = step(G.backward_steps, "fc1.bias")
    assert num(g) in back and "v2 + fc1.bias" in back
    back = step(G.backward_steps, "v1")
    assert num(g) in back and num(2 * g) in back and "x @ v1" in back


def test_stepper_steps_through_each_model_to_the_end():
    for name in ("mlp", "cnn", "lstm", "transformer"):
        model, tr, loss = trace(name)
        s = ng.Stepper(tr.graph(loss))
        for _ in range(3):
            s.step_forward()
        assert s.position == 3
        s.run_to_end()
        assert s.position == s.total and s.phase == "backward"
        assert "loss" in s.explanation


# ---------------------------------------------------------------------------
# In-place ops, integer tensors, tensors from outside the block, errors
# ---------------------------------------------------------------------------

def test_in_place_ops_are_followed():
    torch.manual_seed(0)
    lin = nn.Linear(3, 3)
    x = torch.randn(2, 3)
    with ng.torch.trace(lin) as tr:
        h = lin(x)
        F.relu(h, inplace=True)
        h = h * 3
        h += x
        h[0, 1] = 5.0
        h.mul_(2)
        loss = h.pow(2).sum()
    G = graph(tr, loss)
    ops = [n.op.name for n in G.nodes if n.op is not None]
    assert ops.count("relu") == 1 and "torch.setitem" in ops and ops.count("mul") == 2
    loss.backward()
    np.testing.assert_allclose(G.node("weight").grad, lin.weight.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(G.node("bias").grad, lin.bias.grad.numpy(), rtol=0, atol=TOL)


def test_a_view_changed_in_place_is_a_clear_error():
    lin = nn.Linear(3, 3)
    with ng.torch.trace(lin) as tr:
        h = lin(torch.randn(2, 3))
        flat = h.view(-1)
        h.add_(1)                      # changes `flat` too, behind the trace's back
        loss = flat.sum() * 2
        other = h.sum()
    with pytest.raises(RuntimeError, match=r"sum: an input is a tensor of shape \(6,\) made by view"):
        tr.graph(loss)
    G = tr.graph(other)                              # what does not need the stale view is drawn
    assert [n.op.name for n in G.nodes if n.op is not None][-2:] == ["add", "sum"]


def test_integer_labels_and_indices():
    torch.manual_seed(0)
    lin = nn.Linear(3, 4)
    x, y = torch.randn(5, 3), torch.tensor([0, 3, 1, 1, 2])
    with ng.torch.trace(lin) as tr:
        logp = torch.log_softmax(lin(x), dim=1)
        loss = -logp[torch.arange(5), y].mean()
    G = tr.graph(loss)
    assert [n.op.name for n in G.nodes if n.op is not None][-3:] == ["getitem", "mean", "neg"]
    check_against_torch(lin, tr, loss)


def test_tensors_made_outside_the_block_are_inputs():
    torch.manual_seed(0)
    lin1, lin2 = nn.Linear(3, 3), nn.Linear(3, 1)
    h = torch.tanh(lin1(torch.randn(4, 3)))          # before the block: an input to the trace
    with ng.torch.trace(lin2) as tr:
        loss = lin2(h).sum()
    tr.name(h, "h")
    G = graph(tr, loss)
    node = G.node("h")
    assert node.kind == "leaf" and node.requires_grad
    (gh,) = torch.autograd.grad(loss, [h])
    np.testing.assert_allclose(node.grad, gh.numpy(), rtol=0, atol=TOL)
    with pytest.raises(KeyError, match=r"shape \(4, 3\) was not computed inside this trace"):
        tr.graph(torch.ones(4, 3))


def test_float32_models_and_gpu_style_copies_work():
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    model = MLP()
    x = torch.randn(4, 3)
    with ng.torch.trace(model) as tr:
        loss = model(x).pow(2).mean()
    G = graph(tr, loss)
    loss.backward()
    assert G.nodes[0].value.dtype == np.float64
    np.testing.assert_allclose(G.node("fc1.weight").grad, model.fc1.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_bad_model_argument():
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        ng.torch.trace(model=3)


def test_import_nbgraph_does_not_import_torch_and_missing_torch_says_how_to_install():
    code = ("import sys, nbgraph as ng; ng.torch; assert 'torch' not in sys.modules, 'imported'\n"
            "sys.modules['torch'] = None\n"
            "try:\n    ng.torch.trace()\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'pip install "nbgraph[torch]"' in out.stdout


def test_an_error_inside_the_block_leaves_nothing_behind():
    model = MLP()
    with pytest.raises(RuntimeError):
        with ng.torch.trace(model) as tr:
            model(torch.randn(2, 7))                 # wrong width: torch raises
    before = repr(tr)
    loss = model(torch.randn(2, 3)).sum()            # after the block: not recorded
    assert repr(tr) == before
    with pytest.raises(KeyError, match="was not computed inside this trace"):
        tr.graph(loss)
    with ng.torch.trace(model) as tr2:               # a new trace works as usual
        loss = model(torch.randn(2, 3)).sum()
    assert {"MLP/fc1", "MLP/out"} <= set(tr2.graph(loss).scopes)


def test_ties_get_pytorch_s_gradient():
    w = nn.Parameter(torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]))
    with ng.torch.trace() as tr:
        rows = w.max(dim=1).values * torch.tensor([1.0, 2.0])       # a tie in row 0
        loss = rows.sum() + torch.maximum(w, torch.zeros(2, 3)).sum()   # a tie at w = 0
    tr.name(w, "w")
    G = graph(tr, loss)
    (gw,) = torch.autograd.grad(loss, [w])
    np.testing.assert_allclose(G.node("w").grad, gw.numpy(), rtol=0, atol=TOL)
