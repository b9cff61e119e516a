"""ng.torch: step through your own PyTorch model, value by value, gradient by gradient.

    with ng.torch.trace(model) as tr:
        loss = loss_fn(model(x), y)
    ng.Stepper(tr.graph(loss))

While the block runs, a ``TorchFunctionMode`` sees every torch call at the
level the user wrote it (``F.linear``, ``x @ w``, ``F.layer_norm``), and global
module hooks say which ``nn.Module`` each call ran in. Recording is cheap: per
call, the function, its arguments (tensors replaced by references) and a copy
of its outputs. ``tr.graph(loss)`` then builds nbgraph Tensors with exactly
those recorded values, so every drawing, step and explanation works as for
nbgraph's own code:

* calls that nbgraph has an op for (arithmetic, matmul, ``F.linear`` as a
  matmul and an add, relu/tanh/..., sum/mean/max, softmax, reshapes,
  indexing, cat/stack, where/maximum) become those ops: formulas with numbers;
* any other call (convolution, layer norm, dropout, cross-entropy, ...) is one
  node named after the torch function, whose gradient PyTorch computes: the
  call is replayed on the recorded inputs (with the random-number state it saw,
  so dropout drops the same elements) and differentiated with
  ``torch.autograd.grad``.

Nothing here touches the model, its parameters or their ``.grad``, and torch
is imported only when a trace starts.
"""

import inspect

import numpy as np

from ..engine import OPS, Tensor, define_op, parameter, scope, tensor, concat, stack, maximum, where
from ..graph import graph as _graph

__all__ = ["trace", "Trace", "INSTALL_HINT"]

INSTALL_HINT = ('ng.torch needs PyTorch, which is not installed in this Python. Install it with '
                'pip install "nbgraph[torch]" (torch==2.13.0, the CPU build).')

_paused = 0        # > 0 while nbgraph itself runs torch code (replays): nothing is recorded


def _import_torch():
    try:
        import torch
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return torch


def trace(model=None):
    """Record the torch operations run inside the ``with`` block.

    ``model`` (optional): an ``nn.Module`` whose attribute paths name the
    scopes (``encoder.layers.0.attn``) and parameters (``fc1.weight``);
    without it, scopes are named by class names. Returns a ``Trace``:
    ``tr.graph(loss)`` is the nbgraph Graph of everything ``loss`` depends on.
    """
    torch = _import_torch()
    return Trace(model, torch)


# ---------------------------------------------------------------------------
# What is recorded
# ---------------------------------------------------------------------------

class _Ref:
    """Stands for the k-th tensor input of a call inside its stored arguments."""
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k


class _Entry:
    """One value that becomes a node: a leaf seen for the first time, or an op output."""
    __slots__ = ("kind", "value", "torch", "call", "j", "mcall", "named_by", "error", "nb")

    def __init__(self, kind, value, torch_tensor, call=None, j=0, mcall=None):
        self.kind, self.value, self.torch = kind, value, torch_tensor
        self.call, self.j = call, j
        self.mcall = mcall             # a leaf: the module call that first used it
        self.named_by = None           # an op's result: the module call that returned it
        self.error = self.nb = None


