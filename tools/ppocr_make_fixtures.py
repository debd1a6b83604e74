#!/usr/bin/env python3
"""Makes the committed fixtures of Tests/OCRModelsTests/Fixtures/ppocr (small, < 3 MB in all).

1. tiny-v5.onnx / tiny-v4.onnx: random-weight PP-OCR recognizers (PPLCNetV3 at scale 0.25,
   SVTR hidden 32, 12 classes) written node by node in the two styles paddle2onnx produces
   (v5: bias as Reshape+Add, HardSwish op; v4: bias as a Conv input, hardswish as
   Add/Clip/Mul/Div, a Mul by 1.0 inside swish), with tiny-dict.txt and, in tiny-expected.safetensors,
   a fixed input and onnxruntime's probabilities and logits for each. Tests import them offline.
2. lines-v5.safetensors / lines-v4.safetensors (+ lines.json): a few rendered lines as PaddleOCR
   preprocesses them (the resized BGR uint8 image and the batch width), with onnxruntime's
   top-5 classes per step (indices, probabilities, logits) and the greedy strings, for the test
   that runs the real pip-installed weights.

Usage: tools/ppocr_make_fixtures.py   (tools venv: onnx, onnxruntime, numpy, pillow, opencv-python-headless)
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppocr_common as pc  # noqa: E402

OUT = os.path.join(pc.ROOT, "Tests", "OCRModelsTests", "Fixtures", "ppocr")
TABLE = [  # PaddleOCR NET_CONFIG_rec: kernel, in, out, stride (h, w), SE
    [(3, 16, 32, (1, 1), False)],
    [(3, 32, 64, (1, 1), False), (3, 64, 64, (1, 1), False)],
    [(3, 64, 128, (2, 1), False), (3, 128, 128, (1, 1), False)],
    [(3, 128, 256, (1, 2), False)] + [(5, 256, 256, (1, 1), False)] * 4,
    [(5, 256, 512, (2, 1), True), (5, 512, 512, (1, 1), True), (5, 512, 512, (2, 1), False), (5, 512, 512, (1, 1), False)],
]


def make_divisible(v, divisor=8, min_value=None):
    min_value = min_value or divisor
    new = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


# MARK: - Tiny graph

class Graph:
    def __init__(self, style, rng):
        self.style, self.rng, self.nodes, self.n = style, rng, [], 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}.{self.n}"

    def const(self, array):
        from onnx import helper, numpy_helper

        out = self.name("const")
        self.nodes.append(helper.make_node("Constant", [], [out], value=numpy_helper.from_array(np.asarray(array), out)))
        return out

    def op(self, op_type, inputs, **attrs):
        from onnx import helper

        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=self.name(op_type), **attrs))
        return out

    def rand(self, *shape, scale=1.0):
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def conv(self, x, cin, cout, k, stride=(1, 1), group=1, bias=True):
        kh, kw = k
        w = self.rand(cout, cin // group, kh, kw, scale=1 / math.sqrt(cin // group * kh * kw))
        inputs = [x, self.const(w)]
        b = self.rand(cout, scale=0.1) if bias else None
        if b is not None and self.style == "v4":
            inputs.append(self.const(b))
        y = self.op("Conv", inputs, kernel_shape=[kh, kw], strides=list(stride), pads=[kh // 2, kw // 2, kh // 2, kw // 2],
                    group=group, dilations=[1, 1])
        if b is not None and self.style == "v5":
            y = self.op("Add", [y, self.op("Reshape", [self.const(b), self.const(np.array([1, -1, 1, 1], np.int64))])])
        return y

    def batch_norm(self, x, c):
        return self.op("BatchNormalization", [x, self.const(1 + self.rand(c, scale=0.1)), self.const(self.rand(c, scale=0.1)),
                                              self.const(self.rand(c, scale=0.1)), self.const(self.rng.uniform(0.5, 1.5, c).astype(np.float32))],
                       epsilon=1e-5)

    def affine(self, x):
        s = np.array([1 + 0.2 * self.rng.standard_normal()], np.float32)
        b = np.array([0.1 * self.rng.standard_normal()], np.float32)
        return self.op("Add", [self.op("Mul", [self.const(s), x]), self.const(b)])

    def hardswish(self, x):
        if self.style == "v5":
            return self.op("HardSwish", [x])
        clip = self.op("Clip", [self.op("Add", [x, self.const(np.array([3.0], np.float32))]),
                                self.const(np.array(0.0, np.float32)), self.const(np.array(6.0, np.float32))])
        return self.op("Div", [self.op("Mul", [x, clip]), self.const(np.array([6.0], np.float32))])

    def swish(self, x):
        s = x if self.style == "v5" else self.op("Mul", [x, self.const(np.array([1.0], np.float32))])
        return self.op("Mul", [x, self.op("Sigmoid", [s])])

    def rep(self, x, cin, cout, k, stride, group):
        return self.affine(self.hardswish(self.affine(self.conv(x, cin, cout, (k, k), stride, group))))

    def layer_norm(self, x, c, eps):
        d = self.op("Sub", [x, self.op("ReduceMean", [x], axes=[-1])])
        var = self.op("ReduceMean", [self.op("Pow", [d, self.const(np.array(2.0, np.float32))])], axes=[-1])
        n = self.op("Div", [d, self.op("Sqrt", [self.op("Add", [var, self.const(np.array(eps, np.float32))])])])
        return self.op("Add", [self.op("Mul", [n, self.const(1 + self.rand(c, scale=0.1))]), self.const(self.rand(c, scale=0.1))])

    def linear(self, x, cin, cout):
        w = self.rand(cin, cout, scale=1 / math.sqrt(cin))
        return self.op("Add", [self.op("MatMul", [x, self.const(w)]), self.const(self.rand(cout, scale=0.1))])


def tiny_graph(style, seed, scale=0.25, divisor=8, hidden=32, heads=4, classes=12):
    from onnx import TensorProto, helper

    g = Graph(style, np.random.default_rng(seed))
    sc = lambda c: make_divisible(c * scale, divisor)  # noqa: E731
    x = g.batch_norm(g.conv("x", 3, sc(16), (3, 3), (2, 2), bias=False), sc(16))
    for stage in TABLE:
        for k, cin, cout, stride, se in stage:
            cin, cout = sc(cin), sc(cout)
            x = g.rep(x, cin, cin, k, stride, cin)
            if se:
                s = g.conv(g.op("GlobalAveragePool", [x]), cin, cin // 4, (1, 1))
                s = g.op("HardSigmoid", [g.conv(g.op("Relu", [s]), cin // 4, cin, (1, 1))], alpha=1 / 6, beta=0.5)
                x = g.op("Mul", [x, s])
            x = g.rep(x, cin, cout, 1, (1, 1), 1)
    c_in = sc(512)
    pooled = g.op("AveragePool", [x], kernel_shape=[3, 2], strides=[3, 2], pads=[0, 0, 0, 0])

    def conv_bn(z, cin, cout, k):
        return g.swish(g.batch_norm(g.conv(z, cin, cout, k, bias=False), cout))

    z = conv_bn(conv_bn(pooled, c_in, c_in // 8, (1, 3)), c_in // 8, hidden, (1, 1))
    t = g.op("Transpose", [g.op("Reshape", [z, g.const(np.array([0, hidden, -1], np.int64))])], perm=[0, 2, 1])
    hd = hidden // heads
    for _ in range(2):
        h = g.layer_norm(t, hidden, 1e-5)
        qkv = g.op("Transpose", [g.op("Reshape", [g.linear(h, hidden, 3 * hidden), g.const(np.array([0, -1, 3, heads, hd], np.int64))])],
                   perm=[2, 0, 3, 1, 4])
        q, k, v = (g.op("Gather", [qkv, g.const(np.array(i, np.int64))], axis=0) for i in range(3))
        q = g.op("Mul", [q, g.const(np.array([hd ** -0.5], np.float32))])
        a = g.op("Softmax", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])], axis=-1)
        o = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [a, v])], perm=[0, 2, 1, 3]), g.const(np.array([0, -1, hidden], np.int64))])
        t = g.op("Add", [t, g.linear(o, hidden, hidden)])
        h = g.linear(g.swish(g.linear(g.layer_norm(t, hidden, 1e-5), hidden, 2 * hidden)), 2 * hidden, hidden)
        t = g.op("Add", [t, h])
    t = g.layer_norm(t, hidden, 1e-6)
    z = g.op("Reshape", [g.op("Transpose", [t], perm=[0, 2, 1]), g.const(np.array([0, hidden, 1, -1], np.int64))])
    z = conv_bn(z, hidden, c_in, (1, 1))
    z = conv_bn(g.op("Concat", [pooled, z], axis=1), 2 * c_in, c_in // 8, (1, 3))
    z = conv_bn(z, c_in // 8, hidden, (1, 1))
    z = g.op("Transpose", [g.op("Squeeze", [z, g.const(np.array([2], np.int64))])], perm=[0, 2, 1])
    logits = g.linear(z, hidden, classes)
    out = g.op("Softmax", [logits], axis=2)
    graph = helper.make_graph(
        g.nodes, f"tiny_ppocr_{style}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 48, "W"])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", "T", classes]),
         helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["N", "T", classes])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model


# MARK: - Main

def main():
    import onnx
    import onnxruntime as ort

    os.makedirs(OUT, exist_ok=True)
    # 1. Tiny random graphs.
    chars = list("0123456789")
    with open(os.path.join(OUT, "tiny-dict.txt"), "w") as f:
        f.write("\n".join(chars) + "\n")
    x = np.random.default_rng(7).uniform(-1, 1, (2, 48, 64, 3)).astype(np.float32)  # NHWC
    expected = {"pixels": x}
    for style, seed in (("v5", 5), ("v4", 4)):
        model = tiny_graph(style, seed)
        onnx.checker.check_model(model)
        path = os.path.join(OUT, f"tiny-{style}.onnx")
        onnx.save(model, path)
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        probs, logits = s.run(None, {"x": x.transpose(0, 3, 1, 2)})
        expected[f"probabilities.{style}"] = probs
        expected[f"logits.{style}"] = logits
        print(f"tiny-{style}.onnx: {os.path.getsize(path)} bytes, output {probs.shape}")
    pc.write_safetensors(os.path.join(OUT, "tiny-expected.safetensors"), expected)

    # 2. Real-model lines.
    texts, images = pc.make_lines(4, 4242, pc.common_cjk_characters())
    summary = {"texts": texts}
    for version in ("v5", "v4"):
        labels = pc.class_labels(version)
        session = pc.ort_session(version)
        tensors, strings = {}, []
        for i, rgb in enumerate(images):
            import cv2

            x = pc.preprocess(rgb)
            probs, logits = pc.ort_run(session, x)
            h, w = rgb.shape[:2]
            width = x.shape[2]
            rw = min(width, int(math.ceil(48 * (w * 1.0 / h))))
            resized = cv2.resize(np.ascontiguousarray(rgb[:, :, ::-1]), (rw, 48))  # BGR uint8
            top = np.argsort(-probs[0], axis=1)[:, :5].astype(np.int32)
            tensors[f"resized_bgr.{i}"] = resized
            tensors[f"width.{i}"] = np.array([width], np.int32)
            tensors[f"top_classes.{i}"] = top
            tensors[f"top_probabilities.{i}"] = np.take_along_axis(probs[0], top, axis=1)
            tensors[f"top_logits.{i}"] = np.take_along_axis(logits[0], top, axis=1)
            strings.append(pc.greedy_decode(probs[0], labels))
        pc.write_safetensors(os.path.join(OUT, f"lines-{version}.safetensors"), tensors)
        summary[version] = strings
        print(version, strings)
    with open(os.path.join(OUT, "lines.json"), "w") as f:
        json.dump(summary, f, ensure_ascii=False, indent=1)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"fixtures: {total / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    main()
