#!/usr/bin/python3
"""Small ONNX models that exercise deepfirst's load-time passes and layouts.

PyTorch's exporter folds BatchNormalization into Conv and constant-folds shape
arithmetic in eval mode, which would hide deepfirst's own BN folding and shape
folding from the zoo tests. These models are exported with constant folding
off, so the ONNX files keep standalone BatchNormalization nodes, Shape/Gather/
Concat chains, Identity nodes and the like. Each is written as NAME.onnx with
NAME.input.npy and PyTorch's NAME.output.npy, the layout tests/test_zoo reads.

usage: make_pass_models.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def bn(c):
    b = nn.BatchNorm2d(c)
    with torch.no_grad():
        b.running_mean.uniform_(-0.5, 0.5)
        b.running_var.uniform_(0.5, 2.0)
        b.weight.uniform_(0.5, 1.5)
        b.bias.uniform_(-0.5, 0.5)
    return b


class ConvBnRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(5, 13, 3, padding=1, bias=False)
        self.bn = bn(13)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Residual(nn.Module):
    """Bottleneck-like: the residual Add and the ReLU after it fuse into a conv."""
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 1)
        self.down = nn.Conv2d(8, 8, 1, stride=1)

    def forward(self, x):
        y = self.b(F.relu(self.a(x)))
        return F.relu(y + self.down(x))


class DenseConcatBn(nn.Module):
    """DenseNet-like: BatchNormalization after a concat cannot fold into a conv."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(6, 5, 3, padding=1)
        self.bn = bn(11)
        self.c2 = nn.Conv2d(11, 7, 1)

    def forward(self, x):
        y = torch.cat([x, self.c1(x)], 1)
        return self.c2(F.relu(self.bn(y)))