class _Call:
    """One recorded torch call: enough to build its node(s) and to replay it."""
    __slots__ = ("func", "name", "args", "kwargs", "inputs", "outputs", "mcall", "rng",
                 "inplace", "positions", "torch", "_cache")

    def __init__(self, func, name, args, kwargs, inputs, mcall, torch):
        self.func, self.name, self.args, self.kwargs = func, name, args, kwargs
        self.inputs, self.outputs, self.mcall = inputs, [], mcall
        self.rng = self.inplace = self._cache = None
        self.torch = torch

    def __str__(self):
        """The non-tensor arguments that differ from their defaults, as shown in the formula:
        ``conv2d(x, conv.weight, conv.bias, padding=1)``."""
        names, defaults = _signature(self.func)
        extra = []
        for i, a in enumerate(self.args):
            if _has_ref(a):
                continue
            name = names[i] if i < len(names) else None
            if name is None:
                extra.append(_fmt_static(a))
            elif not _same(defaults.get(name, _NO_DEFAULT), a):
                extra.append(f"{name}={_fmt_static(a)}")
        extra += [f"{k}={_fmt_static(v)}" for k, v in self.kwargs.items()
                  if not _has_ref(v) and v is not None and not _same(defaults.get(k, _NO_DEFAULT), v)]
        return "".join(", " + e for e in extra)

    def value(self, j):
        return _np(self.outputs[j].value)

    def grad(self, g, j, k):
        """dL/d(input k), given g = dL/d(output j): PyTorch's own backward of this call."""
        cache = self._cache
        if cache is None or cache[0] is not g or cache[1] != j:
            cache = self._cache = (g, j, self._replay_grads(g, j))
        return cache[2][k]

    def _replay_grads(self, g, j):
        global _paused
        torch = self.torch
        need = [e.nb is not None and e.nb.requires_grad for e in self.inputs]
        ins = [e.value.detach().clone().requires_grad_(n and e.value.is_floating_point())
               for e, n in zip(self.inputs, need)]
        fed = list(ins)
        if self.inplace is not None:      # replay an in-place op on a copy, never on the leaf
            fed[self.inplace] = ins[self.inplace].clone()
        args = _fill(self.args, fed)
        kwargs = {k: _fill(v, fed) for k, v in self.kwargs.items()}
        _paused += 1
        try:
            with torch.random.fork_rng(devices=[]), torch.enable_grad():
                if self.rng is not None:
                    torch.set_rng_state(self.rng)
                out = self.func(*args, **kwargs)
        finally:
            _paused -= 1
        outs = [fed[self.inplace]] if self.inplace is not None else _float_tensors(out, torch)
        o = outs[self.positions[j]]
        grads = [None] * len(ins)
        wanted = [i for i, n in enumerate(need) if n]
        if o.requires_grad and wanted:
            got = torch.autograd.grad(o, [ins[i] for i in wanted],
                                      torch.as_tensor(g, dtype=o.dtype).reshape(o.shape),
                                      allow_unused=True)
            for i, gi in zip(wanted, got):
                if gi is not None:
                    grads[i] = _np(gi)
        return [np.zeros(tuple(e.value.shape)) if gi is None else gi
                for e, gi in zip(self.inputs, grads)]


def _np(t):
    """A torch tensor's values as a float64 numpy array (copied to the CPU)."""
    return t.detach().to("cpu").double().numpy()


def _fill(a, ins):
    """The stored arguments with each reference replaced by its input."""
    if isinstance(a, _Ref):
        return ins[a.k]
    if type(a) in (list, tuple):
        return type(a)(_fill(x, ins) for x in a)
    return a


def _collect(args, found, tensor_type):
    """The floating-point tensors in (nested lists and tuples of) arguments, in order."""
    for a in args:
        if isinstance(a, tensor_type):
            if a.is_floating_point():
                found.append(a)
        elif type(a) in (list, tuple):
            _collect(a, found, tensor_type)


def _float_tensors(out, torch):
    """The floating-point tensors in a call's result, flattened in order."""
    if isinstance(out, torch.Tensor):
        return [out] if out.is_floating_point() else []
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _float_tensors(o, torch)]
    return []


def _fmt_static(v):
    if hasattr(v, "shape") and hasattr(v, "tolist"):          # an integer or boolean tensor
        if v.numel() <= 8:
            return str(v.tolist())
        return f"tensor[{'×'.join(map(str, v.shape))}]"
    if isinstance(v, (list, tuple)) and len(v) > 8:
        return f"[{len(v)} values]"
    return str(v)


_NO_DEFAULT = object()
_SIGNATURES = {}
_OVERRIDES = None


def _signature(func):
    """(positional parameter names, defaults) of a torch function, for showing its arguments.

    torch's builtins have no Python signature; ``torch.overrides`` keeps one
    for each (a lambda with the same parameters), so ask it once.
    """
    global _OVERRIDES
    if func not in _SIGNATURES:
        if _OVERRIDES is None:
            from torch.overrides import get_testing_overrides
            _OVERRIDES = get_testing_overrides()
        names, defaults = [], {}
        try:
            for p in inspect.signature(_OVERRIDES.get(func, func)).parameters.values():
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                    names.append(p.name)
                elif p.kind is p.VAR_POSITIONAL:
                    break                   # permute(*dims): show the rest by position
                if p.default is not p.empty:
                    defaults[p.name] = p.default
        except (TypeError, ValueError):
            pass
        _SIGNATURES[func] = (names, defaults)
    return _SIGNATURES[func]


def _has_ref(a):
    return isinstance(a, _Ref) or (type(a) in (list, tuple) and any(_has_ref(x) for x in a))


