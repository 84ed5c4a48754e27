"""A tiny scalar reverse-mode autodiff, used to check the engine independently.

PyTorch is optional for bpdebug, so the engine's hand-written backward pass
(bpdebug/engine) needs a reference that is always available and shares none
of its code. This is one, in the style of Karpathy's micrograd: every `Value`
holds a Python float, the gradient accumulated into it, the values it was
computed from, and a closure that pushes its own gradient one step back to
those children with the local derivative of its operation. `backward()`
orders the graph topologically and runs the closures from the output back.

Everything is plain Python floats and `math`; no numpy, no shared formulas
with the engine. Softmax is built from exp, a sum and a division, so its
Jacobian comes from the chain rule rather than from a written-out formula;
sigmoid is built from exp the same way (`sigmoid` below).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

LEAKY_SLOPE = 0.01
"""Slope of leaky relu for x <= 0 (the contract's value)."""


class Value:
    """A scalar node of a computation graph: data, grad, children, local backward."""

    __slots__ = ("_backward", "_children", "data", "grad", "op")

    def __init__(self, data: float, children: tuple[Value, ...] = (), op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._children = children
        self._backward: Callable[[], None] = lambda: None
        self.op = op

    def __repr__(self) -> str:
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    def _unary(self, data: float, local: float, op: str) -> Value:
        """A node out = f(self) with df/dself = `local`."""
        out = Value(data, (self,), op)

        def _backward() -> None:
            self.grad += local * out.grad

        out._backward = _backward
        return out

    def __add__(self, other: Value | float) -> Value:
        other = as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> Value:
        """self ** exponent for a plain number exponent: d/dx x^n = n x^(n-1)."""
        if isinstance(exponent, Value):
            raise TypeError("only number exponents are supported")
        n = float(exponent)
        return self._unary(self.data**n, n * self.data ** (n - 1.0), f"**{n:g}")

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-as_value(other))

    def __truediv__(self, other: Value | float) -> Value:
        return self * as_value(other) ** -1.0

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rsub__(self, other: float) -> Value:
        return as_value(other) - self

    def __rtruediv__(self, other: float) -> Value:
        return as_value(other) / self

    def exp(self) -> Value:
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self) -> Value:
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def relu(self) -> Value:
        positive = self.data > 0.0
        return self._unary(self.data if positive else 0.0, 1.0 if positive else 0.0, "relu")

    def leaky_relu(self) -> Value:
        positive = self.data > 0.0
        slope = 1.0 if positive else LEAKY_SLOPE
        return self._unary(self.data * slope, slope, "leaky_relu")

    def abs(self) -> Value:
        """|x|, with derivative sign(x) (0 at x = 0)."""
        sign = (self.data > 0.0) - (self.data < 0.0)
        return self._unary(abs(self.data), float(sign), "abs")

    def backward(self) -> None:
        """Fill `.grad` of every node this one depends on with d(self)/d(node)."""
        order: list[Value] = []
        seen: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:  # iterative post-order depth-first search
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._children if id(child) not in seen)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def as_value(x: Value | float) -> Value:
    """`x` itself if it is a Value, else a constant leaf."""
    return x if isinstance(x, Value) else Value(x)


def total(values: Iterable[Value | float]) -> Value:
    """The sum of `values` as one graph node chain (0 for none)."""
    out = Value(0.0)
    for v in values:
        out = out + v
    return out


def sigmoid(x: Value) -> Value:
    """1 / (1 + e^-x), composed from exp so its derivative comes from the chain rule."""
    return 1.0 / (1.0 + (-x).exp())


def softmax(zs: Sequence[Value]) -> list[Value]:
    """e^z_j / sum_k e^z_k, without the max shift (fine for the small z of tests)."""
    exps = [z.exp() for z in zs]
    denominator = total(exps)
    return [e / denominator for e in exps]
