"""The live serving test's client (run by ServeLiveTests): talks to a running `ocrtune serve` with
the official `openai` SDK and with plain HTTP (urllib), and prints what it got as JSON on stdout.

    python3 live_client.py CONFIG.json
CONFIG: {"port", "model", "cases": [{"image", "prompt", "max_tokens"}], "ocr": bool, "burst": N}
"""

import base64
import concurrent.futures
import http.client
import json
import sys
import urllib.error
import urllib.request

import openai


def data_url(path):
    with open(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode()


def messages(case):
    content = [{"type": "image_url", "image_url": {"url": data_url(case["image"])}}]
    if case.get("prompt"):
        content.append({"type": "text", "text": case["prompt"]})
    return [{"role": "user", "content": content}]


def post(base, path, body, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def main():
    config = json.load(open(sys.argv[1]))
    base = f"http://127.0.0.1:{config['port']}"
    model = config["model"]
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=120)
    out = {"models": [m.id for m in client.models.list().data], "cases": []}

    for case in config["cases"]:
        result = {}
        answer = client.chat.completions.create(model=model, messages=messages(case), max_tokens=case["max_tokens"])
        result["plain"] = answer.choices[0].message.content
        result["finish_reason"] = answer.choices[0].finish_reason
        result["completion_tokens"] = answer.usage.completion_tokens
        stream = client.chat.completions.create(
            model=model, messages=messages(case), max_tokens=case["max_tokens"], stream=True,
            stream_options={"include_usage": True})
        pieces, usage = [], None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.usage is not None:
                usage = chunk.usage.completion_tokens
        result["streamed"] = "".join(pieces)
        result["stream_pieces"] = len(pieces)
        result["stream_usage"] = usage
        status, body = post(base, "/v1/chat/completions",
                            {"model": model, "messages": messages(case), "max_tokens": case["max_tokens"]})
        result["http"] = body["choices"][0]["message"]["content"] if status == 200 else None
        if config.get("ocr"):
            with open(case["image"], "rb") as f:
                status, body = post(base, "/ocr", {"file": base64.b64encode(f.read()).decode(), "fileType": 1})
            texts = body["result"]["ocrResults"][0]["prunedResult"]["rec_texts"] if status == 200 else None
            result["ocr"] = texts[0] if texts else ("" if texts == [] else None)
        out["cases"].append(result)

    # A burst of concurrent requests, each answered with its own image's text.
    cases = config["cases"]
    def one(i):
        case = cases[i % len(cases)]
        answer = client.chat.completions.create(model=model, messages=messages(case), max_tokens=case["max_tokens"])
        return i % len(cases), answer.choices[0].message.content
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        out["burst"] = [list(r) for r in pool.map(one, range(config["burst"]))]

    # Errors reach the SDK as its typed exceptions; plain HTTP gets JSON.
    try:
        client.chat.completions.create(model="no-such-model", messages=messages(cases[0]), max_tokens=4)
        out["unknown_model"] = "answered"
    except openai.NotFoundError as error:
        out["unknown_model"] = error.status_code
    status, body = post(base, "/v1/chat/completions", None, raw=b'{"model": ')
    out["malformed"] = [status, body.get("error", {}).get("code")]

    # SIGTERM while streamed answers are being generated: they finish, then the server exits.
    if config.get("drain_pid"):
        import os
        import signal
        streams = []
        for i in range(4):
            conn = http.client.HTTPConnection("127.0.0.1", config["port"], timeout=120)
            body = {"model": model, "messages": messages(cases[i % len(cases)]), "stream": True,
                    "max_tokens": cases[i % len(cases)]["max_tokens"]}
            conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.readline()  # the first event: generation has started
            streams.append((i % len(cases), response))
        os.kill(config["drain_pid"], signal.SIGTERM)
        drained = []
        for index, response in streams:
            text, done = "", False
            for raw in response.read().decode().split("\n\n"):
                raw = raw.strip()
                if raw == "data: [DONE]":
                    done = True
                elif raw.startswith("data: "):
                    for choice in json.loads(raw[6:]).get("choices", []):
                        text += choice["delta"].get("content") or ""
            drained.append([index, text, done])
        out["drained"] = drained
    print(json.dumps(out))


if __name__ == "__main__":
    main()