def _same(default, v):
    """Is ``v`` the default? (stride=(1, 1) is conv2d's stride=1)."""
    if default is _NO_DEFAULT:
        return False
    if isinstance(v, (tuple, list)) and v and not isinstance(default, (tuple, list)):
        return all(_same(default, x) for x in v)
    try:
        return type(default) is type(v) and bool(default == v)
    except Exception:
        return False


def _func_name(func):
    name = getattr(func, "__name__", None) or type(func).__name__
    if name in ("__get__", "__set__"):                        # a property: x.T, x.mT, x.data
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    return name


# ---------------------------------------------------------------------------
# The trace
# ---------------------------------------------------------------------------

class Trace:
    """What ran inside ``with ng.torch.trace(model) as tr:``; ``tr.graph(loss)`` draws it."""

    def __init__(self, model, torch):
        self._torch = torch
        self.model = model
        self._entries = []             # every node-to-be, in creation order
        self._map = {}                 # id(torch tensor) -> (tensor, entry, version)
        self._names = {}               # id(tensor) -> (tensor, name): parameters, buffers, user names
        self._hints = {}               # id(tensor) -> (tensor, name): forward() argument names
        self._mcalls = []              # module calls: (module, parent call id)
        self._stack = []
        self._paths = {}               # module -> attribute path inside ``model``
        self._segments = None
        self._runs = {}                # module -> how many times it ran
        self._active = False
        self._handles = ()
        self._mode = None
        if model is not None:
            if not isinstance(model, torch.nn.Module):
                raise TypeError(f"ng.torch.trace(model): model must be a torch.nn.Module, "
                                f"got {type(model).__name__}")
            self._paths = {m: path for path, m in model.named_modules(remove_duplicate=False)}
            for path, p in model.named_parameters(remove_duplicate=True):
                self._names[id(p)] = (p, path)
            for path, b in model.named_buffers(remove_duplicate=True):
                self._names[id(b)] = (b, path)

    # -- entering and leaving ----------------------------------------------------
    def __enter__(self):
        if self._active:
            raise RuntimeError("this ng.torch.trace is already active")
        hooks = self._torch.nn.modules.module
        self._handles = (hooks.register_module_forward_pre_hook(self._pre_hook),
                         hooks.register_module_forward_hook(self._post_hook, always_call=True))
        self._mode = _mode_class(self._torch)(self)
        self._mode.__enter__()
        self._active = True
        return self

    def __exit__(self, *exc):
        self._active = False
        try:
            self._mode.__exit__(*exc)
        finally:
            for h in self._handles:
                h.remove()
            self._handles, self._stack = (), []
        return False

    # -- module scopes ---------------------------------------------------------------
    def _pre_hook(self, module, args):
        if _paused or not self._active:
            return
        parent = self._stack[-1] if self._stack else None
        if parent is None:                    # a top-level call: its arguments' names name the inputs
            self._name_arguments(module, args)
        if module not in self._runs:         # parameters of modules outside ``model``: Class.weight
            self._runs[module] = 0
            base = self._paths.get(module) or type(module).__name__
            for pname, p in module.named_parameters(recurse=False):
                self._names.setdefault(id(p), (p, f"{base}.{pname}"))
        self._runs[module] += 1
        self._mcalls.append((module, parent))
        self._stack.append(len(self._mcalls) - 1)
        self._segments = None

    def _post_hook(self, module, args, output):
        if _paused or not self._active:
            return
        while self._stack:
            cid = self._stack.pop()
            if self._mcalls[cid][0] is module:
                break
        else:
            return
        # a module's result is named after the module: the innermost one that computed it
        # (a Dropout in eval mode hands back its input, computed elsewhere: no name from it)
        for t in _float_tensors(output, self._torch):
            got = self._map.get(id(t))
            if got is not None and got[0] is t and got[1].kind == "op" and got[1].named_by is None:
                inside = got[1].call.mcall
                while inside is not None and inside != cid:
                    inside = self._mcalls[inside][1]
                if inside == cid:
                    got[1].named_by = cid

    def _name_arguments(self, module, args):
        try:
            names = [p.name for p in inspect.signature(module.forward).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            return
        for name, a in zip(names, args):
            if isinstance(a, self._torch.Tensor) and id(a) not in self._map:
                self._hints.setdefault(id(a), (a, name))

    def name(self, t, name):
        """Name a torch tensor (an input, or a result inside the block) in the drawings.

        Call it before ``tr.graph``; returns ``t``.
        """
        if not hasattr(t, "is_floating_point"):
            raise TypeError(f"tr.name() takes a torch tensor, got {type(t).__name__}")
        self._names[id(t)] = (t, str(name))
        got = self._map.get(id(t))
        if got is not None and got[0] is t and got[1].nb is not None:
            got[1].nb.name = str(name)       # already built: rename the node
        return t

    # -- recording (called by the mode for every torch call) --------------------------
    def _input(self, t):
        """The entry for a tensor used as an input: recorded, or a new leaf."""
        got = self._map.get(id(t))
        if got is not None and got[0] is t:
            if got[2] == t._version:
                return got[1]
            if got[1].kind == "op":
                e = _Entry("stale", None, t)
                e.error = (f"a tensor of shape {tuple(t.shape)} made by {got[1].call.name} was changed "
                           "in place after it was recorded (through a view of it, or inside "
                           "torch.no_grad()), then used again. Trace an out-of-place version "
                           "(x = x + 1 rather than x += 1 on a view), or .clone() it first.")
                return e
        v = t.detach()
        v = v.clone() if v.device.type == "cpu" else v.to("cpu")
        e = _Entry("leaf", v, t, mcall=self._stack[-1] if self._stack else None)
        self._entries.append(e)
        self._map[id(t)] = (t, e, t._version)
        return e

    def _record(self, func, args, kwargs, run):
        torch = self._torch
        floats = []
        _collect(args, floats, torch.Tensor)
        _collect(tuple(kwargs.values()), floats, torch.Tensor)
        name = _func_name(func)
        if not floats or name in _PASS:
            return run()
        record = torch.is_grad_enabled() and any(t.requires_grad for t in floats)
        versions = [t._version for t in floats]
        rng = torch.get_rng_state() if record and name not in _MAPPED else None
        inputs = [self._input(t) for t in floats] if record else None
        out = run()
        changed = [i for i, t in enumerate(floats) if t._version != versions[i]]
        if not record:
            return out
        ids = {id(t) for t in floats}
        # the new tensors that need a gradient, and where they sit among the call's results
        kept = [(i, t) for i, t in enumerate(_float_tensors(out, torch))
                if id(t) not in ids and t.requires_grad]
        inplace = None
        if not kept and changed:      # x.add_(y), x[i] = v, F.relu(x, inplace=True): x's new value
            inplace = changed[0]
            if floats[inplace].requires_grad:
                kept = [(0, floats[inplace])]
        # (an op that makes new tensors and also updates a buffer in place, as batch_norm
        # updates its running mean, is recorded by its result; the buffer becomes a new input)
        outs = [t for _, t in kept]
        if not outs:
            return out
        if name in _ALIAS and not changed and len(outs) == 1:     # same values, same node
            self._map[id(outs[0])] = (outs[0], inputs[0], outs[0]._version)
            return out
        # tensors in the stored arguments become references (k-th input); others are copied
        order = iter(range(len(floats)))
        def conv(a):
            if isinstance(a, torch.Tensor):
                if a.is_floating_point():
                    return _Ref(next(order))
                return a.detach().to("cpu").clone()
            if type(a) in (list, tuple):          # the same walk as _collect
                return type(a)(conv(x) for x in a)
            return a
        sargs = tuple(conv(a) for a in args)
        skw = {key: conv(v) for key, v in kwargs.items()}
        call = _Call(func, name, sargs, skw, inputs, self._stack[-1] if self._stack else None, torch)
        call.rng, call.inplace = rng, inplace
        call.positions = [i for i, _ in kept]
        for j, t in enumerate(outs):
            v = t.detach()
            v = v.clone() if v.device.type == "cpu" else v.to("cpu")
            e = _Entry("op", v, t, call, j)
            call.outputs.append(e)
            self._entries.append(e)
            self._map[id(t)] = (t, e, t._version)
        return out

    # -- building nbgraph tensors --------------------------------------------------------
    def recorded(self):
        """(torch tensor, nbgraph Tensor) for every recorded op output, in order."""
        self._build()
        return [(e.torch, e.nb) for e in self._entries if e.kind == "op" and e.nb is not None]

    def tensor(self, t):
        """The nbgraph Tensor that stands for the torch tensor ``t``."""
        got = self._map.get(id(t))
        if got is None or got[0] is not t:
            what = f"a tensor of shape {tuple(t.shape)}" if hasattr(t, "shape") else type(t).__name__
            raise KeyError(
                f"ng.torch.trace: {what} was not computed inside this trace by ops that need a "
                "gradient (was it made outside the `with` block, under torch.no_grad(), or from "
                "tensors without requires_grad?)")
        if got[2] != t._version and got[1].kind == "op":
            raise RuntimeError(
                f"ng.torch.trace: the tensor of shape {tuple(t.shape)} made by {got[1].call.name} was "
                "changed in place after the trace recorded it (through a view of it, or inside "
                "torch.no_grad()), so its graph would show other values. Draw it before the change, "
                "or make the change inside the trace on the tensor itself.")
        self._build()
        if got[1].error is not None:
            raise RuntimeError(f"ng.torch.trace: {got[1].error}")
        return got[1].nb

    def graph(self, *outputs):
        """The nbgraph Graph of ``outputs`` (torch tensors computed inside the block).

        Works whether or not ``loss.backward()`` was called; changes nothing in torch.
        """
        if len(outputs) == 1 and isinstance(outputs[0], (list, tuple)):
            outputs = tuple(outputs[0])
        if not outputs:
            raise TypeError("tr.graph() takes the torch tensor(s) to draw, e.g. tr.graph(loss)")
        nbs = [self.tensor(o) for o in outputs]
        for nb in nbs:
            if nb.name is None:
                nb.name = "loss" if len(nbs) == 1 and nb.size == 1 else None
        return _graph(*nbs)

    def _build(self):
        global _paused
        _paused += 1
        opened = []               # the ng.scope()s open now, outermost first: (name, manager)
        quiet = np.errstate(all="ignore")   # a mapped op re-run on recorded inf/NaN: torch's value is kept
        quiet.__enter__()
        try:
            for e in self._entries:
                if e.nb is not None or e.error is not None or (e.kind == "op" and e.j > 0):
                    continue
                path = self._path(e.call.mcall if e.kind == "op" else self._leaf_scope(e))
                opened = _enter_scopes(opened, path)
                if e.kind == "leaf":
                    e.nb = self._leaf(e)
                else:
                    self._op(e.call)
        finally:
            _enter_scopes(opened, ())
            quiet.__exit__(None, None, None)
            _paused -= 1

    def _leaf_scope(self, e):
        # A parameter is drawn inside its module's box if that module ran once;
        # a weight shared over several calls (an RNN's) stays outside them all.
        if e.mcall is None or id(e.torch) not in self._names:
            return None
        module = self._mcalls[e.mcall][0]
        if self._runs[module] != 1 or not any(p is e.torch for p in module._parameters.values()):
            return None
        return e.mcall

    def _leaf(self, e):
        t = e.torch
        name = self._names.get(id(t)) or self._hints.get(id(t))
        name = name[1] if name is not None and name[0] is t else None
        data = _np(e.value)
        if name is not None and isinstance(t, self._torch.nn.Parameter) and t.requires_grad:
            return parameter(data, name=name)
        nb = tensor(data, name=name, requires_grad=t.requires_grad)
        if name is None and not t.requires_grad:
            nb.kind = "const"              # drawn as a small tag, like a number in nbgraph code
        return nb

    def _op(self, call):
        for e in call.inputs:
            # a stale input: this call and everything computed from it cannot be drawn;
            # the error is raised only if the graph asked for needs them
            if e.error is not None:
                for o in call.outputs:
                    o.error = e.error if e.kind != "stale" else f"{call.name}: an input is {e.error}"
                return
        ins = [e.nb for e in call.inputs]
        nbs = None
        mapper = _MAPPED.get(call.name)
        if mapper is not None:
            try:
                args = _fill(call.args, ins)
                kwargs = {k: _fill(v, ins) for k, v in call.kwargs.items()}
                shapes = [tuple(o.value.shape) for o in call.outputs]
                nbs = mapper(shapes, *(_static(a) for a in args),
                             **{k: _static(v) for k, v in kwargs.items()})
                nbs = list(nbs) if isinstance(nbs, (list, tuple)) else [nbs]
                if (len(nbs) != len(call.outputs) or
                        any(n.shape != tuple(o.value.shape) for n, o in zip(nbs, call.outputs))):
                    nbs = None
            except (TypeError, ValueError, IndexError, _Unmapped):
                nbs = None           # an unusual form of the call: PyTorch differentiates it
        if nbs is None:
            key = _generic_op(call.name, len(ins), len(call.outputs) > 1)
            nbs = [key(*ins, call=call, j=j) for j in range(len(call.outputs))]
        for e, nb in zip(call.outputs, nbs):
            nb.data = _np(e.value)         # the recorded value, never a recomputation
            given = self._names.get(id(e.torch))
            if given is not None and given[0] is e.torch:
                nb.name = given[1]
            elif e.named_by is not None:
                nb.name = self._segment(e.named_by)
            e.nb = nb

    # -- scope names ------------------------------------------------------------------------
    def _segment(self, cid):
        if self._segments is None or cid >= len(self._segments):
            self._number_calls()
        return self._segments[cid]

    def _number_calls(self):
        bases, counts = [], {}
        for module, parent in self._mcalls:
            path = self._paths.get(module)
            base = path if path else type(module).__name__
            if base.rpartition(".")[2].isdigit():      # "0" of a Sequential says little alone
                base = f"{base}:{type(module).__name__}"
            base = base.replace("/", "∕")               # '/' separates scopes
            bases.append(base)
            counts[(parent, base)] = counts.get((parent, base), 0) + 1
        seen, segs = {}, []
        for (module, parent), base in zip(self._mcalls, bases):
            n = counts[(parent, base)]
            seen[(parent, base)] = k = seen.get((parent, base), 0) + 1
            segs.append(base if n == 1 else f"{base} #{k}")
        self._segments = segs

    def _path(self, cid):
        parts = []
        while cid is not None:
            parts.append(self._segment(cid))
            cid = self._mcalls[cid][1]
        return tuple(reversed(parts))

    def __repr__(self):
        ops = sum(1 for e in self._entries if e.kind == "op")
        return f"<ng.torch.trace: {ops} recorded values, {len(self._mcalls)} module calls>"


def _enter_scopes(opened, path):
    """Move the open ``ng.scope``s from ``opened`` to ``path``, keeping the common prefix."""
    common = 0
    while common < min(len(opened), len(path)) and opened[common][0] == path[common]:
        common += 1
    for _, cm in reversed(opened[common:]):
        cm.__exit__(None, None, None)
    opened = opened[:common]
    for name in path[common:]:
        cm = scope(name)
        cm.__enter__()
        opened.append((name, cm))
    return opened


_MODE = None


def _mode_class(torch):
    """The TorchFunctionMode subclass (made on first use: defining it needs torch)."""
    global _MODE
    if _MODE is None:
        from torch.overrides import TorchFunctionMode

        class _Recorder(TorchFunctionMode):
            def __init__(self, trace):
                super().__init__()
                self.trace = trace

            def __torch_function__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                if _paused or not self.trace._active:
                    return func(*args, **kwargs)
                return self.trace._record(func, args, kwargs, lambda: func(*args, **kwargs))

        _MODE = _Recorder
    return _MODE


# ---------------------------------------------------------------------------
# Calls that become nbgraph ops. Each mapper takes the output shapes, then the
# call's own arguments (tensors as nbgraph Tensors, integer/bool tensors as
# numpy arrays) and returns the nbgraph Tensor(s); it raises _Unmapped for a
# form it does not cover, and the call becomes a PyTorch-differentiated node.
# ---------------------------------------------------------------------------

class _Unmapped(Exception):
    pass


def _static(a):
    """Integer and boolean torch tensors (indices, masks, labels) as numpy arrays."""
    if hasattr(a, "numpy") and hasattr(a, "is_floating_point") and not isinstance(a, Tensor):
        arr = a.numpy()
        return arr.astype(np.intp) if arr.dtype.kind in "iu" else arr
    if isinstance(a, tuple):
        return tuple(_static(x) for x in a)
    return a


def _plain(*rest, **kw):
    """Extra arguments that change nothing (inplace=False, out=None, dtype=None)."""
    if any(v not in (None, False) for v in list(rest) + list(kw.values())):
        raise _Unmapped


def _axes(dim):
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):
        return None
    return tuple(dim) if isinstance(dim, (tuple, list)) else int(dim)


