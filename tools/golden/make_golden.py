#!/usr/bin/env python3
"""Golden values from PyTorch for TrainLab's tests (run offline; CI never needs PyTorch).

    python3 -m venv ~/venv-torch && ~/venv-torch/bin/pip install torch numpy
    ~/venv-torch/bin/python tools/golden/make_golden.py

Writes Tests/GoldenTests/Fixtures/*.json: for fixed weights and data (stored in the fixture, so
the Swift side starts from exactly the same numbers), the forward output, the loss, every
parameter gradient, and the parameters after ten steps of each optimizer configuration.
Weights use TrainLab's names and PyTorch's layouts (a linear weight is [out, in]).
"""
import json
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "GoldenTests", "Fixtures")


def tensor_list(t):
    # Nine significant digits round-trip any float32 exactly, at half the size of repr().
    return [float("%.9g" % v) for v in t.detach().reshape(-1).tolist()]


class MLP(torch.nn.Module):
    """TrainLab's `mlp`: Linear layers `layers.{i}` with the activation between them."""

    def __init__(self, widths, activation):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(widths[i], widths[i + 1]) for i in range(len(widths) - 1))
        self.activation = activation

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.activation(x)
        return x


class NormedLinear(torch.nn.Linear):
    """A Linear layer that may own a norm, so names come out as `layers.{i}.norm.weight`."""
    pass


def make_norm(kind, width):
    if kind == "layernorm":
        return torch.nn.LayerNorm(width)
    if kind == "rmsnorm":
        return torch.nn.RMSNorm(width)
    if kind == "batchnorm":
        return torch.nn.BatchNorm1d(width)
    raise ValueError(kind)


