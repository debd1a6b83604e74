#!/usr/bin/env python3
"""Render the chat-template parity fixture for the OCRText tests.

Usage (from the repository root; transformers >= 5 and jinja2 >= 3.1.6):

    OMP_NUM_THREADS=1 /tmp/torchvenv/bin/python tools/make_chat_template_fixtures.py \
        Tests/OCRTextTests/Fixtures/chat_templates

The templates are read from that folder (see its SOURCES.md for where each
came from); nothing is downloaded. Every conversation below is rendered with
transformers' own `render_jinja_template` (what `apply_chat_template(...,
tokenize=False)` calls: the same sandboxed environment with trim_blocks,
lstrip_blocks, the `tojson` override and `raise_exception`), and the result
is written to `rendered.json`:

    {"transformers": "5.x", "jinja2": "3.x",
     "templates": {"<name>": {"file": ..., "cases": [
        {"name", "messages", "add_generation_prompt", "tools"?, "extra",
         "expected"  (the rendered string)  or  "error" (the exception type)}]}}}

Conversations cover: system / no system, multi-turn, several images and
videos, text and image parts in different orders, `image` / `image_url`
parts, assistant turns as strings and as parts, add_generation_prompt true and
false, add_vision_id, tools and tool calls, tool responses, reasoning content,
non-ASCII text (CJK, Arabic, emoji, combining accents), and text with Jinja-
looking characters, whitespace and newlines.
"""

import json
import sys
from pathlib import Path

import jinja2
import transformers
from transformers.utils.chat_template_utils import render_jinja_template

IMG = {"type": "image"}
IMG_URL = {"type": "image", "image": "file:///data/page.png"}
IMG_URL2 = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
VID = {"type": "video"}


def text(t):
    return {"type": "text", "text": t}


def user(*parts):
    return {"role": "user", "content": list(parts)}


def user_s(s):
    return {"role": "user", "content": s}


def system_s(s):
    return {"role": "system", "content": s}


def assistant_s(s, **kw):
    return {"role": "assistant", "content": s, **kw}


def assistant_p(*parts):
    return {"role": "assistant", "content": list(parts)}


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_invoice",
            "description": "Find an invoice by number.",
            "parameters": {
                "type": "object",
                "properties": {"number": {"type": "string", "description": "Invoice № (e.g. \"F-12\")"},
                               "year": {"type": "integer"}},
                "required": ["number"],
            },
        },
    },
    {"type": "function", "function": {"name": "now", "description": "Current time.", "parameters": {"type": "object", "properties": {}}}},
]

TOOL_CALL = {"type": "function", "function": {"name": "lookup_invoice", "arguments": {"number": "F-12", "year": 2024}}}
TOOL_CALL_STR = {"type": "function", "function": {"name": "now", "arguments": "{}"}}

