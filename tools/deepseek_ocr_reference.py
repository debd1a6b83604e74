"""DeepSeek-OCR (v1) reference model, built from transformers 5.23's own components, and the v1
image processing, for the fixture maker, the PEFT check and the benchmark. No remote code is run.

transformers has no class for DeepSeek-OCR v1 (it ships as remote code on the Hub). The published
model code this module follows, part by part:

  [V] github deepseek-ai/DeepSeek-OCR @ e4ac34e, DeepSeek-OCR-master/DeepSeek-OCR-vllm/
      deepencoder/sam_vary_sdpa.py   (SAM ViT-B: the "sam_model")
      deepencoder/clip_sdpa.py       (CLIP-L fed with SAM features: the "vision_model")
  [H] the Hub's deepseek-ai/DeepSeek-OCR modeling_deepseekocr.py / modeling_deepseekv2.py
      (read from the mirror github zyfjrx/deepseekocr @ ff1b80f; line numbers are that file's)

  SAM encoder        transformers DeepseekOcr2SamVisionEncoder = [V] sam_vary_sdpa.py
                     ImageEncoderViT (l. 77-183: patch embed, abs pos + get_abs_pos bicubic
                     antialias l. 19-38, Block l. 186-249 with window partition l. 326-372,
                     Attention with decomposed rel pos l. 252-323, 375-444, neck l. 148-164,
                     net_2 / net_3 l. 166-167: downsample_channels = [512, 1024] in v1)
  CLIP on SAM        transformers CLIPEncoderLayer (quick_gelu, layer_norm_eps 1e-5) for
                     [V] clip_sdpa.py NoTPTransformerBlock (l. 286-309), its attention the
                     published fused-qkv NoTPAttention (l. 227-284), pre_layrnorm eps 1e-5
                     (l. 376-386), the embeddings of
                     l. 107-156 (class token + SAM features as patch embeds + get_abs_pos
                     l. 63-99: bicubic antialias interpolation of the 16x16 table), no
                     post-layernorm (VitModel.forward l. 411-424)
  features           [H] DeepseekOCRModel.forward l. 372-505: cat(clip[:, 1:], sam) -> linear
                     projector (MlpProjector "linear"), image_newline after every row of the
                     global grid and of the tiled local grid, order [local, global,
                     view_seperator], masked_scatter into the image-token positions
  decoder            transformers DeepseekOcr2TextModel's layers (MHA: LlamaAttention is what
                     [H] modeling_deepseekv2.py DeepseekV2DecoderLayer picks with use_mla false;
                     RMSNorm; dense MLP for layer < first_k_dense_replace), with the MoE as
                     [H] DeepseekV2MoE (per-expert DeepseekV2MLP modules, MoEGate greedy
                     top-k of the fp32 softmax, no renormalization, routed_scaling_factor,
                     shared experts added; moe_infer dispatch) built from transformers'
                     DeepseekOcr2TextMLP and DeepseekOcr2TextTopkRouter
  processing         [H] DeepseekOCRForCausalLM.infer l. 703-900, dynamic_preprocess
                     l. 155-211, BasicImageTransform (ToTensor + Normalize(0.5, 0.5)),
                     format_messages "plain" (conversation.py), text_encode with bos id 0

Module paths equal the published checkpoint's key names for the language model, projector,
image_newline, view_seperator and CLIP (so PEFT adapters name the same modules); the SAM tower
uses transformers' module names and is mapped from/to the original names by
`to_reference_state` / `to_original_state`.
"""

import math
import re

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import nn
from transformers import CLIPVisionConfig, DeepseekOcr2SamVisionConfig, DeepseekOcr2TextConfig
from transformers.models.clip.modeling_clip import CLIPEncoderLayer
from transformers.models.deepseek_ocr2.modeling_deepseek_ocr2 import (
    DeepseekOcr2SamVisionEncoder,
    DeepseekOcr2TextMLP,
    DeepseekOcr2TextModel,
    DeepseekOcr2TextTopkRouter,
)

