#!/usr/bin/env python3
"""Makes the committed test fixtures of OCRImaging and OCRData (small: < 100 KB in all).

Needs (in a throw-away venv, not the project): pillow, opencv-python-headless, datasets,
pyarrow, lmdb.

    python3 -m venv /tmp/fixvenv && /tmp/fixvenv/bin/pip install pillow opencv-python-headless datasets pyarrow lmdb
    /tmp/fixvenv/bin/python tools/make_dataset_fixtures.py

Writes
  Tests/OCRImagingTests/Fixtures/
    pattern.{png,bmp,tif,gif,webp,jpg}  24x16 image, pixel (x, y) = (10x, 15y, 128) (GIF: 4 colours)
    alpha.png                            8x8 RGBA, red at alpha 128 (composited over white = 255,127,127)
    bomb.png                             a valid PNG header announcing 20000x20000, no pixel data
    opencv_reference.json                cv2.resize INTER_LINEAR and cv2.cvtColor RGB2GRAY outputs
  Tests/OCRDataTests/Fixtures/
    hf_struct.parquet                    datasets.Dataset.to_parquet: image Image(), text, page
    hf_binary.parquet                    pyarrow: image as plain binary, text, extra
    lmdb/data.mdb                        deep-text-recognition-benchmark layout, 3 samples
    bomb.png                             the same header-only decompression bomb
"""

import io
import json
import os
import struct
import zlib

import cv2
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMG = os.path.join(ROOT, "Tests", "OCRImagingTests", "Fixtures")
DATA = os.path.join(ROOT, "Tests", "OCRDataTests", "Fixtures")


def pattern(w=24, h=16):
    a = np.zeros((h, w, 3), dtype=np.uint8)
    for y in range(h):
        for x in range(w):
            a[y, x] = (10 * x, 15 * y, 128)
    return a


def reference_source(w=23, h=17):
    """The source image of the OpenCV reference, also rebuilt by the Swift test from this formula."""
    a = np.zeros((h, w, 3), dtype=np.uint8)
    for y in range(h):
        for x in range(w):
            a[y, x] = ((x * 37 + y * 11) % 256, (x * x + y) % 256, (x * y * 7) % 256)
    return a


def png_bytes(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def imaging_fixtures():
    os.makedirs(IMG, exist_ok=True)
    img = Image.fromarray(pattern())
    img.save(os.path.join(IMG, "pattern.png"))
    img.save(os.path.join(IMG, "pattern.bmp"))
    img.save(os.path.join(IMG, "pattern.tif"), compression="tiff_lzw")
    # Uncompressed, one row per strip: a cut in its pixel data leaves whole strips unreadable.
    img.save(os.path.join(IMG, "pattern_strips.tif"), tiffinfo={278: 1})
    img.save(os.path.join(IMG, "pattern.webp"), lossless=True)
    img.save(os.path.join(IMG, "pattern.jpg"), quality=95)
    g = np.zeros((16, 24, 3), dtype=np.uint8)
    g[:, :12] = (255, 0, 0)
    g[:, 12:] = (0, 0, 255)
    g[8:, :] = (0, 255, 0)
    Image.fromarray(g).convert("P", palette=Image.ADAPTIVE, colors=4).save(os.path.join(IMG, "pattern.gif"))
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[:] = (255, 0, 0, 128)
    Image.fromarray(rgba, "RGBA").save(os.path.join(IMG, "alpha.png"))
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    for folder in (IMG, DATA):
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, "bomb.png"), "wb").write(bomb)

    src = reference_source()
    cases = []
    for (w, h) in [(10, 7), (46, 34), (48, 48), (11, 17), (23, 40), (7, 3)]:
        out = cv2.resize(src, (w, h), interpolation=cv2.INTER_LINEAR)
        cases.append({"width": w, "height": h, "pixels": out.reshape(-1).tolist()})
    gray = cv2.cvtColor(src, cv2.COLOR_RGB2GRAY)
    ref = {"opencv": cv2.__version__, "source": {"width": 23, "height": 17, "formula": "((37x+11y)%256, (x*x+y)%256, (7xy)%256)"},
           "resize": cases, "gray": gray.reshape(-1).tolist()}
    json.dump(ref, open(os.path.join(IMG, "opencv_reference.json"), "w"), separators=(",", ":"))


def data_fixtures():
    import datasets
    import lmdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(DATA, exist_ok=True)
    texts = ["hello world", "第一行", "x = 42"]
    images = []
    for i in range(3):
        a = np.full((12, 30 + 4 * i, 3), 255, dtype=np.uint8)
        a[4:8, 2 + i:10 + i] = (0, 0, 0)
        images.append(png_bytes(a))
    features = datasets.Features({"image": datasets.Image(), "text": datasets.Value("string"), "page": datasets.Value("int64")})
    ds = datasets.Dataset.from_dict(
        {"image": [{"bytes": b, "path": f"line{i}.png"} for i, b in enumerate(images)], "text": texts, "page": [1, 1, 2]},
        features=features)
    ds.to_parquet(os.path.join(DATA, "hf_struct.parquet"))

    table = pa.table({"image": pa.array(images, type=pa.binary()), "text": texts, "extra": ["a", "b", "c"]})
    pq.write_table(table, os.path.join(DATA, "hf_binary.parquet"))

    path = os.path.join(DATA, "lmdb")
    os.makedirs(path, exist_ok=True)
    for f in ("data.mdb", "lock.mdb"):
        if os.path.exists(os.path.join(path, f)):
            os.remove(os.path.join(path, f))
    env = lmdb.open(path, map_size=1 << 20)
    with env.begin(write=True) as txn:
        for i, (b, t) in enumerate(zip(images, texts), start=1):
            txn.put(b"image-%09d" % i, b)
            txn.put(b"label-%09d" % i, t.encode("utf-8"))
        txn.put(b"num-samples", b"3")
    env.close()
    if os.path.exists(os.path.join(path, "lock.mdb")):
        os.remove(os.path.join(path, "lock.mdb"))


if __name__ == "__main__":
    imaging_fixtures()
    data_fixtures()
    print("fixtures written to", IMG, "and", DATA)