def _add(s, a, b, *rest, alpha=1, **kw):
    _plain(*rest, **kw)
    return a + (b if alpha == 1 else b * alpha)


def _sub(s, a, b, *rest, alpha=1, **kw):
    _plain(*rest, **kw)
    return a - (b if alpha == 1 else b * alpha)


def _rsub(s, a, b, *rest, alpha=1, **kw):          # torch.rsub(a, b) = b - alpha a
    _plain(*rest, **kw)
    return b - (a if alpha == 1 else a * alpha)


def _mul(s, a, b, *rest, **kw):
    _plain(*rest, **kw)
    return a * b


def _div(s, a, b, *rest, rounding_mode=None, **kw):
    _plain(rounding_mode, *rest, **kw)
    return a / b


def _pow(s, a, e, *rest, **kw):
    _plain(*rest, **kw)
    if isinstance(e, np.ndarray) and e.ndim == 0:
        e = float(e)
    return a ** e


def _matmul(s, a, b, *rest, **kw):
    _plain(*rest, **kw)
    return a @ b


def _linear(s, x, w, bias=None):
    if not isinstance(w, Tensor) or w.ndim != 2:
        raise _Unmapped
    y = x @ w.T
    return y if bias is None else y + bias


def _addmm(s, c, a, b, *rest, beta=1, alpha=1, **kw):
    _plain(*rest, **kw)
    if beta != 1 or alpha != 1:
        raise _Unmapped
    return c + a @ b


