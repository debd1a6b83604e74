#!/usr/bin/env python3
"""Generate the tokenizer parity fixtures for the OCRText tests.

Usage (from the repository root):

    python3 -m venv /tmp/tokvenv
    /tmp/tokvenv/bin/pip install tokenizers==0.23.3 sentencepiece==0.2.3 protobuf
    /tmp/tokvenv/bin/python tools/make_tokenizer_fixtures.py Tests/OCRTextTests/Fixtures

Nothing is downloaded: every tokenizer is trained here, on the fly, on a
deterministic mixed-script corpus built from Unicode ranges and a few
hand-written lines. The output is byte-for-byte reproducible for given
library versions (the committed fixtures came from tokenizers 0.23.3 and
sentencepiece 0.2.3). The output directory receives:

* ``strings.json``: the >= 2,000 test strings (Latin with precomposed and
  combining accents, CJK, Hangul, kana, Persian/Arabic, Cyrillic, Greek,
  Devanagari, Thai, emoji with ZWJ sequences / skin tones / flags, digits,
  LaTeX, whitespace runs with tabs and newlines, special and added tokens
  inside text, the empty string).
* ``<name>/tokenizer.json`` for each tokenizer kind:
  - ``roberta``: byte-level BPE, RobertaProcessing, ``<s> </s> <pad> <unk>
    <mask>`` (``<mask>`` with lstrip) plus normal added tokens with the
    ``single_word`` / ``rstrip`` / ``normalized`` flags. ``roberta/vocab.json``
    and ``roberta/merges.txt`` hold the same model in the GPT-2 file layout.
  - ``qwen2``: byte-level BPE with the Qwen2 Split regex +
    ``ByteLevel(use_regex=False)``, NFC, Qwen's special tokens and a
    TemplateProcessing post-processor.
  - ``xlmr``: a SentencePiece Unigram model (trained by ``sentencepiece``,
    ``nmt_nfkc`` rule, byte fallback) converted like XLM-R: Precompiled
    charsmap + Replace normalizers, Metaspace, TemplateProcessing.
  - ``llama``: a SentencePiece-style BPE with byte fallback (Prepend + Replace
    normalizers, ByteFallback / Fuse / Strip decoders).
  - ``bert``: WordPiece (vocabulary derived from the ``llama`` one) with
    NFD / Lowercase / Strip, WhitespaceSplit + Punctuation + Digits +
    Whitespace pre-tokenizers, BertProcessing.
  - variants checked on the first 400 strings, reusing the trained models with
    other components: ``gpt2`` (ByteLevel add_prefix_space, ByteLevel
    post-processor), ``metaspace_first`` (Metaspace prepend_scheme "first",
    split false), ``misc_unigram`` (Nmt, NFKC, Lowercase, NFD, StripAccents,
    Replace, Strip; Split / Punctuation / Digits / Metaspace; Sequence
    post-processor; normalized added tokens) and ``misc_bpe`` (NFKD, Split
    with Removed / Contiguous / MergedWithNext / inverted patterns,
    Whitespace, ByteLevel).
* ``<name>/decode.json`` (the five kinds above and ``ctc``, the ``bert``
  tokenizer with a CTC decoder): random id sequences (stray byte tokens,
  broken UTF-8, specials) with ``decode`` output, skipping and keeping
  special tokens.
* ``<name>/expected.json``: for each string, ``ids`` (no special tokens),
  ``special`` (with special tokens, only where it is not ``ids`` wrapped in
  the template's fixed prefix/suffix, see ``prefix`` / ``suffix``),
  ``decoded`` (``decode(ids, skip_special_tokens=True)``, absent when it
  equals the input) and ``decoded_keep`` (``skip_special_tokens=False`` of the
  with-special ids, only for strings that contain a special token).
"""

import json
import os
import random
import sys
import tempfile
import unicodedata

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models,
                        normalizers, pre_tokenizers, processors, trainers)

SEED = 20261122
VARIANT_STRINGS = 400
DECODE_SEQUENCES = 200
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


# MARK: - Text generation

def assigned(lo, hi, cats=("L", "M", "N")):
    out = []
    for cp in range(lo, hi + 1):
        ch = chr(cp)
        if unicodedata.category(ch)[0] in cats:
            out.append(ch)
    return out