# Conversations for every template. Each: (name, messages, options).
VISION_CASES = [
    ("one image then text", [user(IMG, text("Free OCR."))], {"add_generation_prompt": True}),
    ("text then image", [user(text("Read the text in this image:"), IMG)], {"add_generation_prompt": True}),
    ("no generation prompt", [user(IMG, text("Free OCR.")), assistant_s("Hello world")], {}),
    ("system string", [system_s("You are an OCR engine."), user(IMG, text("Transcribe."))], {"add_generation_prompt": True}),
    ("system parts", [{"role": "system", "content": [text("You read documents.")]}, user(IMG, text("OCR"))],
     {"add_generation_prompt": True}),
    ("two images", [user(IMG, IMG, text("Compare these pages."))], {"add_generation_prompt": True}),
    ("two images vision id", [user(IMG, IMG, text("Compare these pages."))], {"add_generation_prompt": True, "add_vision_id": True}),
    ("interleaved vision id", [user(text("First:"), IMG, text("\nSecond:"), IMG, text("\nWhich is newer?"))],
     {"add_generation_prompt": True, "add_vision_id": True}),
    ("vision id across turns",
     [user(IMG, text("What is this?")), assistant_s("A receipt."), user(IMG, text("And this?"))],
     {"add_generation_prompt": True, "add_vision_id": True}),
    ("vision id false", [user(IMG, text("x"))], {"add_generation_prompt": True, "add_vision_id": False}),
    ("video", [user(VID, text("Describe the video."))], {"add_generation_prompt": True}),
    ("video and image vision id", [user(VID, IMG, VID, text("Summarize."))], {"add_generation_prompt": True, "add_vision_id": True}),
    ("image with url key", [user(IMG_URL, text("LaTeX:"))], {"add_generation_prompt": True}),
    ("image_url part", [user(IMG_URL2, text("What does it say?"))], {"add_generation_prompt": True}),
    ("multi-turn with images",
     [system_s("Be brief."), user(IMG, text("Title?")), assistant_s("Annual Report 2023"),
      user(text("And the author?")), assistant_s("J. Doe")], {}),
    ("assistant parts", [user(IMG, text("OCR")), assistant_p(text("Line 1\nLine 2"))], {}),
    ("string user content", [user_s("Just text, no image.")], {"add_generation_prompt": True}),
    ("non-ascii", [user(IMG, text("识别图中的文字。Lis le texte: café, naïve — «ok» 😀👍🏽"))],
     {"add_generation_prompt": True}),
    ("arabic and combining", [user(text("اقرأ النص"), IMG, text(" e\u0301 \u212b"))], {"add_generation_prompt": True}),
    ("jinja-looking text", [user(IMG, text("Print {{ x }} and {% raw %} and {# c #} literally"))], {"add_generation_prompt": True}),
    ("whitespace text", [user(text("  leading\n\n\ttabs  "), IMG, text("\n"))], {"add_generation_prompt": True}),
    ("empty text part", [user(text(""), IMG)], {"add_generation_prompt": True}),
    ("latex answer", [user(IMG, text("Convert to LaTeX.")), assistant_s("\\frac{a}{b} + \\sqrt{x^2}")], {}),
    ("json field extraction",
     [user(IMG, text('Extract the fields "total", "date" as JSON.')),
      assistant_s('```json\n{"total": "12.50", "date": "2024-01-31"}\n```')], {}),
    ("three turns generation", [user(IMG, text("a")), assistant_s("b"), user(text("c")), assistant_s("d"), user(text("e"))],
     {"add_generation_prompt": True}),
    ("system later", [user(text("hi")), system_s("Switch to French."), user(IMG, text("Lis."))], {"add_generation_prompt": True}),
    ("only system", [system_s("Only a system prompt.")], {"add_generation_prompt": True}),
    ("tools", [system_s("You may call tools."), user(text("Find invoice F-12"))], {"add_generation_prompt": True, "tools": TOOLS}),
    ("tools no system", [user(text("What time is it?"))], {"add_generation_prompt": True, "tools": TOOLS}),
    ("tool call and response",
     [user(text("Find invoice F-12")), assistant_s("", tool_calls=[TOOL_CALL]),
      {"role": "tool", "content": '{"total": 12.5}'}, assistant_s("The total is 12.50.")], {"tools": TOOLS}),
    ("tool call with content and two calls",
     [user(text("Check")), assistant_s("Let me check.", tool_calls=[TOOL_CALL, TOOL_CALL_STR]),
      {"role": "tool", "content": "ok"}, {"role": "tool", "content": "12:00"}], {"add_generation_prompt": True, "tools": TOOLS}),
    ("tool response with image", [user(text("Show")), assistant_s("", tool_calls=[TOOL_CALL_STR]),
                                  {"role": "tool", "content": [IMG, text("screenshot")]}],
     {"add_generation_prompt": True, "add_vision_id": True}),
    ("reasoning content", [user(text("2+2?")), assistant_s("4", reasoning_content="Add them.")], {}),
    ("long batch of images", [user(*([IMG] * 6), text("Pages 1-6."))], {"add_generation_prompt": True, "add_vision_id": True}),
    ("extra kwargs ignored", [user(IMG, text("x"))], {"add_generation_prompt": True, "enable_thinking": False, "bos_token": "<s>"}),
]

