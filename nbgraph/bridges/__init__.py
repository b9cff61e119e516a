"""Bridges: other autograd libraries' computations read into nbgraph's graph.

Each bridge imports its library only when used, so ``import nbgraph`` stays light.
"""