def _unary(method):
    def mapper(s, a, *rest, inplace=False, **kw):      # F.relu(x, inplace=True): followed as relu
        _plain(*rest, **kw)
        return getattr(a, method)()
    return mapper


def _reduction(method):
    def mapper(s, a, dim=None, keepdim=False, *rest, dtype=None, axis=None, **kw):
        _plain(*rest, **kw)
        return getattr(a, method)(axis=_axes(axis if dim is None else dim), keepdims=bool(keepdim))
    return mapper


def _max(s, a, dim=None, keepdim=False, *rest, **kw):
    _plain(*rest, **kw)
    if isinstance(dim, Tensor):
        return _maximum(s, a, dim)
    if dim is None:                 # ties share the gradient, in torch as in nbgraph
        return a.max()
    # max over an axis: torch gives the whole gradient to one of tied maxima, nbgraph shares it
    top = a.data.max(axis=int(dim), keepdims=True)
    if ((a.data == top).sum(axis=int(dim)) > 1).any():
        raise _Unmapped
    return a.max(axis=int(dim), keepdims=bool(keepdim))


def _amax(s, a, dim=(), keepdim=False, *rest, **kw):
    _plain(*rest, **kw)
    return a.max(axis=_axes(dim), keepdims=bool(keepdim))


def _softmax(method):
    def mapper(s, a, dim=None, *rest, dtype=None, _stacklevel=None, **kw):
        _plain(*[r for r in rest if not isinstance(r, int)], **kw)
        if dim is None or dtype is not None:
            raise _Unmapped
        return getattr(a, method)(axis=int(dim))
    return mapper


