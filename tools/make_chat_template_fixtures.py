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
         "expected"  (the rendered string)  or  "error" (the exception type),
         and for the vision templates "expected_processor" / "error_processor":
         the same through ProcessorMixin.apply_chat_template}]}},
     "special_tokens": the tokenizer's special_tokens_map the processor passes,
     "features": [{"name", "template", "variables", "expected" or "error"}]}

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
from transformers import PreTrainedTokenizerFast
from transformers.processing_utils import ProcessorMixin
from transformers.utils.chat_template_utils import render_jinja_template


class TemplateOnlyProcessor(ProcessorMixin):
    """Runs ProcessorMixin.apply_chat_template (what Qwen2.5-VL / Qwen3-VL processors
    call) without image or video processors, which tokenize=False never uses."""

    def __init__(self, tokenizer, chat_template):
        self.tokenizer = tokenizer
        self.chat_template = chat_template

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
    ("null fields", [user(IMG, text("Find it")), {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
                     {"role": "tool", "content": "found", "name": None}], {"add_generation_prompt": True}),
    ("openai image_url with vision id", [user(IMG_URL2, text("a"), IMG_URL2)], {"add_generation_prompt": True, "add_vision_id": True}),
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

# Small templates exercising one engine feature each, rendered by the same
# environment transformers compiles chat templates with (`features` in the output).
V = {"xs": [3, 1, 2], "d": {"a": 1, "b": [1, 2]}, "x": 1, "s": "  Hello World  ", "e": [],
     "msgs": [{"role": "user", "content": "hi", "n": 2}, {"role": "assistant", "content": "yo"},
              {"role": "user", "content": [{"type": "text", "text": "t"}], "n": 5}]}
FEATURE_CASES = [
    ("loop variables", "{% for v in xs %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
     "{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}"),
    ("loop previtem nextitem cycle", "{% for v in xs %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.cycle('a', 'b') }};{% endfor %}"),
    ("for else", "{% for v in e %}a{% else %}empty{% endfor %}{% for v in xs %}{{ v }}{% else %}no{% endfor %}"),
    ("for with filter", "{% for v in xs if v > 1 %}{{ v }}/{{ loop.length }} {% endfor %}"),
    ("for unpacking", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in d|items %}{{ k }}{% endfor %}"),
    ("for over dict and string", "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'héy' %}{{ c }}.{% endfor %}"),
    ("nested loops", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }};{% endfor %}"),
    ("if elif else", "{% for v in [0, 1, 2, 3] %}{% if v == 0 %}zero{% elif v == 1 %}one{% elif v is odd %}odd{% else %}other{% endif %} {% endfor %}"),
    ("set scope", "{% set a = 1 %}{% for v in xs %}{% set a = v %}{{ a }}{% endfor %}{{ a }}{% if true %}{% set a = 9 %}{% endif %}{{ a }}"),
    ("namespace", "{% set ns = namespace(n=0, seen='') %}{% for v in xs %}{% set ns.n = ns.n + v %}{% set ns.seen = ns.seen ~ v %}{% endfor %}{{ ns.n }} {{ ns.seen }}"),
    ("set tuple and block", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set blk %}in {{ x }}{% endset %}[{{ blk }}]"),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ not 1 == 1 }} {{ 'a' in 'cat' }} {{ 3 not in xs }} {{ 1 == 1.0 }} "
     "{{ 'a' < 'b' }} {{ [1, 2] == [1, 2] }} {{ 'b' in d }} {{ 2 <= 2 }} {{ 1 != 1 }}"),
    ("and or not values", "{{ 1 or 0 }} {{ 0 and 1 }} {{ none or 'x' }} {{ '' or [] }} {{ not none }} {{ xs and 'y' }} {{ not (x and e) }}"),
    ("tests", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ none is none }} {{ 's' is string }} {{ d is mapping }} "
     "{{ xs is mapping }} {{ xs is iterable }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }} "
     "{{ 3 is odd }} {{ 4 is even }} {{ 1 is not string }} {{ false is false }} {{ 0 is false }} {{ true is true }} "
     "{{ 6 is divisibleby 3 }} {{ 6 is divisibleby(4) }} {{ x is eq 1 }} {{ x is equalto(2) }} {{ 'abc' is lower }} "
     "{{ xs is sequence }} {{ 'a' is in 'cat' }} {{ d.zz is defined }} {{ d.a is not none and x is number }}"),
    ("conditional expression", "{{ 'y' if x else 'n' }} [{{ 'y' if false }}] {{ 'a' if e else 'b' if x else 'c' }}"),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 1.5 + 1 }} "
     "{{ 'ab' * 3 }} {{ [1] + [2] }} {{ 0.1 + 0.2 }} {{ -x }} {{ 10 - 2 * 3 }} {{ (10 - 2) * 3 }} {{ -3|abs }} {{ 2.5 * 2 }}"),
    ("concatenation", "{{ 1 ~ 'a' ~ none ~ true ~ y ~ [1] }} {{ 'a' + 'b' }}"),
    ("printing values", "{{ none }} {{ true }} {{ [1, 'a', none, true, 1.0, \"it's\"] }} {{ {'a': 'b', 'c': [1]} }} {{ d }} "
     "{{ 1e3 }} {{ 3.14159 }} {{ 1e-7 }} {{ 10 / 4 }} {{ 1e20 }} {{ 123456789.0 }} {{ y }}|"),
    ("float printing", "{{ [0.1, 1 / 3, 2 / 3, 0.00001, 123.456, 1e15, 1e16, 1.5e300, -0.0, 5e-324, 2 ** 0.5, 100.0 / 7] }} "
     "{{ [1 / 3, 1e16, 0.00001]|tojson }} {{ 1e22 }} {{ 12345678901234567.0 }}"),
    ("string literals", "{{ 'a\\nb\\t\\'q\\'' }} {{ \"d\\\"q\" }} {{ '\\u00e9\\x41' }} {{ 'x' 'y' }}"),
    ("subscripts and slices", "{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[::-1] }} {{ xs[:-1] }} {{ xs[0:3:2] }} {{ 'hello'[1:3] }} "
     "{{ 'héllo'[::-1] }} {{ d['a'] }} {{ d.b[1] }} [{{ xs[10] }}] {{ msgs[2]['content'][0].text }} {{ xs[5:] }} {{ 'abc'[-2] }}"),
    ("filters basic", "{{ xs|length }} {{ s|trim }}|{{ s|length }} {{ 'Ab'|upper }} {{ 'Ab'|lower }} {{ 5|string ~ 'x' }} "
     "{{ xs|first }} {{ xs|last }} {{ xs|reverse|list }} {{ 'abc'|reverse }} {{ [1, 2, 1]|unique|list }} {{ xs|sort }} "
     "{{ xs|sort(reverse=true) }} {{ xs|join(', ') }} {{ '3'|int + 1 }} {{ '2.5'|float }} {{ 'hello world'|capitalize }} "
     "{{ 'hello world'|title }} {{ 'aXbX'|replace('X', '-') }} {{ d|length }} {{ y|length }}"),
    ("undefined through filters", "[{{ y|upper }}|{{ y|trim }}|{{ y|lower }}|{{ y|string }}|{{ y|title }}]"),
    ("loop scope per iteration", "{% set a = 1 %}{% for v in xs %}{{ a }}{% set a = v %}{{ a }};{% endfor %}{{ a }} "
     "{% for v in xs %}{% if loop.first %}{% set b = v %}{% endif %}{{ b }};{% endfor %}"),
    ("macro sees later top-level set", "{% macro m() %}{{ a }}{% endmacro %}{% set a = 5 %}{{ m() }}"),
    ("more filters", "{{ xs|max }} {{ xs|min }} {{ xs|sum }} {{ msgs|selectattr('n', 'defined')|sum(attribute='n') }} "
     "{% for k, v in d|dictsort %}{{ k }}={{ v }};{% endfor %} {% for k, v in {'b': 1, 'A': 2}|dictsort %}{{ k }}{% endfor %} "
     "{% for k, v in {'b': 1, 'a': 2}|dictsort(by='value', reverse=true) %}{{ k }}{% endfor %} "
     "{{ \"<a href='x'>&\\\"</a>\"|e }} {{ 'one two, three_3 four'|wordcount }} [{{ d|attr('a') }}] {{ x is lessthan 2 }}"),
    ("default filter", "{{ y|default('dflt') }} {{ x|default('dflt') }} {{ ''|default('e') }} {{ ''|default('e', true) }} {{ none|d('n') }}"),
    ("tojson", "{{ d|tojson }} {{ 'x\"y\\\\z\\n</s> é ✓ \\u2028 \\x01'|tojson }} {{ [1.5, true, none, 2.0]|tojson }} "
     "{{ {'k': {'n': [1, {'m': 'v'}]}}|tojson(indent=2) }} {{ msgs[0]|tojson }} {{ {}|tojson }} {{ []|tojson }}"),
    ("selectattr map", "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='n')|list }} "
     "{{ msgs|rejectattr('role', 'eq', 'user')|map(attribute='content')|join }} {{ xs|select('odd')|list }} "
     "{{ [0, 1, '', 'a']|select|list }} {{ msgs|map(attribute='n', default=0)|list }} {{ ['a', 'b']|map('upper')|list }}"),
    ("indent filter", "{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}"),
    ("string methods", "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxaxx'.strip('x') }} {{ 'a,b,,c'.split(',') }} "
     "{{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'Hi'.upper() }}{{ 'Hi'.lower() }} "
     "{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'aaa'.replace('a', 'b', 2) }} {{ '-'.join(['a', 'b']) }} "
     "{{ 'banana'.find('an') }} {{ 'banana'.count('an') }} {{ 'hello there'.title() }} {{ '</think>x'.split('</think>')[-1] }} "
     "{{ '\\n\\nx\\n'.lstrip('\\n') }}|{{ 'ab'.capitalize() }}"),
    ("dict methods", "{{ d.keys()|list }} {{ d.values()|list }} {{ d.get('a') }} {{ d.get('zz', 'none') }} {{ d.get('zz') }} {{ d['items'] is defined }}"),
    ("whitespace control", "a\n  {% if true %}\n    b\n  {% endif %}\nc {{- ' d ' -}} e\n{%- if true -%}\n  f  \n{%- endif %}\n  g {# note #}\n  {# own line #}\nh"),
    ("lstrip and trim edge cases", "x  {% if true %}y{% endif %}  z\n\t{% for v in [1] %}\n{{ v }}\n\t{% endfor %}\nend{%+ if true %}+{% endif %}"),
    ("trailing newline dropped", "line\n{% if true %}yes{% endif %}\n"),
    ("crlf newlines", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc"),
    ("macros", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }} "
     "{{ greet(name='C') }} {{ greet('D') ~ greet('E')|length }}"),
    ("macro with namespace", "{% set count = namespace(v=0) %}{% macro item(c, do_count) %}{% if do_count %}{% set count.v = count.v + 1 %}"
     "{% endif %}<{{ count.v }}:{{ c }}>{% endmacro %}{% for m in msgs %}{{ item(m.role, true) }}{% endfor %}{{ item('z', false) }}"),
    ("loop controls", "{% for v in [1, 2, 3, 4, 5] %}{% if v == 2 %}{% continue %}{% endif %}{% if v == 4 %}{% break %}{% endif %}{{ v }}{% endfor %}"),
    ("literals and globals", "{{ [1, [2, 3]] }} {{ (1, 2)|length }} {{ {'a': 1}['a'] }} {{ dict(a=1, b='x') }} {{ range(3)|list }} "
     "{{ range(1, 7, 2)|list }} {{ namespace(a=1).a }} {{ True }} {{ None is none }}"),
    ("generation tag", "{% for m in msgs %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% endif %}{% endfor %}"),
    ("precedence", "{{ xs|length - 1 }} {{ not x is defined }} {{ 2 * 3 ** 2 }} {{ 'a' ~ 1 * 2 }} {{ -2 ** 2 }} {{ 1 - 1 - 1 }}"),
    ("concatenation binds tighter than plus", "{{ 1 + 2 ~ 3 }}"),
    ("raise_exception", "{% if x == 1 %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}"),
    ("undefined attribute error", "{{ y.foo }}"),
    ("undefined arithmetic error", "{{ y + 1 }}"),
    ("unknown filter error", "{{ x|nosuchfilter }}"),
    ("unknown filter in untaken branch", "{% if false %}{{ x|nosuchfilter }}{% endif %}ok"),
    ("unknown test error", "{% if false %}{{ x is nosuchtest }}{% endif %}ok"),
    ("type error", "{{ 'a' + 1 }}"),
    ("unclosed block error", "{% if x %}open"),
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
    # The qwen2 test tokenizer with Qwen's eos / pad: the processor passes its
    # special_tokens_map to the template.
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(root.parent / "qwen2" / "tokenizer.json"),
                                        eos_token="<|im_end|>", pad_token="<|endoftext|>")
    out = {"transformers": transformers.__version__, "jinja2": jinja2.__version__,
           "special_tokens": tokenizer.special_tokens_map, "templates": {}}
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
            if cases is VISION_CASES:
                # The processor path: None-valued keys dropped, OpenAI image_url parts
                # rewritten, special tokens passed as variables.
                processor = TemplateOnlyProcessor(tokenizer, template)
                try:
                    case["expected_processor"] = processor.apply_chat_template(
                        messages, tools=tools, tokenize=False, add_generation_prompt=generation, **options)
                except Exception as error:
                    case["error_processor"] = type(error).__name__
            rendered.append(case)
        out["templates"][name] = {"file": file, "cases": rendered}
        ok = sum("expected" in c for c in rendered)
        print(f"{name}: {ok} rendered, {len(rendered) - ok} errors")
    from transformers.utils.chat_template_utils import _compile_jinja_template
    features = []
    for case_name, source in FEATURE_CASES:
        case = {"name": case_name, "template": source, "variables": V}
        try:
            case["expected"] = _compile_jinja_template(source).render(**V)
        except Exception as error:
            case["error"] = type(error).__name__
        features.append(case)
    out["features"] = features
    print(f"features: {sum('expected' in c for c in features)} rendered, {sum('error' in c for c in features)} errors")
    (root / "rendered.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/OCRTextTests/Fixtures/chat_templates")