SCRIPTS = {
    "latin": [chr(c) for c in range(0x61, 0x7B)] * 6 + [chr(c) for c in range(0x41, 0x5B)]
             + assigned(0xC0, 0x17F),
    "cjk": assigned(0x4E00, 0x4FFF) + assigned(0x3041, 0x3096) + assigned(0xAC00, 0xAD00),
    "arabic": assigned(0x0621, 0x064A) + list("پچژگکی") + assigned(0x06F0, 0x06F9),
    "cyrillic": assigned(0x0410, 0x044F) + list("ёЁіїєґ"),
    "greek": assigned(0x0391, 0x03C9),
    "hindi": assigned(0x0905, 0x0939) + assigned(0x093E, 0x094D),
    "thai": assigned(0x0E01, 0x0E2E) + assigned(0x0E31, 0x0E3A) + assigned(0x0E40, 0x0E4E),
}
COMBINING = [chr(c) for c in range(0x0300, 0x0370)]
EMOJI = ["😀", "🎉", "👍", "👍🏽", "❤️", "🇮🇷", "🇫🇷", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑🏿‍💻",
         "1️⃣", "✍️", "🤖", "📄", "👩‍🔬"]
PUNCT = list(".,;:!?()[]{}-_/\\\"'@#$%^&*+=<>|~`«»“”‘’…—–،؛؟。、「」！？")
LATEX = [r"\frac{a}{b}", r"$x^2 + y_1$", r"\begin{equation}", r"\end{equation}",
         r"\sum_{i=0}^{n} i", r"\alpha\beta", r"\mathbb{R}^n", r"\sqrt{2}", r"\int_0^1 f(x)\,dx",
         r"\left( \right)", r"\textbf{Bold}", r"% comment", r"\\", r"a \cdot b"]
SPACES = [" ", " ", " ", " ", "  ", "   ", "\t", "\n", " \n", "\r\n", "\n\n", "\u00a0", "\u3000", " \t "]
SPECIALS = ["<s>", "</s>", "<pad>", "<unk>", "<mask>", "<|im_start|>", "<|im_end|>",
            "<|endoftext|>", "<|vision_start|>", "<|image_pad|>", "OCRtune", "[[x]]", "naïve",
            "[CLS]", "[SEP]", "[MASK]"]
HAND = [
    "",
    " ",
    "Hello world",
    "Hello  world!  ",
    "  leading and trailing  ",
    "It's, we're, they've, I'm, you'll, he'd, IT'S",
    "naïve café résumé — Crème brûlée",
    "Cafe\u0301 nai\u0308ve (combining marks)",
    "東京は日本の首都です。",
    "中华人民共和国 2024年",
    "한국어 텍스트 인식",
    "سلام دنیا! این یک آزمایش است. ۱۲۳۴",
    "مرحبا بالعالم ١٢٣",
    "Привет, мир! Ёлка",
    "Γειά σου Κόσμε, ΟΔΟΣ",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "Emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flag 🏳️‍🌈 🇮🇷",
    "Numbers 1234567890 3.14159 1,000,000 -42",
    r"$E = mc^2$ and \frac{\partial f}{\partial x}",
    "\\begin{align}\n  a &= b \\\\\n  c &= d\n\\end{align}",
    "tabs\tand\tnewlines\nline two\r\nline three",
    "multiple     spaces      here",
    "trailing newline\n",
    "\n\n\n",
    "\t\t",
    "<s>Hello</s>",
    "<|im_start|>system\nYou are OCR.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|>read<|im_end|>",
    "The <mask> is blue",
    "text<mask>text",
    "OCRtune is great; myOCRtune is not a word, OCRtune!",
    "[[x]]   followed by spaces",
    "a naïve token and NAÏVE",
    "<|endoftext|><|endoftext|>",
    "<unk> <pad> <s> </s>",
    "[CLS] bert [SEP] [MASK]",
    "ZWJ\u200dinside and zero\u200bwidth and BOM\ufeff",
    "Control\x01chars\x7f and \u0085 NEL \u2028 LS",
    "Ligatures ﬁ ﬂ ＦＵＬＬＷＩＤＴＨ ①②③ ㎏ ℃",
    "ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ ß ẞ İstanbul",
    "'s 't 're 'S 'T",
    "  's leading quote",
    "a\u0300\u0301\u0302\u0303 stacked",
    "x" * 300,
    "😀" * 20,
    "مرحبا" * 30,
]