# MARK: - Configuration


def v1_config(sam: dict, clip: dict, text: dict, image_token_id: int) -> dict:
    """A config.json in the published layout (model_type deepseek_vl_v2, language_config,
    vision_config.width.{sam_vit_b, clip-l-14-224}, projector_config)."""
    language = dict(text)
    language.update({"architectures": ["DeepseekV2ForCausalLM"], "use_mla": False, "kv_lora_rank": None,
                     "q_lora_rank": None, "qk_nope_head_dim": 0, "qk_rope_head_dim": 0, "v_head_dim": 0,
                     "topk_method": "greedy", "n_group": 1, "topk_group": 1, "lm_head": True, "rm_head": False})
    return {
        "architectures": ["DeepseekOCRForCausalLM"],
        "model_type": "deepseek_vl_v2",
        "candidate_resolutions": [[1024, 1024]],
        "global_view_pos": "head",
        "tile_tag": "2D",
        "language_config": language,
        "projector_config": {"input_dim": 2 * clip["width"], "model_type": "mlp_projector",
                             "n_embed": text["hidden_size"], "projector_type": "linear"},
        "vision_config": {
            "image_size": 1024, "model_name": "deeplip_b_l", "model_type": "vision",
            "width": {"clip-l-14-224": clip, "sam_vit_b": sam},
        },
        "image_token_id": image_token_id,
        **{k: text[k] for k in ("bos_token_id", "eos_token_id", "hidden_size", "vocab_size", "num_hidden_layers")},
    }


# MARK: - Model