def _reshape(s, a, *rest, **kw):           # view, flatten, squeeze, ...: the result's shape says it all
    return a.reshape(s[0])


def _transpose(s, a, d0, d1):
    axes = list(range(a.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return a.transpose(tuple(axes))


def _t(s, a):
    if a.ndim < 2:
        raise _Unmapped
    return a.transpose((1, 0))


def _permute(s, a, *dims):
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    return a.transpose(tuple(int(d) % a.ndim for d in dims))


def _mT(s, a):
    axes = list(range(a.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return a.transpose(tuple(axes))


def _getitem(s, a, index):
    if isinstance(index, list):
        index = np.asarray(index)
    return a[index]


def _cat(s, tensors, dim=0, *, axis=None, **kw):
    _plain(**kw)
    return concat(list(tensors), axis=int(dim if axis is None else axis))


def _stack(s, tensors, dim=0, *, axis=None, **kw):
    _plain(**kw)
    return stack(list(tensors), axis=int(dim if axis is None else axis))


def _where(s, cond, a=None, b=None):
    if not isinstance(cond, np.ndarray) or a is None:
        raise _Unmapped
    return where(cond, a, b)


def _maximum(s, a, b, *rest, **kw):
    _plain(*rest, **kw)
    # at a tie torch halves the gradient between a and b; nbgraph gives it to a
    if np.any(np.asarray(getattr(a, "data", a)) == np.asarray(getattr(b, "data", b))):
        raise _Unmapped
    return maximum(a, b)


def _pieces(s, a, *args, dim=0, **kw):
    """chunk / split / unbind / tensor_split: one slice of ``a`` per piece."""
    if args and not isinstance(args[-1], (list, tuple)) and len(args) >= 2:
        dim = args[-1]
    dim = int(dim) % a.ndim
    pieces, start = [], 0
    unbind = all(len(shape) == a.ndim - 1 for shape in s)
    for shape in s:
        if unbind:
            pieces.append(a[(slice(None),) * dim + (start,)])
            start += 1
        else:
            pieces.append(a[(slice(None),) * dim + (slice(start, start + shape[dim]),)])
            start += shape[dim]
    return pieces


def _unbind(s, a, dim=0):
    return _pieces(s, a, dim=dim)


def _swap(f):
    return lambda s, a, b, *rest, **kw: f(s, b, a, *rest, **kw)


_MAPPED = {}
for _names, _mapper in [
        (("add", "__add__", "__iadd__", "add_"), _add),
        (("__radd__",), _swap(_add)),
        (("sub", "subtract", "__sub__", "__isub__", "sub_"), _sub),
        (("__rsub__",), _swap(_sub)), (("rsub",), _rsub),
        (("mul", "multiply", "__mul__", "__imul__", "mul_"), _mul),
        (("__rmul__",), _swap(_mul)),
        (("div", "divide", "true_divide", "__truediv__", "__itruediv__", "div_"), _div),
        (("__rtruediv__",), _swap(_div)),
        (("pow", "__pow__", "__ipow__", "pow_", "float_power"), _pow),
        (("__rpow__",), _swap(_pow)),
        (("matmul", "__matmul__", "mm", "bmm", "mv", "dot"), _matmul),
        (("__rmatmul__",), _swap(_matmul)),
        (("linear",), _linear), (("addmm",), _addmm),
        (("sum",), _reduction("sum")), (("mean",), _reduction("mean")),
        (("max",), _max), (("amax",), _amax), (("maximum",), _maximum),
        (("softmax",), _softmax("softmax")), (("log_softmax",), _softmax("log_softmax")),
        (("reshape", "view", "flatten", "unflatten", "squeeze", "unsqueeze", "view_as",
          "reshape_as", "squeeze_", "unsqueeze_"), _reshape),
        (("transpose", "swapaxes", "swapdims", "transpose_"), _transpose),
        (("t",), _t), (("permute",), _permute), (("T",), lambda s, a: a.transpose()),
        (("mT",), _mT),
        (("__getitem__",), _getitem),
        (("cat", "concat", "concatenate"), _cat), (("stack",), _stack),
        (("where",), _where),
        (("chunk", "split", "tensor_split", "split_with_sizes"), _pieces), (("unbind",), _unbind),
        (("neg", "negative", "__neg__", "neg_"), _unary("__neg__")),
        (("square",), lambda s, a: a ** 2),
]:
    for _n in _names:
        _MAPPED[_n] = _mapper
for _n in ("relu", "tanh", "sigmoid", "exp", "log", "sqrt", "abs"):
    _MAPPED[_n] = _MAPPED[_n + "_"] = _unary(_n)

# Calls that only look at a tensor: passed straight through.
_PASS = {"shape", "dtype", "device", "size", "dim", "ndim", "numel", "requires_grad", "grad",
         "is_leaf", "grad_fn", "__len__", "__repr__", "__format__", "__str__", "item", "tolist",
         "backward", "stride", "is_floating_point", "is_contiguous", "data_ptr", "__bool__",
         "numpy", "__array__", "storage_offset", "element_size", "nelement", "names", "layout",
         "is_cuda", "retain_grad", "register_hook", "__hash__", "_version", "__reduce_ex__"}

# Calls whose result has the input's values: the result is the same node.
_ALIAS = {"contiguous", "clone", "to", "double", "float", "type", "type_as", "cpu", "cuda",
          "requires_grad_", "alias"}


# ---------------------------------------------------------------------------
# Calls that PyTorch differentiates: one op per (function, number of inputs)
# ---------------------------------------------------------------------------

_GENERIC = {}


def _generic_forward(*xs, call, j):
    return call.value(j)


def _generic_vjp(k):
    def vjp(g, out, *xs, call, j):
        return call.grad(g, j, k)
    return vjp


def _generic_op(name, n, multi):
    """The nbgraph op for a torch function (registered with ng.define_op on first use)."""
    key = (name, n, multi)
    if key not in _GENERIC:
        label = name.strip("_") or name
        opname = f"torch.{label}"
        if opname in OPS:
            opname = f"torch.{label} ({n} inputs{', several outputs' if multi else ''})"
        while opname in OPS:              # e.g. this module was reloaded
            opname += "'"
        formula = f"{label}({{all}}{{call}})" + ("[{j}]" if multi else "")
        local = (f"computed by PyTorch: torch.autograd.grad of {label} on the recorded inputs",) * n
        _GENERIC[key] = define_op(opname, label, formula, _generic_forward,
                                  tuple(_generic_vjp(k) for k in range(n)), local)
    return _GENERIC[key]