TEXT_CASES = [
    ("single user", [user_s("Hello")], {"add_generation_prompt": True}),
    ("system and user", [system_s("You are an OCR assistant."), user_s("Read: ABC")], {"add_generation_prompt": True}),
    ("no generation prompt", [user_s("Hi"), assistant_s("Hello!")], {}),
    ("thinking in content", [user_s("2+2?"), assistant_s("<think>\nadd\n</think>\n\n4")], {}),
    ("thinking earlier turn", [user_s("a"), assistant_s("<think>x</think>b"), user_s("c")], {"add_generation_prompt": True}),
    ("reasoning_content field", [user_s("a"), assistant_s("b", reasoning_content="why")], {}),
    ("reasoning field alias", [user_s("a"), assistant_s("b", reasoning="because")], {}),
    ("enable_thinking false", [user_s("Free OCR.")], {"add_generation_prompt": True, "enable_thinking": False}),
    ("enable_thinking true", [user_s("Free OCR.")], {"add_generation_prompt": True, "enable_thinking": True}),
    ("tools", [system_s("sys"), user_s("Find F-12")], {"add_generation_prompt": True, "tools": TOOLS}),
    ("tool round trip",
     [user_s("Find F-12"), assistant_s("", tool_calls=[TOOL_CALL]), {"role": "tool", "content": "{\"total\": 12.5}"},
      assistant_s("<think>\nread it\n</think>\n\nTotal 12.50")], {"tools": TOOLS}),
    ("multi step tool", [user_s("q"), assistant_s("calling", tool_calls=[TOOL_CALL_STR]), {"role": "tool", "content": "r1"},
                         {"role": "tool", "content": "r2"}], {"add_generation_prompt": True}),
    ("user looks like tool response", [user_s("q"), assistant_s("a"), user_s("<tool_response>\nx\n</tool_response>")],
     {"add_generation_prompt": True}),
    ("non-ascii", [user_s("日本語のテキスト — ü ß 😀"), assistant_s("ok ✓")], {}),
    ("system later", [user_s("a"), system_s("b"), user_s("c")], {"add_generation_prompt": True}),
    ("list content fails", [user(text("x"))], {"add_generation_prompt": True}),
]

TEMPLATES = {
    "qwen2_5_vl": ("qwen2_5_vl_instruct.chat_template.json", VISION_CASES),
    "qwen3_vl": ("qwen3_vl_instruct.chat_template.json", VISION_CASES),
    "qwen3": ("qwen3.chat_template.jinja", TEXT_CASES),
}


def load(path: Path) -> str:
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))["chat_template"]
    return path.read_text(encoding="utf-8")


def main(folder: str) -> None:
    root = Path(folder)
    out = {"transformers": transformers.__version__, "jinja2": jinja2.__version__, "templates": {}}
    for name, (file, cases) in TEMPLATES.items():
        template = load(root / file)
        rendered = []
        for case_name, messages, options in cases:
            options = dict(options)
            tools = options.pop("tools", None)
            generation = options.pop("add_generation_prompt", False)
            case = {"name": case_name, "messages": messages, "add_generation_prompt": generation, "extra": options}
            if tools is not None:
                case["tools"] = tools
            try:
                text_out, _ = render_jinja_template(
                    conversations=[messages], tools=tools, chat_template=template,
                    add_generation_prompt=generation, **options)
                case["expected"] = text_out[0]
            except Exception as error:  # the Swift side must fail too
                case["error"] = type(error).__name__
            rendered.append(case)
        out["templates"][name] = {"file": file, "cases": rendered}
        ok = sum("expected" in c for c in rendered)
        print(f"{name}: {ok} rendered, {len(rendered) - ok} errors")
    (root / "rendered.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/OCRTextTests/Fixtures/chat_templates")
