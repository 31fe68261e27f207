#!/usr/bin/env python3
"""`serve` through the official openai Python package (tests/e2e/test_serve_openai.sh).

usage: serve_openai.py BASE_URL API_KEY MODEL
Completions (whole and streamed), chat (whole and streamed, with usage),
models.list, and the errors the package raises: BadRequestError with the
param set, AuthenticationError for a wrong key, NotFoundError for an
unknown model. Exits 1 with the first failure.
"""
import sys

import openai

base, key, model = sys.argv[1:4]
client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
checks = 0


def check(cond, what):
    global checks
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    checks += 1


models = client.models.list()
check([m.id for m in models.data] == [model], "models.list: %r" % models)

c = client.completions.create(model=model, prompt="Once upon a time", max_tokens=12,
                              temperature=0, extra_body={"ignore_eos": True})
check(c.object == "text_completion" and c.choices[0].finish_reason == "length", "completion: %r" % c)
check(c.usage.prompt_tokens == 6 and c.usage.completion_tokens == 12, "usage: %r" % c.usage)
whole = c.choices[0].text

parts, usage = [], None
for chunk in client.completions.create(model=model, prompt="Once upon a time", max_tokens=12,
                                       temperature=0, stream=True, extra_body={"ignore_eos": True},
                                       stream_options={"include_usage": True}):
    parts += [ch.text for ch in chunk.choices]
    usage = chunk.usage or usage
check("".join(parts) == whole, "streamed %r != whole %r" % ("".join(parts), whole))
check(usage is not None and usage.completion_tokens == 12, "stream usage: %r" % usage)

c = client.completions.create(model=model, prompt="Once upon a time", max_tokens=4, logprobs=2,
                              n=2, seed=7, temperature=0.9, top_p=0.95, stop=["zzz"], user="me")
check(len(c.choices) == 2 and len(c.choices[0].logprobs.tokens) == len(c.choices[0].logprobs.token_logprobs),
      "completion logprobs: %r" % c)

msgs = [{"role": "system", "content": "You tell stories."}, {"role": "user", "content": "Tell me one."}]
r = client.chat.completions.create(model=model, messages=msgs, max_completion_tokens=10, temperature=0,
                                   logprobs=True, top_logprobs=1, seed=1)
check(r.object == "chat.completion" and r.choices[0].message.role == "assistant", "chat: %r" % r)
check(len(r.choices[0].logprobs.content) == r.usage.completion_tokens, "chat logprobs: %r" % r)
roles, text, usage = [], "", None
for chunk in client.chat.completions.create(model=model, messages=msgs, max_tokens=10, temperature=0,
                                            stream=True, stream_options={"include_usage": True}):
    for ch in chunk.choices:
        roles += [ch.delta.role] if ch.delta.role else []
        text += ch.delta.content or ""
    usage = chunk.usage or usage
check(roles == ["assistant"] and text == r.choices[0].message.content, "chat stream %r %r" % (roles, text))
check(usage is not None and usage.completion_tokens == r.usage.completion_tokens, "chat usage %r" % usage)

try:
    client.completions.create(model=model, prompt="x", top_p=0)
    check(False, "top_p 0 was accepted")
except openai.BadRequestError as e:
    check(e.status_code == 400 and e.body.get("param") == "top_p", "BadRequestError: %r" % e.body)
try:
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}],
                                   extra_body={"temprature": 1})
    check(False, "an unknown field was accepted")
except openai.BadRequestError as e:
    check(e.body.get("param") == "temprature", "unknown field: %r" % e.body)
try:
    client.completions.create(model="gpt-4", prompt="x")
    check(False, "another model was accepted")
except openai.NotFoundError as e:
    check(e.body.get("code") == "model_not_found", "NotFoundError: %r" % e.body)
try:
    openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).models.list()
    check(False, "a wrong key was accepted")
except openai.AuthenticationError as e:
    check(e.status_code == 401, "AuthenticationError: %r" % e)
print("openai %s: %d checks passed" % (openai.__version__, checks))
