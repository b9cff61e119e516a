"""Bridges: read graphs built by other autograd code into nbgraph's own engine.

Each bridge lives in its own module and imports its library only if the user
has it (duck typing where possible); ``import nbgraph`` imports none of them.

* ``nbgraph.bridges.micrograd`` -- micrograd ``Value`` objects (and look-alikes).
* ``nbgraph.bridges.torch`` -- ``ng.torch.trace()``: the torch operations a real model runs.
"""
