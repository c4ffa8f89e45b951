#!/usr/bin/env python3
"""A token data set made by PyTorch for `task.kind = "file"` sequence tasks (run offline; CI
never needs Python):

    /work/venv-torch/bin/pip install torch numpy
    /work/venv-torch/bin/python tools/golden/make_token_fixtures.py

Writes Tests/TrainLabExperimentTests/Fixtures/:
  tokens_train_inputs.npy   int64 (6, 8): token ids in [0, 12) from torch.randint
  tokens_train_targets.npy  int64 (6, 8): the next token, -100 at positions 0..3 (not scored)
  tokens_val_inputs.npy     int32 (3, 8): the same layout, saved as int32
  tokens_val_targets.npy    int32 (3, 8)
  tokens.json               the same ids as lists, fixed logits (6·8, 12) and PyTorch's
                            F.cross_entropy(logits, train targets, ignore_index=-100) of them
"""
import json
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "TrainLabExperimentTests", "Fixtures")
VOCAB, LENGTH, UNSCORED = 12, 8, 4


def split(rows, generator):
    """Sequences of LENGTH + 1 tokens: inputs tokens 0..L-1, targets tokens 1..L (next token),
    the first UNSCORED positions -100."""
    tokens = torch.randint(0, VOCAB, (rows, LENGTH + 1), generator=generator, dtype=torch.int64)
    tokens[0, 0] = VOCAB - 1  # the largest id occurs, so vocab defaults to VOCAB
    inputs, targets = tokens[:, :-1].clone(), tokens[:, 1:].clone()
    targets[:, :UNSCORED] = -100
    return inputs, targets


def main():
    os.makedirs(OUT, exist_ok=True)
    generator = torch.Generator().manual_seed(2024)
    train_inputs, train_targets = split(6, generator)
    val_inputs, val_targets = split(3, generator)
    np.save(os.path.join(OUT, "tokens_train_inputs.npy"), train_inputs.numpy())
    np.save(os.path.join(OUT, "tokens_train_targets.npy"), train_targets.numpy())
    np.save(os.path.join(OUT, "tokens_val_inputs.npy"), val_inputs.numpy().astype(np.int32))
    np.save(os.path.join(OUT, "tokens_val_targets.npy"), val_targets.numpy().astype(np.int32))

    logits = (torch.randn(6 * LENGTH, VOCAB, generator=generator) * 2).float()
    loss = torch.nn.functional.cross_entropy(logits, train_targets.reshape(-1), ignore_index=-100)
    with open(os.path.join(OUT, "tokens.json"), "w") as f:
        json.dump({
            "vocab": VOCAB,
            "train_inputs": train_inputs.reshape(-1).tolist(), "train_targets": train_targets.reshape(-1).tolist(),
            "val_inputs": val_inputs.reshape(-1).tolist(), "val_targets": val_targets.reshape(-1).tolist(),
            "logits": logits.reshape(-1).tolist(), "cross_entropy": loss.item(),
        }, f)
    print("wrote the token fixtures to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