class FusedQKVAttention(nn.Module):
    """[V] clip_sdpa.py NoTPAttention (l. 227-284): one `qkv_proj`, SDPA without mask, `out_proj`;
    called as CLIPEncoderLayer calls its attention."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv_proj = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, hidden_states, attention_mask=None, **kwargs):
        b, s, d = hidden_states.shape
        q, k, v = self.qkv_proj(hidden_states).view(b, s, 3, self.heads, d // self.heads).unbind(2)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.out_proj(out.transpose(1, 2).reshape(b, s, d)), None


class ClipOnSam(nn.Module):
    """[V] clip_sdpa.py VitModel with the SAM feature map as its patch embeddings."""

    def __init__(self, width: int, heads: int, layers: int, intermediate: int, image_size=224, patch_size=14):
        super().__init__()
        cfg = CLIPVisionConfig(hidden_size=width, num_attention_heads=heads, num_hidden_layers=layers,
                               intermediate_size=intermediate, image_size=image_size, patch_size=patch_size,
                               hidden_act="quick_gelu", layer_norm_eps=1e-5)
        cfg._attn_implementation = "eager"
        self.grid = image_size // patch_size
        self.embeddings = nn.Module()
        self.embeddings.class_embedding = nn.Parameter(torch.randn(width))
        self.embeddings.patch_embedding = nn.Conv2d(3, width, patch_size, patch_size, bias=False)  # unused
        self.embeddings.position_embedding = nn.Embedding(self.grid * self.grid + 1, width)
        self.pre_layrnorm = nn.LayerNorm(width, eps=1e-5)
        self.transformer = nn.Module()
        self.transformer.layers = nn.ModuleList([CLIPEncoderLayer(cfg) for _ in range(layers)])
        for layer in self.transformer.layers:
            layer.self_attn = FusedQKVAttention(width, heads)

    def positions(self, tokens: int) -> torch.Tensor:
        """get_abs_pos (clip_sdpa.py l. 63-99): the table, its patch part resized bicubically with
        antialias when the grid differs."""
        table = self.embeddings.position_embedding.weight
        target = int(math.sqrt(tokens - 1))
        if target == self.grid:
            return table[None]
        dim = table.shape[-1]
        grid = table[1:].reshape(1, self.grid, self.grid, dim).permute(0, 3, 1, 2).float()
        resized = F.interpolate(grid, size=(target, target), mode="bicubic", antialias=True, align_corners=False)
        resized = resized.permute(0, 2, 3, 1).reshape(target * target, dim)
        return torch.cat([table[:1], resized], 0)[None]

    def forward(self, sam_features: torch.Tensor) -> torch.Tensor:
        b = sam_features.shape[0]
        patches = sam_features.flatten(2).transpose(1, 2)
        x = torch.cat([self.embeddings.class_embedding.expand(b, 1, -1), patches], 1)
        x = x + self.positions(x.shape[1])
        x = self.pre_layrnorm(x)
        for layer in self.transformer.layers:
            x = layer(x, None)
        return x


class ExpertMoE(nn.Module):
    """[H] DeepseekV2MoE with per-expert modules; routing as MoEGate (greedy, fp32 softmax)."""

    def __init__(self, cfg: DeepseekOcr2TextConfig):
        super().__init__()
        self.top_k = cfg.num_experts_per_tok
        self.experts = nn.ModuleList([DeepseekOcr2TextMLP(cfg, intermediate_size=cfg.moe_intermediate_size)
                                      for _ in range(cfg.n_routed_experts)])
        self.gate = DeepseekOcr2TextTopkRouter(cfg)
        self.shared_experts = DeepseekOcr2TextMLP(cfg, intermediate_size=cfg.moe_intermediate_size * cfg.n_shared_experts)

    def forward(self, hidden_states):
        shape = hidden_states.shape
        _, weights, indices = self.gate(hidden_states)
        x = hidden_states.reshape(-1, shape[-1])
        out = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            token, slot = torch.where(indices == e)
            if token.numel() == 0:
                continue
            out.index_add_(0, token, expert(x[token]) * weights[token, slot, None].to(x.dtype))
        return out.reshape(shape) + self.shared_experts(hidden_states)


class V1Core(nn.Module):
    def __init__(self, sam: DeepseekOcr2SamVisionConfig, clip: dict, text: DeepseekOcr2TextConfig):
        super().__init__()
        sam._attn_implementation = "eager"
        text._attn_implementation = "eager"
        self.sam_model = DeepseekOcr2SamVisionEncoder(sam)
        self.vision_model = ClipOnSam(clip["width"], clip["heads"], clip["layers"], clip["intermediate"],
                                      clip.get("image_size", 224), clip.get("patch_size", 14))
        self.projector = nn.Module()
        self.projector.layers = nn.Linear(2 * clip["width"], text.hidden_size)
        self.image_newline = nn.Parameter(torch.randn(text.hidden_size))
        self.view_seperator = nn.Parameter(torch.randn(text.hidden_size))
        lm = DeepseekOcr2TextModel(text)
        self.embed_tokens = lm.embed_tokens
        self.layers = lm.layers
        self.norm = lm.norm
        self.rotary_emb = lm.rotary_emb
        for i, layer in enumerate(self.layers):
            if text.mlp_layer_types[i] == "sparse":
                layer.mlp = ExpertMoE(text)

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """[H] l. 411-416: SAM, CLIP on SAM, cat(clip[:, 1:], sam), projector -> [B, h*w, D]."""
        sam = self.sam_model(pixels).last_hidden_state
        clip = self.vision_model(sam)
        features = torch.cat([clip[:, 1:], sam.flatten(2).permute(0, 2, 1)], -1)
        return self.projector.layers(features)

    def image_features(self, global_view: torch.Tensor, crops: torch.Tensor | None, crop_grid) -> torch.Tensor:
        """[H] l. 403-494: one image's features in token order."""
        g = self.encode(global_view[None])[0]
        side = int(math.isqrt(g.shape[0]))
        d = g.shape[-1]
        newline = self.image_newline[None, None, :]
        g = torch.cat([g.view(side, side, d), newline.expand(side, 1, d)], 1).view(-1, d)
        if crops is None:
            return torch.cat([g, self.view_seperator[None]], 0)
        local = self.encode(crops)
        s2 = int(math.isqrt(local.shape[1]))
        wc, hc = crop_grid
        local = local.view(hc, wc, s2, s2, d).permute(0, 2, 1, 3, 4).reshape(hc * s2, wc * s2, d)
        local = torch.cat([local, newline.expand(hc * s2, 1, d)], 1).view(-1, d)
        return torch.cat([local, g, self.view_seperator[None]], 0)

    def decode(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The decoder over [B, L, D] embeddings, causal with the padding of `attention_mask` hidden;
        positions as transformers' generate derives them from the mask (cumsum - 1)."""
        b, l, _ = embeds.shape
        position_ids = attention_mask.long().cumsum(-1) - 1
        position_ids.masked_fill_(attention_mask == 0, 1)
        causal = torch.tril(torch.ones(l, l, dtype=torch.bool))
        allowed = causal[None] & attention_mask.bool()[:, None, :]
        mask = torch.zeros(b, 1, l, l, dtype=embeds.dtype).masked_fill(~allowed[:, None], torch.finfo(embeds.dtype).min)
        cos_sin = self.rotary_emb(embeds, position_ids)
        h = embeds
        for layer in self.layers:
            h = layer(h, attention_mask=mask, position_ids=position_ids, position_embeddings=cos_sin)
        return self.norm(h)


class V1Reference(nn.Module):
    def __init__(self, sam: DeepseekOcr2SamVisionConfig, clip: dict, text: DeepseekOcr2TextConfig, image_token_id: int):
        super().__init__()
        self.model = V1Core(sam, clip, text)
        self.lm_head = nn.Linear(text.hidden_size, text.vocab_size, bias=False)
        self.image_token_id = image_token_id

    def embed(self, input_ids: torch.Tensor, images: list) -> torch.Tensor:
        """Token embeddings with each row's image features scattered into its image tokens
        ([H] l. 497-501). `images[r]` is a list of (global, crops or None, (wc, hc)) for row r."""
        embeds = self.model.embed_tokens(input_ids)
        for r, row_images in enumerate(images):
            if not row_images:
                continue
            features = torch.cat([self.model.image_features(*one) for one in row_images], 0)
            mask = (input_ids[r] == self.image_token_id)[:, None]
            embeds[r] = embeds[r].masked_scatter(mask, features.to(embeds.dtype))
        return embeds

    def forward(self, input_ids, images, attention_mask=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return self.lm_head(self.model.decode(self.embed(input_ids, images), attention_mask))

    @torch.no_grad()
    def generate_greedy(self, input_ids, images, attention_mask, max_new_tokens: int, eos: int, pad: int):
        """Greedy decoding without a cache (each step re-runs the decoder on all embeddings): the
        same argmax as transformers' cached greedy search. Finished rows are fed `pad`."""
        embeds = self.embed(input_ids, images)
        mask = attention_mask.clone()
        rows = input_ids.shape[0]
        out = [[] for _ in range(rows)]
        done = [False] * rows
        for _ in range(max_new_tokens):
            logits = self.lm_head(self.model.decode(embeds, mask)[:, -1])
            nxt = logits.argmax(-1).tolist()
            step = []
            for r in range(rows):
                token = pad if done[r] else nxt[r]
                if not done[r]:
                    out[r].append(token)
                    done[r] = token == eos
                step.append(token)
            if all(done):
                break
            embeds = torch.cat([embeds, self.model.embed_tokens(torch.tensor(step))[:, None]], 1)
            mask = torch.cat([mask, torch.ones(rows, 1, dtype=mask.dtype)], 1)
        return out


# MARK: - Key names


SAM_RULES = [  # (original, transformers) within sam_model.
    (r"blocks\.(\d+)\.norm1\.", r"layers.\1.layer_norm1."), (r"blocks\.(\d+)\.norm2\.", r"layers.\1.layer_norm2."),
    (r"blocks\.(\d+)\.attn\.", r"layers.\1.attn."), (r"blocks\.(\d+)\.mlp\.", r"layers.\1.mlp."),
    (r"patch_embed\.proj\.", "patch_embed.projection."), (r"neck\.0\.", "neck.conv1."),
    (r"neck\.1\.", "neck.layer_norm1."), (r"neck\.2\.", "neck.conv2."), (r"neck\.3\.", "neck.layer_norm2."),
    (r"net_2\.", "proj.conv1."), (r"net_3\.", "proj.conv2."),
]
SAM_REVERSE = [(r"layers\.(\d+)\.layer_norm1\.", r"blocks.\1.norm1."), (r"layers\.(\d+)\.layer_norm2\.", r"blocks.\1.norm2."),
               (r"layers\.(\d+)\.attn\.", r"blocks.\1.attn."), (r"layers\.(\d+)\.mlp\.", r"blocks.\1.mlp."),
               (r"patch_embed\.projection\.", "patch_embed.proj."), (r"neck\.conv1\.", "neck.0."),
               (r"neck\.layer_norm1\.", "neck.1."), (r"neck\.conv2\.", "neck.2."), (r"neck\.layer_norm2\.", "neck.3."),
               (r"proj\.conv1\.", "net_2."), (r"proj\.conv2\.", "net_3.")]


def _rename(key: str, prefix: str, rules) -> str:
    if not key.startswith(prefix):
        return key
    rest = key[len(prefix):]
    for pattern, target in rules:
        new, n = re.subn("^" + pattern, target, rest)
        if n:
            return prefix + new
    return key


def to_original_state(state: dict) -> dict:
    """Reference state dict -> the published key names."""
    return {_rename(k, "model.sam_model.", SAM_REVERSE): v for k, v in state.items()}


def to_reference_state(state: dict) -> dict:
    """The published key names -> the reference's (the inverse of `to_original_state`)."""
    return {_rename(k, "model.sam_model.", SAM_RULES): v for k, v in state.items()}


def build_v1(config: dict) -> V1Reference:
    """The reference for a config.json in the published layout."""
    lang = config["language_config"]
    width = config["vision_config"]["width"]
    sam, clip = width["sam_vit_b"], width["clip-l-14-224"]
    sam_cfg = DeepseekOcr2SamVisionConfig(
        hidden_size=sam["width"], num_hidden_layers=sam["layers"], num_attention_heads=sam["heads"],
        global_attn_indexes=sam["global_attn_indexes"], downsample_channels=sam["downsample_channels"],
        output_channels=sam.get("output_channels", 256), initializer_range=0.02)
    first_dense = lang.get("first_k_dense_replace", 1)
    text_cfg = DeepseekOcr2TextConfig(
        vocab_size=lang["vocab_size"], hidden_size=lang["hidden_size"], intermediate_size=lang["intermediate_size"],
        num_hidden_layers=lang["num_hidden_layers"], num_attention_heads=lang["num_attention_heads"],
        num_key_value_heads=lang.get("num_key_value_heads"), n_routed_experts=lang["n_routed_experts"],
        num_experts_per_tok=lang["num_experts_per_tok"], n_shared_experts=lang["n_shared_experts"],
        moe_intermediate_size=lang["moe_intermediate_size"], rms_norm_eps=lang.get("rms_norm_eps", 1e-6),
        routed_scaling_factor=lang.get("routed_scaling_factor", 1.0),
        rope_parameters={"rope_type": "default", "rope_theta": lang.get("rope_theta", 10000.0)},
        bos_token_id=lang.get("bos_token_id"), eos_token_id=lang.get("eos_token_id"),
        mlp_layer_types=["dense" if i < first_dense else "sparse" for i in range(lang["num_hidden_layers"])])
    clip_cfg = {"width": clip["width"], "heads": clip["heads"], "layers": clip["layers"],
                "intermediate": clip.get("intermediate_size", 4 * clip["width"]),
                "image_size": clip.get("image_size", 224), "patch_size": clip.get("patch_size", 14)}
    return V1Reference(sam_cfg, clip_cfg, text_cfg, config["image_token_id"])


# MARK: - Processing ([H] infer, dynamic_preprocess, BasicImageTransform)

MODES = {  # name: (base_size, image_size, crop_mode), as the model card lists them
    "tiny": (512, 512, False), "small": (640, 640, False), "base": (1024, 1024, False),
    "large": (1280, 1280, False), "gundam": (1024, 640, True),
}


def to_tensor(image: Image.Image) -> torch.Tensor:
    """torchvision ToTensor + Normalize((0.5,)*3, (0.5,)*3): uint8 / 255 in float32, then
    (x - 0.5) / 0.5."""
    x = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255)
    return x.sub(0.5).div(0.5)


def dynamic_preprocess(image: Image.Image, min_num=2, max_num=9, image_size=640):
    """[H] l. 155-211 (find_closest_aspect_ratio + dynamic_preprocess)."""
    w, h = image.size
    aspect = w / h
    ratios = sorted({(i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1)
                     if min_num <= i * j <= max_num}, key=lambda x: x[0] * x[1])
    best_diff, best = float("inf"), (1, 1)
    for r in ratios:
        diff = abs(aspect - r[0] / r[1])
        if diff < best_diff:
            best_diff, best = diff, r
        elif diff == best_diff and w * h > 0.5 * image_size * image_size * r[0] * r[1]:
            best = r
    tw, th = image_size * best[0], image_size * best[1]
    resized = image.resize((tw, th))
    crops = []
    for i in range(best[0] * best[1]):
        c, r = i % (tw // image_size), i // (tw // image_size)
        crops.append(resized.crop((c * image_size, r * image_size, (c + 1) * image_size, (r + 1) * image_size)))
    return crops, best


def process_image(image: Image.Image, mode: str, max_crops: int = 9):
    """One image as [H] infer prepares it: (global view [3,S,S], crops [N,3,640,640] or None,
    (width_crops, height_crops), image-token count, and the uint8 canvases)."""
    base, size, crop_mode = MODES[mode]
    patch, downsample = 16, 4
    if crop_mode:
        if image.size[0] <= 640 and image.size[1] <= 640:
            grid, crops = (1, 1), None
        else:
            raw, grid = dynamic_preprocess(image, max_num=max_crops)
            crops = torch.stack([to_tensor(c) for c in raw])
        global_view = ImageOps.pad(image, (base, base), color=(127, 127, 127))
        q = math.ceil((size // patch) / downsample)
        qb = math.ceil((base // patch) / downsample)
        count = (qb + 1) * qb + 1
        if grid[0] > 1 or grid[1] > 1:
            count += (q * grid[0] + 1) * (q * grid[1])
        else:
            crops = None
    else:
        if size <= 640:
            image = image.resize((size, size))
        global_view = ImageOps.pad(image, (size, size), color=(127, 127, 127))
        q = math.ceil((size // patch) / downsample)
        count = (q + 1) * q + 1
        grid, crops = (1, 1), None
    return to_tensor(global_view), crops, grid, count


def prompt_ids(tokenizer, text: str, image_counts: list) -> list:
    """format_messages "plain" (the user content stripped, no role tags), split at <image>, each part
    encoded without special tokens, the image tokens in between, bos id 0 first ([H] l. 760-885)."""
    prompt = text.strip()
    parts = prompt.split("<image>")
    assert len(parts) == len(image_counts) + 1
    image_id = tokenizer.convert_tokens_to_ids("<image>")
    ids = []
    for part, count in zip(parts, image_counts):
        ids += tokenizer.encode(part, add_special_tokens=False) + [image_id] * count
    ids += tokenizer.encode(parts[-1], add_special_tokens=False)
    return [0] + ids
