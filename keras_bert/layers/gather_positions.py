"""Per-example gather of sequence vectors at given positions."""

from __future__ import annotations

from keras import ops


def gather_positions(sequence, positions):
    """Gathers vectors at `positions` per example.

    Args:
        sequence: (batch, seq, hidden).
        positions: (batch, P) int indices into `seq`.

    Returns:
        (batch, P, hidden).
    """
    batch, seq, hidden = ops.shape(sequence)[0], ops.shape(sequence)[1], ops.shape(sequence)[2]
    positions = ops.cast(positions, "int32")
    offsets = ops.arange(batch, dtype="int32")[:, None] * ops.cast(seq, "int32")  # (B, 1)
    flat = ops.reshape(sequence, (-1, hidden))  # (B*T, H)
    return ops.take(flat, positions + offsets, axis=0)  # (B, P, H)