def random_word(rng, script):
    alphabet = SCRIPTS[script]
    n = rng.choice([1, 2, 2, 3, 3, 4, 5, 6, 8, 12])
    w = "".join(rng.choice(alphabet) for _ in range(n))
    if script == "latin" and rng.random() < 0.15:
        w += rng.choice(COMBINING)
    return w


def random_token(rng, script):
    r = rng.random()
    if r < 0.70:
        return random_word(rng, script)
    if r < 0.78:
        return str(rng.randint(0, 10 ** rng.randint(1, 8)))
    if r < 0.86:
        return "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 3)))
    if r < 0.91:
        return rng.choice(EMOJI)
    if r < 0.96:
        return rng.choice(LATEX)
    return random_word(rng, rng.choice(list(SCRIPTS)))


def random_line(rng, with_specials):
    script = rng.choice(list(SCRIPTS))
    parts = []
    for _ in range(rng.randint(1, 10)):
        if with_specials and rng.random() < 0.05:
            parts.append(rng.choice(SPECIALS))
        else:
            parts.append(random_token(rng, script))
        parts.append(rng.choice(SPACES) if rng.random() < 0.25 else " ")
    line = "".join(parts)
    r = rng.random()
    if r < 0.1:
        line = line.strip()
    elif r < 0.15:
        line = " " + line
    return line


def corpus(n, seed):
    rng = random.Random(seed)
    lines = [random_line(rng, False) for _ in range(n)]
    return lines + [h for h in HAND if h]


def test_strings(n, seed):
    rng = random.Random(seed)
    return HAND + [random_line(rng, True) for _ in range(n)]


# MARK: - Tokenizers

def restrict_alphabet(lines, n):
    """Drops all but the n most frequent characters (ties by code point).

    Deterministic, unlike the trainers' ``limit_alphabet``, whose ties follow
    hash order; unknown characters then exercise byte fallback / [UNK].
    """
    counts = {}
    for line in lines:
        for ch in line:
            counts[ch] = counts.get(ch, 0) + 1
    keep = set(sorted(counts, key=lambda ch: (-counts[ch], ch))[:n])
    return ["".join(ch for ch in line if ch in keep) for line in lines]




def make_roberta(lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200, min_frequency=2, show_progress=False,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    tok.add_tokens([
        AddedToken("OCRtune", single_word=True, normalized=True),
        AddedToken("[[x]]", rstrip=True, normalized=False),
        AddedToken("naïve", normalized=True),
    ])
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
        trim_offsets=True, add_prefix_space=False)
    return tok


def make_qwen2(lines):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1500, min_frequency=2, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|image_pad|>"]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.post_processor = processors.TemplateProcessing(
        single="<|im_start|> $A <|im_end|>",
        pair="<|im_start|> $A <|im_end|> $B:1 <|im_end|>:1",
        special_tokens=[("<|im_start|>", tok.token_to_id("<|im_start|>")),
                        ("<|im_end|>", tok.token_to_id("<|im_end|>"))])
    return tok


def make_xlmr(lines, workdir):
    text = os.path.join(workdir, "corpus.txt")
    with open(text, "w", encoding="utf-8") as f:
        for line in lines:
            line = line.replace("\n", " ").replace("\r", " ").strip()
            if line:
                f.write(line + "\n")
    prefix = os.path.join(workdir, "sp")
    spm.SentencePieceTrainer.train(
        input=text, model_prefix=prefix, vocab_size=1500, model_type="unigram",
        character_coverage=0.98, byte_fallback=True, normalization_rule_name="nmt_nfkc",
        unk_id=0, bos_id=1, eos_id=2, pad_id=3, num_threads=1, minloglevel=2,
        seed_sentencepiece_size=100000, shuffle_input_sentence=False)
    proto = sentencepiece_model_pb2.ModelProto()
    with open(prefix + ".model", "rb") as f:
        proto.ParseFromString(f.read())
    vocab = [(p.piece, p.score) for p in proto.pieces]
    tok = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(proto.normalizer_spec.precompiled_charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="always")])
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in ["<unk>", "<s>", "</s>", "<pad>"]])
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 1), ("</s>", 2)])
    return tok


