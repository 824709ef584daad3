"""The losses as functions (K.categorical_crossentropy, K.binary_crossentropy), composed of the
elementwise ops and reductions.
"""

from __future__ import annotations

from .elementwise import abs, add, clip, divide, exp, log, multiply, negative, relu, subtract
from .reductions import max, sum


def _logsumexp(x, axis):
    top = max(x, axis, keepdims=True)
    return add(log(sum(exp(subtract(x, top)), axis, keepdims=True)), top)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per sample: -sum(target * log(p)) along `axis`; p = output normalised and clipped to
    [epsilon, 1 - epsilon], or softmax(output) with from_logits."""
    from ..backend import epsilon

    if from_logits:
        logp = subtract(output, _logsumexp(output, axis))
    else:
        p = divide(output, sum(output, axis, keepdims=True))
        logp = log(clip(p, epsilon(), 1.0 - epsilon()))
    return negative(sum(multiply(target, logp), axis))


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise: -(t log p + (1 - t) log(1 - p)) with p clipped to [epsilon, 1 - epsilon];
    with from_logits, the stable relu(o) - o t + log(1 + exp(-|o|))."""
    from ..backend import epsilon

    if from_logits:
        return add(subtract(relu(output), multiply(output, target)),
                       log(add(exp(negative(abs(output))), 1.0)))
    p = clip(output, epsilon(), 1.0 - epsilon())
    return negative(add(multiply(target, log(p)),
                                multiply(subtract(1.0, target),
                                             log(subtract(1.0, p)))))