class NormMLP(torch.nn.Module):
    """TrainLab's `mlp` with `norm`, `placement` and `residual` (README / docs/interface.md semantics)."""

    def __init__(self, widths, activation, norm, placement, residual):
        super().__init__()
        self.layers = torch.nn.ModuleList(NormedLinear(widths[i], widths[i + 1]) for i in range(len(widths) - 1))
        self.activation, self.placement = activation, placement
        hidden = len(widths) - 2
        self.residual = [residual and 0 < i < hidden and widths[i] == widths[i + 1] for i in range(len(widths) - 1)]
        blocks = sum(self.residual)
        deep = placement == "deepnorm" and blocks > 0
        self.alpha = (2 * blocks) ** 0.25 if deep else 1.0
        beta = (8 * blocks) ** -0.25 if deep else 1.0
        # post/deepnorm: a norm after each hidden Linear; pre: before every Linear but the first
        # (the head's included), so layer 0 reads the raw input.
        for i in range(len(widths) - 1):
            layer = self.layers[i]
            if (placement == "pre" and i > 0) or (placement != "pre" and i < hidden):
                layer.norm = make_norm(norm, widths[i] if placement == "pre" else widths[i + 1])
            if self.residual[i] and deep:
                with torch.no_grad():
                    layer.weight.mul_(beta)

    def forward(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            if i == last:
                if self.placement == "pre":
                    x = layer.norm(x)
                return torch.nn.functional.linear(x, layer.weight, layer.bias)
            block = lambda v: self.activation(torch.nn.functional.linear(v, layer.weight, layer.bias))
            if self.residual[i]:
                if self.placement == "pre":
                    x = x + block(layer.norm(x))
                elif self.placement == "post":
                    x = layer.norm(x + block(x))
                else:
                    x = layer.norm(self.alpha * x + block(x))
            elif self.placement == "pre":
                x = block(layer.norm(x) if i > 0 else x)
            else:
                x = self.activation(layer.norm(torch.nn.functional.linear(x, layer.weight, layer.bias)))
        return x


def make_norm_case(name, widths, activation, norm, placement, residual, batch, seed):
    """Forward output, loss and gradients (training mode), plus BatchNorm's running statistics."""
    g = np.random.default_rng(seed)
    x = torch.tensor(g.standard_normal((batch, widths[0])).astype(np.float32))
    y = g.integers(0, widths[-1], size=batch)
    torch.manual_seed(seed)
    model = NormMLP(widths, ACTIVATIONS[activation], norm, placement, residual)
    for m in model.modules():  # non-trivial gains and shifts, so the affine paths are exercised
        if isinstance(m, (torch.nn.LayerNorm, torch.nn.RMSNorm, torch.nn.BatchNorm1d)) and m.weight is not None:
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                if getattr(m, "bias", None) is not None:
                    m.bias.uniform_(-0.5, 0.5)
    initial = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    out = model(x)
    value = torch.nn.functional.cross_entropy(out, torch.tensor(y))
    value.backward()
    after = {k: tensor_list(v.float()) for k, v in model.state_dict().items()
             if k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    return {
        "name": name, "widths": widths, "activation": activation, "norm": norm, "placement": placement,
        "residual": residual, "loss": "cross_entropy", "batch": batch,
        "inputs": tensor_list(x), "targets": [int(v) for v in y],
        "parameters": {k: {"shape": list(v.shape), "values": tensor_list(v)} for k, v in initial.items()},
        "output": tensor_list(out), "loss_value": float(value.detach()),
        "gradients": {k: tensor_list(p.grad) for k, p in model.named_parameters()},
        "buffers_after": after, "trajectories": [],
    }


ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "silu": torch.nn.functional.silu}

OPTIMIZERS = [
    ("sgd", {}, lambda p: torch.optim.SGD(p, lr=0.1)),
    ("sgd", {"momentum": 0.9, "weight_decay": 0.01}, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("sgd", {"momentum": 0.9, "nesterov": True}, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd", {"momentum": 0.9, "dampening": 0.5}, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.5)),
    ("adam", {}, lambda p: torch.optim.Adam(p, lr=0.01)),
    ("adam", {"weight_decay": 0.1, "amsgrad": True}, lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("adam", {"betas": [0.8, 0.99], "eps": 1e-6}, lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("adamw", {}, lambda p: torch.optim.AdamW(p, lr=0.01)),
    ("adamw", {"weight_decay": 0.1, "amsgrad": True}, lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("adagrad", {}, lambda p: torch.optim.Adagrad(p, lr=0.1)),
    ("adagrad", {"lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
     lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("rmsprop", {}, lambda p: torch.optim.RMSprop(p, lr=0.01)),
    ("rmsprop", {"centered": True, "momentum": 0.9, "weight_decay": 0.01},
     lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.9, weight_decay=0.01)),
    ("adadelta", {}, lambda p: torch.optim.Adadelta(p, lr=1.0)),
    ("adadelta", {"rho": 0.5, "weight_decay": 0.1}, lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.5, weight_decay=0.1)),
]


# Closure optimizers: each step re-evaluates the loss as often as its iterations need.
CLOSURE_OPTIMIZERS = [
    ("lbfgs", {}, lambda p: torch.optim.LBFGS(p, lr=1)),
    ("lbfgs", {"line_search_fn": "strong_wolfe", "history_size": 5}, lambda p: torch.optim.LBFGS(p, lr=1, line_search_fn="strong_wolfe", history_size=5)),
]


def make_case(name, widths, activation, loss, batch, seed, steps=10, optimizers=None, closure_optimizers=()):
    g = np.random.default_rng(seed)
    x = g.standard_normal((batch, widths[0])).astype(np.float32)
    if loss == "cross_entropy":
        y = g.integers(0, widths[-1], size=batch)
        target = torch.tensor(y)
        loss_fn = torch.nn.functional.cross_entropy
        targets_json = [int(v) for v in y]
    else:
        y = g.standard_normal((batch, widths[-1])).astype(np.float32)
        target = torch.tensor(y)
        loss_fn = torch.nn.functional.mse_loss
        targets_json = tensor_list(target)

    torch.manual_seed(seed)
    model = MLP(widths, ACTIVATIONS[activation])
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    xt = torch.tensor(x)

    out = model(xt)
    value = loss_fn(out, target)
    value.backward()
    case = {
        "name": name, "widths": widths, "activation": activation, "loss": loss, "batch": batch,
        "inputs": tensor_list(xt), "targets": targets_json,
        "parameters": {k: {"shape": list(v.shape), "values": tensor_list(v)} for k, v in initial.items()},
        "output": tensor_list(out), "loss_value": float(value.detach()),
        "gradients": {k: tensor_list(p.grad) for k, p in model.named_parameters()},
        "trajectories": [],
    }
    for kind, options, make in (optimizers or OPTIMIZERS):
        model.load_state_dict(initial)
        optimizer = make(model.parameters())
        lr = optimizer.param_groups[0]["lr"]
        losses = []
        for _ in range(steps):
            optimizer.zero_grad()
            value = loss_fn(model(xt), target)
            losses.append(float(value.detach()))
            value.backward()
            optimizer.step()
        final = {k: tensor_list(v) for k, v in model.state_dict().items()}
        # The same ten steps in float64: how far float32 itself strays from exact arithmetic on
        # this trajectory (some, like centered RMSprop with momentum, amplify rounding).
        model64 = MLP(widths, ACTIVATIONS[activation]).double()
        model64.load_state_dict({k: v.double() for k, v in initial.items()})
        optimizer64 = make(model64.parameters())
        target64 = target.double() if loss != "cross_entropy" else target
        for _ in range(steps):
            optimizer64.zero_grad()
            loss_fn(model64(xt.double()), target64).backward()
            optimizer64.step()
        case["trajectories"].append({
            "kind": kind, "lr": lr, "options": options, "losses": losses, "final": final,
            "final_float64": {k: tensor_list(v) for k, v in model64.state_dict().items()},
        })
    for kind, options, make in closure_optimizers:
        model.load_state_dict(initial)
        optimizer = make(model.parameters())
        losses = []

        def closure():
            optimizer.zero_grad()
            value = loss_fn(model(xt), target)
            value.backward()
            return value

        for _ in range(3):
            losses.append(float(optimizer.step(closure).detach()))
        case["trajectories"].append({
            "kind": kind, "lr": 1.0, "options": options, "losses": losses, "steps": 3,
            "final": {k: tensor_list(v) for k, v in model.state_dict().items()},
        })
    return case


def make_torch_checkpoint():
    """A PyTorch state_dict saved with safetensors (BatchNorm buffers and its int64 step counter
    included), and the module's eval-mode output on fixed inputs: TrainLab's init_from must
    reproduce it."""
    from safetensors.torch import save_file
    torch.manual_seed(9)
    model = NormMLP([6, 12, 9, 4], torch.relu, "batchnorm", "post", False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    g = np.random.default_rng(9)
    for _ in range(3):  # a few training steps so the running statistics are not their defaults
        x = torch.tensor(g.standard_normal((16, 6)).astype(np.float32))
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), torch.tensor(g.integers(0, 4, size=16))).backward()
        optimizer.step()
    model.eval()
    x = torch.tensor(g.standard_normal((5, 6)).astype(np.float32))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(OUT, "mlp_batchnorm_torch.safetensors"))
    with open(os.path.join(OUT, "mlp_batchnorm_torch.json"), "w") as f:
        json.dump({"inputs": tensor_list(x), "output": tensor_list(model(x))}, f)
    print("wrote the PyTorch checkpoint fixture")


def main():
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])  # case names to rewrite; every fixture when none is given
    if not only:
        make_torch_checkpoint()
    cases = [
        # Widths 5, 7, 3 and batch 6 hit partial GEMM micro-tiles (6 x 16) and vector tails (8).
        make_case("mlp_tanh_cross_entropy", [5, 7, 3], "tanh", "cross_entropy", batch=6, seed=1,
                  closure_optimizers=CLOSURE_OPTIMIZERS),
        make_case("mlp_relu_mse", [4, 9, 9, 2], "relu", "mse", batch=5, seed=2),
        make_case("mlp_silu_cross_entropy_wide", [19, 33, 10], "silu", "cross_entropy", batch=13, seed=3,
                  optimizers=[OPTIMIZERS[1], OPTIMIZERS[5], OPTIMIZERS[8]]),
    ]
    cases += [
        make_norm_case("mlp_layernorm_post", [6, 12, 12, 4], "tanh", "layernorm", "post", False, batch=7, seed=4),
        make_norm_case("mlp_rmsnorm_pre_residual", [6, 12, 12, 12, 4], "relu", "rmsnorm", "pre", True, batch=7, seed=5),
        make_norm_case("mlp_layernorm_pre", [6, 12, 12, 4], "tanh", "layernorm", "pre", False, batch=7, seed=9),
        make_norm_case("mlp_batchnorm_post", [6, 12, 9, 4], "relu", "batchnorm", "post", False, batch=8, seed=6),
        make_norm_case("mlp_layernorm_deepnorm_residual", [6, 10, 10, 10, 3], "silu", "layernorm", "deepnorm", True, batch=5, seed=7),
        make_norm_case("mlp_layernorm_post_residual", [5, 8, 8, 3], "tanh", "layernorm", "post", True, batch=4, seed=8),
    ]
    for case in cases:
        if only and case["name"] not in only:
            continue
        path = os.path.join(OUT, case["name"] + ".json")
        with open(path, "w") as f:
            json.dump(case, f, indent=None, separators=(",", ":"))
        print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