def make_llama(lines):
    # Train with Metaspace splitting, then rebuild in the legacy Llama layout.
    base = Tokenizer(models.BPE(unk_token="<unk>"))
    base.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=1300, min_frequency=2, show_progress=False,
                                  special_tokens=["<unk>", "<s>", "</s>"])
    base.train_from_iterator(restrict_alphabet(lines, 600), trainer)
    spec = json.loads(base.to_str())
    old = spec["model"]["vocab"]
    order = sorted(old.items(), key=lambda kv: kv[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for piece, _ in order:
        if piece not in vocab:
            vocab[piece] = len(vocab)
    spec["model"]["vocab"] = vocab
    spec["model"]["byte_fallback"] = True
    spec["model"]["fuse_unk"] = True
    spec["added_tokens"] = []
    spec["pre_tokenizer"] = None
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in ["<unk>", "<s>", "</s>"]])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B:1", special_tokens=[("<s>", 1)])
    return tok


def make_bert(llama, lines):
    # The WordPiece trainer's output depends on hash order, so the vocabulary
    # is derived from the (deterministic) SentencePiece BPE one instead.
    vocab = {}
    for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]:
        vocab[t] = len(vocab)
    pieces = sorted(llama.get_vocab().items(), key=lambda kv: kv[1])
    for piece, _ in pieces:
        if piece in ("<unk>", "<s>", "</s>") or (piece.startswith("<0x") and len(piece) == 6):
            continue
        token = piece[1:] if piece.startswith("▁") else "##" + piece
        if token and token != "##" and token not in vocab:
            vocab[token] = len(vocab)
    folded = [unicodedata.normalize("NFD", line).lower() for line in lines]
    for ch in sorted(set("".join(restrict_alphabet(folded, 400)))):
        for token in (ch, "##" + ch):
            if not ch.isspace() and token not in vocab:
                vocab[token] = len(vocab)
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
        pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.Whitespace()])
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]])
    tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    return tok


# MARK: - Variants (other components on the trained models; checked on a subset)

def variant(base, edit):
    spec = json.loads(base.to_str())
    edit(spec)
    return Tokenizer.from_str(json.dumps(spec))


def make_variants(kinds):
    def gpt2(spec):
        spec["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
        spec["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}

    def metaspace_first(spec):
        spec["normalizer"] = None
        spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}

    def misc_unigram(spec):
        spec["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Nmt"}, {"type": "NFKC"}, {"type": "Lowercase"}, {"type": "NFD"}, {"type": "StripAccents"},
            {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\d{3,}"}, "content": "#"},
            {"type": "Replace", "pattern": {"String": "ab"}, "content": "AB"},
            {"type": "Strip", "strip_left": True, "strip_right": False}]}
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "[,.;:]"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Punctuation", "behavior": "Contiguous"},
            {"type": "Digits", "individual_digits": False},
            {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]}
        spec["post_processor"] = {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            spec["post_processor"]]}
        # Normalized added tokens are matched after normalization ("OCRtune" → "ocrtune").
        base = max(t["id"] for t in spec["added_tokens"]) + 1
        spec["added_tokens"] += [
            {"id": base, "content": "OCRtune", "single_word": True, "lstrip": False, "rstrip": False,
             "normalized": True, "special": False},
            {"id": base + 1, "content": "naïve", "single_word": False, "lstrip": False, "rstrip": True,
             "normalized": True, "special": False}]

    def misc_bpe(spec):
        spec["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "Strip", "strip_left": False, "strip_right": True}]}
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"Regex": "[aeiou]+"}, "behavior": "Contiguous", "invert": True},
            {"type": "Split", "pattern": {"Regex": "\\p{N}"}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": {"String": "x"}, "behavior": "Isolated", "invert": True},
            {"type": "Whitespace"},
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}]}
        spec["post_processor"] = {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [1500], "tokens": ["<|endoftext|>"]}}}

    return {
        "gpt2": variant(kinds["roberta"], gpt2),
        "metaspace_first": variant(kinds["llama"], metaspace_first),
        "misc_unigram": variant(kinds["xlmr"], misc_unigram),
        "misc_bpe": variant(kinds["qwen2"], misc_bpe),
    }


