#!/usr/bin/env python3
"""Writes the seed corpora Fuzz/corpus/TARGET from the test fixtures (run once; the output is
committed). Large fixtures are cut down (tensor tables to a few small tensors, tokenizer vocabularies
to a few dozen entries) so that each corpus stays a few KB.

Usage: python3 Fuzz/make_seeds.py            (every target but onnx)
       PYTHON_WITH_ONNX Fuzz/make_seeds.py onnx  (the onnx seeds only; needs the `onnx` package,
                                                  e.g. /work/torchvenv/bin/python)
"""
import json, os, shutil, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fuzz", "corpus")
IMG = os.path.join(ROOT, "Tests", "OCRImagingTests", "Fixtures")
TXT = os.path.join(ROOT, "Tests", "OCRTextTests", "Fixtures")


def put(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def images():
    for target, files in {"image_png": ["pattern.png", "alpha.png", "bomb.png"], "image_jpeg": ["pattern.jpg"],
                          "image_webp": ["pattern.webp"], "image_tiff": ["pattern.tif"],
                          "image_gif": ["pattern.gif"], "image_bmp": ["pattern.bmp"]}.items():
        for name in files:
            put(target, name, open(os.path.join(IMG, name), "rb").read())
    put("image_jpeg", "line.jpg", open(os.path.join(ROOT, "Tests", "OCRDataTests", "Fixtures", "line.jpg"), "rb").read())


def safetensors():
    """The smallest tensors of a fixture checkpoint, rewritten as a file of their own."""
    source = os.path.join(ROOT, "Tests", "OCRModelsTests", "Fixtures", "beit-square", "model.safetensors")
    blob = open(source, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    body = blob[8 + n:]
    tensors = sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                     key=lambda kv: kv[1]["data_offsets"][1] - kv[1]["data_offsets"][0])

    def write(name, chosen, metadata=None):
        table, data = {}, b""
        if metadata is not None:
            table["__metadata__"] = metadata
        for key, info in chosen:
            begin, end = info["data_offsets"]
            table[key] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [len(data), len(data) + end - begin]}
            data += body[begin:end]
        text = json.dumps(table, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        put("safetensors", name, struct.pack("<Q", len(text)) + text + data)

    write("three.safetensors", tensors[:3], {"format": "pt"})
    write("one.safetensors", tensors[3:4])
    write("empty.safetensors", [], {"format": "pt"})


def trim_tokenizer(path, keep=48):
    tok = json.load(open(path))
    model = tok["model"]
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        kept = dict(sorted(vocab.items(), key=lambda kv: kv[1])[:keep])
        for special in (model.get("unk_token"),):
            if special in vocab:
                kept[special] = vocab[special]
        model["vocab"] = kept
        if "merges" in model:
            merges = []
            for m in model["merges"]:
                a, b = m.split(" ", 1) if isinstance(m, str) else m
                if a in kept and b in kept and a + b in kept:
                    merges.append(m)
            model["merges"] = merges[:keep]
    elif isinstance(vocab, list):
        model["vocab"] = vocab[:keep]
        if model.get("unk_id") is not None and model["unk_id"] >= keep:
            model["unk_id"] = 0
    norm = tok.get("normalizer")  # SentencePiece's precompiled charsmap alone is 300 KB: left out
    if norm and norm.get("type") == "Precompiled":
        tok["normalizer"] = None
    elif norm and norm.get("type") == "Sequence":
        norm["normalizers"] = [n for n in norm["normalizers"] if n.get("type") != "Precompiled"]
    tok["added_tokens"] = [t for t in tok.get("added_tokens", []) if t["id"] < keep][:8]
    return json.dumps(tok, separators=(",", ":"), ensure_ascii=False)


def tokenizers():
    for name in sorted(os.listdir(TXT)):
        path = os.path.join(TXT, name, "tokenizer.json")
        if os.path.exists(path):
            put("tokenizer", f"{name}.json", trim_tokenizer(path))


def chat_templates():
    folder = os.path.join(TXT, "chat_templates")
    put("chat_template", "qwen3.jinja", open(os.path.join(folder, "qwen3.chat_template.jinja")).read())
    for name in ("qwen2_5_vl_instruct", "qwen3_vl_instruct"):
        put("chat_template", f"{name}.jinja", json.load(open(os.path.join(folder, f"{name}.chat_template.json")))["chat_template"])
    put("chat_template", "filters.jinja",
        "{% for m in messages %}{{ m['role'] | upper }}: {{ m['content'] | trim }}{% if not loop.last %}\n{% endif %}"
        "{% endfor %}{% set x = [1, 2, 3] | map('string') | join(',') %}{{ x }}{{ '%d' | format(3) }}")


def configs():
    # From Tests/OCRTrainingTests/FormatTests.swift (hand-written and error cases).
    put("toml", "hand.toml", '# a comment\nmethod = "full"   # inline comment\nlearning_rate = 2e-5\n'
        'max_steps = 1_000\nfreeze = ["backbone",\n          "neck"]\n')
    put("toml", "tables.toml", 'seed = 1\n\n[lora]\nr = 8\nalpha = 16.0\ntarget_modules = ["q_proj", "v_proj"]\n\n'
        '[[stages]]\nname = "vision"\nsteps = 10\n\n[[stages]]\nname = "joint"\nsteps = 20\nlr_scale = 0.1\n'
        '"quoted key" = \'literal\'\nescapes = "a\\tb\\u00e9"\nflag = true\nneg = -3\n')
    put("toml", "error.toml", 'learning_rate = \nbatch_size = "eight"\n')


def requests():
    # The request bodies of Tests/OCRServeTests (chat completions).
    put("chat_request", "text.json", json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "Read this."}],
                                                 "max_tokens": 8, "temperature": 0, "stream": False}))
    put("chat_request", "parts.json", json.dumps({"model": "tiny", "messages": [
        {"role": "system", "content": "You read documents."},
        {"role": "user", "content": [{"type": "text", "text": "What does it say?"},
                                      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}],
        "max_completion_tokens": 16, "top_p": 0.9, "seed": 7, "stop": ["\n"], "stream": True,
        "stream_options": {"include_usage": True}, "n": 1}))
    put("chat_request", "bad.json", json.dumps({"model": "tiny", "messages": [{"role": "user", "content": [{"type": "audio"}]}]}))


def data_urls():
    # Images as a request gives them (Tests/OCRServeTests/RequestErrorTests.swift): data: URLs, bare base64.
    import base64
    for name, mime in (("pattern.png", "png"), ("pattern.gif", "gif"), ("pattern.webp", "webp")):
        encoded = base64.b64encode(open(os.path.join(IMG, name), "rb").read()).decode()
        put("data_url", f"{name}.url", f"data:image/{mime};base64,{encoded}")
    wrapped = base64.b64encode(open(os.path.join(IMG, "alpha.png"), "rb").read()).decode()
    put("data_url", "wrapped.b64", "\n".join(wrapped[i:i + 16] for i in range(0, len(wrapped), 16)) + "\r\n")
    put("data_url", "bad.url", "data:image/png;base64,%%%not-base64%%%")
    put("data_url", "raw.url", "data:image/png,rawbytes")


def model_configs():
    # The families' config.json and processor files of the model fixtures, compacted.
    models = os.path.join(ROOT, "Tests", "OCRModelsTests", "Fixtures")
    for folder, files in {"ppocr": ["config.json"], "qwen2_5_vl-tiny": ["config.json", "preprocessor_config.json"],
                          "qwen3_vl-tiny": ["config.json", "preprocessor_config.json"],
                          "deepseek_ocr-tiny": ["config.json"], "deepseek_ocr2-tiny": ["config.json"],
                          "latex-junia-tiny/model": ["config.json", "preprocessor_config.json", "generation_config.json"],
                          "trocr-beit": ["config.json", "preprocessor_config.json"], "trocr-deit": ["config.json"],
                          "trocr-vit": ["config.json"]}.items():
        for name in files:
            path = os.path.join(models, folder, name)
            if os.path.exists(path):
                text = json.dumps(json.load(open(path)), separators=(",", ":"))
                put("model_config", f"{folder.split('/')[0]}.{name}", text)
    # What the target found in DeepSeekOCRConfig before its fix (num_attention_heads 0: a division by
    # zero), kept as a seed; ConfigDecodingTests holds it as a test.
    crasher = json.load(open(os.path.join(models, "deepseek_ocr-tiny", "config.json")))
    crasher["language_config"]["num_attention_heads"] = 0
    put("model_config", "crash-deepseek-heads0.json", json.dumps(crasher, separators=(",", ":")))
    # PP-OCR's fixtures are written by the tests: the fields of PPOCRRecognizerConfig, by hand.
    put("model_config", "ppocr.config.json", json.dumps({
        "model_type": "pp_ocrv5_mobile_rec", "hidden_act": "swish", "hidden_size": 120, "mlp_ratio": 2.0, "depth": 2,
        "head_out_channels": 97, "conv_kernel_size": [1, 3], "qkv_bias": True, "num_attention_heads": 8,
        "pool_kernel_size": [3, 2], "image_height": 48, "image_width": 320, "input_bgr": True, "blank_index": 0,
        "backbone_config": {"scale": 0.95, "stem_channels": 16, "stem_stride": 2, "divisor": 16, "hidden_act": "hardswish",
                            "block_configs": [[[3, 16, 32, 1, False]], [[3, 32, 64, [2, 1], True], [5, 64, 64, 2, False]]]}},
        separators=(",", ":")))


def parquet():
    # The Parquet shards of Tests/OCRDataTests (image struct and binary image columns).
    for name in ("hf_struct.parquet", "hf_binary.parquet"):
        put("parquet", name, open(os.path.join(ROOT, "Tests", "OCRDataTests", "Fixtures", name), "rb").read())


def datasets():
    # The inputs of Tests/OCRDataTests/ImportTests.swift: listing, PaddleOCR TSV, JSONL, JSON array, document form.
    put("dataset", "listing.txt", "# a comment\nimages/1.png hello  world\n\nimages/2.png\tThe tab form: keeps  spaces\n"
        "/tmp/images/3.png absolute path\r\n")
    put("dataset", "labels.tsv", "images/4.png\t第一 行\nimages/5.png\tx = 1\n")
    put("dataset", "a.jsonl", '{"image": "images/6.png", "text": "from jsonl", "page": 3, "lang": "en"}\n'
        '{"file": "images/7.png", "label": "no image field"}\n[1, 2]\n')
    put("dataset", "b.json", '[{"image": "images/7.png", "text": "from array", "lang": "fr"}]')
    put("dataset", "doc.jsonl", '{"image_path": "page.png", "page": "p1", "annotations": [{"bbox": [0, 10, 30, 20], '
        '"text": "left", "category": "title"}, {"bbox": [30, 20, 60, 30], "text": "right", "category": "body"}]}\n')


def onnx_models():
    """Slices of the PP-OCR fixture graphs (tiny-v5 recognizer, PP-OCRv6 recognizer and detector):
    a run of consecutive nodes, every tensor of more than 16 values cut to at most 2 per axis (its
    first values, in the same encoding: raw_data or typed fields), so each seed is a few KB and
    still holds Conv / BatchNorm / MatMul / LayerNorm / affine patterns, shape constants and metadata."""
    import onnx
    from onnx import helper, numpy_helper

    def shrink(t):
        size = 1
        for d in t.dims:
            size *= d
        if size <= 16:
            return t
        dims = [min(d, 2) for d in t.dims]
        values = numpy_helper.to_array(t).reshape(-1)[:int(__import__("math").prod(dims))].reshape(dims)
        small = numpy_helper.from_array(values, t.name)
        if not t.raw_data:  # keep the typed-field encoding the exporter used
            small = helper.make_tensor(t.name, t.data_type, dims, values.reshape(-1).tolist())
        return small

    def cut(source, name, begin, end):
        model = onnx.load(os.path.join(ROOT, "Tests", "OCRModelsTests", "Fixtures", source))
        g = model.graph
        nodes = list(g.node)[begin:end]
        used = {i for n in nodes for i in n.input}
        for n in nodes:
            for a in n.attribute:
                if a.type == onnx.AttributeProto.TENSOR:
                    a.t.CopyFrom(shrink(a.t))
        inits = [shrink(t) for t in g.initializer if t.name in used]
        del g.node[:]
        g.node.extend(nodes)
        del g.initializer[:]
        g.initializer.extend(inits)
        for p in model.metadata_props:
            p.value = p.value[:64]
        put("onnx", name, model.SerializeToString())

    cut("ppocr/tiny-v5.onnx", "v5-stem.onnx", 0, 40)
    cut("ppocr/tiny-v5.onnx", "v5-svtr.onnx", 480, 560)
    cut("ppocr/tiny-v5.onnx", "v5-head.onnx", 600, 661)
    cut("ppocrv6/tiny-rec.onnx", "v6-rec-stem.onnx", 0, 50)
    cut("ppocrv6/tiny-rec.onnx", "v6-rec-tail.onnx", 290, 358)
    cut("ppocrv6/tiny-det.onnx", "v6-det-stem.onnx", 0, 50)


if __name__ == "__main__":
    if sys.argv[1:] == ["onnx"]:
        shutil.rmtree(os.path.join(OUT, "onnx"), ignore_errors=True)
        onnx_models()
        sys.exit(0)
    for target in os.listdir(OUT) if os.path.isdir(OUT) else []:
        if target != "onnx":
            shutil.rmtree(os.path.join(OUT, target))
    images(); safetensors(); tokenizers(); chat_templates(); configs(); requests(); data_urls(); model_configs(); datasets(); parquet()
    for target in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, target))
        print(f"{target}: {len(files)} files, {sum(os.path.getsize(os.path.join(OUT, target, f)) for f in files)} bytes")