class SqueezeExcite(nn.Module):
    """MobileNetV3-like: global pool, 1x1 convs, hardsigmoid, broadcast Mul."""
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(16, 16, 5, padding=2, groups=16)
        self.fc1 = nn.Conv2d(16, 4, 1)
        self.fc2 = nn.Conv2d(4, 16, 1)

    def forward(self, x):
        x = F.hardswish(self.dw(x))
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class Shuffle(nn.Module):
    """ShuffleNet-like: channel split, concat and channel shuffle via view/transpose."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        x = torch.cat([a, self.conv(b)], 1)
        n, c, h, w = x.size()
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous()
        return x.view(n, c, h, w)


def channel_shuffle(x, groups):
    n, c, h, w = x.size()
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class ShuffleUnits(nn.Module):
    """ShuffleNetV2 units: slices of a shuffled tensor, which deepfirst folds
    into the shuffle when they take whole groups (the third unit's, of a
    one-input shuffle), and must leave alone when they do not (the second
    unit's 3 channels of a 2-group shuffle of a folded Concat)."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(6, 6, 3, padding=1)
        self.c2 = nn.Conv2d(9, 9, 1)
        self.c3 = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        x = channel_shuffle(torch.cat([x[:, :6], F.relu(self.c1(x[:, 6:]))], 1), 2)
        x = channel_shuffle(torch.cat([x[:, :3], self.c2(x[:, 3:])], 1), 2)
        return channel_shuffle(torch.cat([x[:, :4], self.c3(x[:, 4:])], 1), 3)


class Pools(nn.Module):
    """GoogLeNet-like ceil_mode max pooling and padded average pooling."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 9, 3, stride=2, padding=1)

    def forward(self, x):
        x = F.max_pool2d(self.conv(x), 3, stride=2, ceil_mode=True)
        a = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        b = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True, ceil_mode=True)
        return a.mean(dim=(2, 3)) + b.mean(dim=(2, 3))


class Head(nn.Module):
    """Classifier head: flatten, Gemm, softmax; slices and pads on the way."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, dilation=2, padding=2)
        self.fc = nn.Linear(8 * 5 * 6, 10)

    def forward(self, x):
        x = F.pad(x, (1, 0, 0, 1))
        x = F.leaky_relu(self.conv(x), 0.1)[:, :, 1:6, ::2]
        x = torch.clamp(x, -0.5, 0.8)
        x = self.fc(torch.flatten(x, 1))
        return torch.softmax(torch.tanh(x) + torch.sigmoid(x), dim=1)


class MatMulAttention(nn.Module):
    """Reshape to tokens and a batched MatMul, as small attention blocks do."""
    def __init__(self):
        super().__init__()
        self.q = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        t = self.q(x).reshape(n, c, h * w)
        att = torch.softmax(torch.matmul(t.transpose(1, 2), t) / 4.0, dim=-1)
        return torch.matmul(t, att).reshape(n, c, h, w) - x


class Broadcasts(nn.Module):
    """Broadcasting Add, Sub, Mul and Div, large enough that threads share them."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(20, 20, 1)
        self.bias = nn.Parameter(torch.randn(1, 20, 1, 1))
        self.row = nn.Parameter(torch.randn(1, 1, 1, 19))

    def forward(self, x):
        s = torch.sigmoid(x.mean(dim=(2, 3), keepdim=True))
        y = self.conv(x) * s + self.bias
        y = y - y.mean(dim=3, keepdim=True) * self.row
        return y / (1.5 + torch.abs(x)) - 0.25


MODELS = {
    "conv_bn_relu_exported": (ConvBnRelu, (1, 5, 11, 9)),
    "residual": (Residual, (2, 8, 10, 12)),
    "dense_concat_bn": (DenseConcatBn, (1, 6, 9, 9)),
    "squeeze_excite": (SqueezeExcite, (2, 16, 14, 14)),
    "shuffle": (Shuffle, (1, 6, 7, 5)),
    "shuffle_units": (ShuffleUnits, (2, 12, 9, 7)),
    "pools": (Pools, (1, 3, 33, 29)),
    "head": (Head, (3, 4, 10, 11)),
    "matmul_attention": (MatMulAttention, (2, 8, 4, 5)),
    "broadcasts": (Broadcasts, (2, 20, 23, 19)),
}


def export_conv_bn_built_by_hand(out):
    """Conv -> BatchNormalization -> Relu as separate ONNX nodes (the exporter
    would fold the BN), with the reference computed by the formula."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 11, 9)).astype(np.float32)
    w = rng.standard_normal((13, 5, 3, 3)).astype(np.float32) * 0.3
    b = rng.standard_normal(13).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, 13).astype(np.float32)
    beta = rng.uniform(-0.5, 0.5, 13).astype(np.float32)
    mean = rng.uniform(-0.5, 0.5, 13).astype(np.float32)
    var = rng.uniform(0.5, 2.0, 13).astype(np.float32)
    eps = 1e-3
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w, "w"), (b, "b"), (gamma, "gamma"), (beta, "beta"), (mean, "mean"), (var, "var")]]
    nodes = [
        helper.make_node("Conv", ["input", "w", "b"], ["c"], pads=[1, 0, 1, 2], strides=[1, 2]),
        helper.make_node("Identity", ["c"], ["ci"]),
        helper.make_node("BatchNormalization", ["ci", "gamma", "beta", "mean", "var"], ["n"],
                         epsilon=eps),
        helper.make_node("Relu", ["n"], ["output"]),
    ]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 2)))
    c = F.conv2d(torch.from_numpy(xp), torch.from_numpy(w), torch.from_numpy(b), stride=(1, 2))
    c = c.numpy()
    s = (gamma / np.sqrt(var + eps))[None, :, None, None]
    y = np.maximum((c - mean[None, :, None, None]) * s + beta[None, :, None, None], 0)
    graph = helper.make_graph(nodes, "conv_bn_relu",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, y.shape)],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "conv_bn_relu.onnx"))
    np.save(os.path.join(out, "conv_bn_relu.input.npy"), x)
    np.save(os.path.join(out, "conv_bn_relu.output.npy"), y.astype(np.float32))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "pass_models"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    export_conv_bn_built_by_hand(out)
    for name, (cls, shape) in MODELS.items():
        model = cls().eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = model(x)
        torch.onnx.export(model, x, os.path.join(out, name + ".onnx"), opset_version=13,
                          do_constant_folding=False, input_names=["input"],
                          output_names=["output"])
        np.save(os.path.join(out, name + ".input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(out, name + ".output.npy"), y.numpy().astype(np.float32))
        print(f"{name}: {tuple(shape)} -> {tuple(y.shape)}", file=sys.stderr)


if __name__ == "__main__":
    main()