# MARK: - Expectations

def expectations(tok, strings):
    specials = {t.content for t in tok.get_added_tokens_decoder().values() if t.special}
    probe = tok.encode("x", add_special_tokens=True).ids
    bare = tok.encode("x", add_special_tokens=False).ids
    i = next(k for k in range(len(probe)) if probe[k:k + len(bare)] == bare)
    prefix, suffix = probe[:i], probe[i + len(bare):]
    cases = []
    for s in strings:
        ids = tok.encode(s, add_special_tokens=False).ids
        with_special = tok.encode(s, add_special_tokens=True).ids
        case = {"ids": ids}
        if with_special != prefix + ids + suffix:
            case["special"] = with_special
        decoded = tok.decode(ids, skip_special_tokens=True)
        if decoded != s:
            case["decoded"] = decoded
        if any(sp in s for sp in specials):
            case["decoded_keep"] = tok.decode(with_special, skip_special_tokens=False)
        cases.append(case)
    return {"prefix": prefix, "suffix": suffix, "cases": cases}


def decode_cases(tok, seed):
    """Decoding of random id sequences (broken UTF-8, stray byte tokens, specials)."""
    rng = random.Random(seed)
    size = tok.get_vocab_size(with_added_tokens=True)
    vocab = tok.get_vocab(with_added_tokens=True)
    interesting = sorted(i for t, i in vocab.items()
                         if (t.startswith("<0x") and len(t) == 6) or t.startswith("<") or t.startswith("[")
                         or t.startswith("##") or t.startswith("▁") or t.startswith("Ġ"))
    sequences = []
    for _ in range(DECODE_SEQUENCES):
        n = rng.randint(1, 12)
        seq = [rng.choice(interesting) if interesting and rng.random() < 0.5 else rng.randrange(size)
               for _ in range(n)]
        sequences.append(seq)
    return {
        "sequences": sequences,
        "skip": [tok.decode(s, skip_special_tokens=True) for s in sequences],
        "keep": [tok.decode(s, skip_special_tokens=False) for s in sequences],
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/OCRTextTests/Fixtures"
    os.makedirs(out, exist_ok=True)
    lines = corpus(3000, SEED)
    strings = test_strings(2000, SEED + 1)
    with open(os.path.join(out, "strings.json"), "w", encoding="utf-8") as f:
        json.dump(strings, f, ensure_ascii=False, indent=0)
    with tempfile.TemporaryDirectory() as work:
        kinds = {
            "roberta": make_roberta(lines),
            "qwen2": make_qwen2(lines),
            "xlmr": make_xlmr(lines, work),
            "llama": make_llama(lines),
        }
        kinds["bert"] = make_bert(kinds["llama"], lines)
    variants = make_variants(kinds)
    ctc = variant(kinds["bert"], lambda spec: spec.update(
        decoder={"type": "CTC", "pad_token": "[PAD]", "word_delimiter_token": "##a", "cleanup": True}))
    jobs = [(n, t, strings) for n, t in kinds.items()] + [(n, t, strings[:VARIANT_STRINGS]) for n, t in variants.items()]
    for name, tok, subset in jobs:
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"), pretty=False)
        if name == "roberta":
            tok.model.save(d)
        with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
            json.dump(expectations(tok, subset), f, ensure_ascii=False, separators=(",", ":"))
    for seed, (name, tok) in enumerate(list(kinds.items()) + [("ctc", ctc)]):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        if name == "ctc":
            tok.save(os.path.join(d, "tokenizer.json"), pretty=False)
        with open(os.path.join(d, "decode.json"), "w", encoding="utf-8") as f:
            json.dump(decode_cases(tok, SEED + 100 + seed), f, ensure_ascii=False, separators=(",", ":"))
    print("wrote", len(strings), "strings for", ", ".join(n for n, _, _ in jobs), "to", out)


if __name__ == "__main__":
    main()
