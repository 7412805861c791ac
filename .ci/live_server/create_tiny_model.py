#!/usr/bin/env python3
"""Create a tiny, randomly initialised Qwen2-architecture chat model fully offline.

Nothing is downloaded: the tokenizer is a byte-level BPE trained here on a few
sentences, the weights are random (seeded), and the chat template (ChatML with
tools) is written inline below.

Usage:
    python create_tiny_model.py OUT_DIR [--scripted]

--scripted additionally "programs" the weights so that greedy decoding is a
fixed, prompt-independent script (see SCRIPT below): the assistant turn is
a single <tool_call> for get_weather(city="Paris") when the prompt offers
tools and holds no tool result yet, and the fixed text "Hello from the tiny
model." otherwise (no tools, or a tool result is already in the conversation,
so an agent loop ends after one call). This
lets a CI job exercise the server's tool-call parser with a model that does no
real thinking. The default (not scripted) model emits random byte-level text.
"""

import argparse
import json
import os

import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

CORPUS = [
    "Hello! How can I help you today?",
    "The weather in Paris is sunny and warm.",
    "You are a helpful assistant.",
    "Please call the get_weather tool with the city name.",
    "The answer is 42. Let me know if you need anything else.",
    '{"name": "get_weather", "arguments": {"city": "Paris"}}',
    "def add(a, b):\n    return a + b\n",
    "system user assistant tool function arguments name content role",
    "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "The quick brown fox jumps over the lazy dog.",
]

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Non-special added tokens (kept in decoded text so the server's parser sees them).
EXTRA = [
    "<tool_call>",
    "</tool_call>",
    "<think>",
    "</think>",
    "<tools>",
    "</tools>",
    "<tool_response>",
    "</tool_response>",
]

# ChatML with OpenAI-style tools; written for this probe (not copied from any model).
CHAT_TEMPLATE = r"""
{%- macro text(c) -%}
{%- if c is string -%}{{ c }}
{%- elif c is iterable -%}{%- for p in c -%}{%- if p.text is defined -%}{{ p.text }}{%- endif -%}{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- set ns = namespace(sys='') -%}
{%- if messages and messages[0].role in ['system', 'developer'] -%}{%- set ns.sys = text(messages[0].content) -%}{%- set msgs = messages[1:] -%}
{%- else -%}{%- set msgs = messages -%}{%- endif -%}
{%- if tools -%}
<|im_start|>system
{{ ns.sys if ns.sys else 'You are a helpful assistant.' }}

You may call functions. Available tools:
<tools>
{%- for t in tools %}
{{ (t.function if t.function is defined else t) | tojson }}
{%- endfor %}
</tools>
To call one, reply with <tool_call>{"name": NAME, "arguments": {...}}</tool_call><|im_end|>
{% elif ns.sys -%}
<|im_start|>system
{{ ns.sys }}<|im_end|>
{% endif -%}
{%- for m in msgs -%}
{%- if m.role == 'assistant' -%}
<|im_start|>assistant
{{ text(m.content) if m.content else '' }}
{%- if m.tool_calls is defined and m.tool_calls -%}
{%- for tc in m.tool_calls -%}
{%- set f = tc.function if tc.function is defined else tc -%}
<tool_call>{"name": "{{ f.name }}", "arguments": {{ (f.arguments if f.arguments is string else (f.arguments | tojson)) }}}</tool_call>
{%- endfor -%}
{%- endif -%}
<|im_end|>
{% elif m.role == 'tool' -%}
<|im_start|>tool
<tool_response>{{ text(m.content) }}</tool_response><|im_end|>
{% else -%}
<|im_start|>{{ m.role }}
{{ text(m.content) }}<|im_end|>
{% endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
<|im_start|>assistant
{% endif -%}
""".strip()

# What the scripted model says (each element becomes ONE vocabulary token, so a
# last-token -> next-token lookup can replay it without ambiguity).
# Pieces stay <= 32 bytes: llama-cpp-python detokenizes each token into a 32-byte buffer.
TOOL_SCRIPT = [
    "<tool_call>",
    '{"name": "get_weather", ',
    '"arguments": {"city": ',
    '"Paris"}}',
    "</tool_call>",
    "<|im_end|>",
]
TEXT_SCRIPT = ["Hello from the tiny model.", "<|im_end|>"]


def build_tokenizer(vocab_size: int, scripted: bool) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    extra = list(EXTRA)
    if scripted:
        extra += TOOL_SCRIPT[1:4] + [TEXT_SCRIPT[0]]
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in extra])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        chat_template=CHAT_TEMPLATE,
        model_max_length=32768,
    )
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    return fast


def program_weights(model, tok, hidden: int, seed: int):
    """Turn the network into a deterministic lookup: next = f(last token, flags).

    Residual coordinates: 0 = flag F 'tools offered', 1 = constant bias,
    2 = marker 'this token is <tools>', 3 = flag G 'a tool result is in the
    prompt', 4 = marker 'this token is <tool_response>'; the other coordinates
    are a random code per token.
    * every layer's attention o_proj and MLP down_proj is zeroed, except two
      heads of layer 0's attention: each has a constant query, a key that is
      huge only on its marker token and a value equal to the marker (zero on
      every other token), so it copies 'marker seen earlier' into its flag.
      The residual is thus emb(tok) + F*e0 + G*e3, with F, G exactly 0 when
      the marker is absent.
    * lm_head rows are set so that argmax gives the scripted successor of the
      last token; the first assistant token is chosen by the flags.
    RoPE: query/key use the lowest-frequency rotary pair and rope_theta is
    huge, so the scores do not depend on distance.
    """
    g = torch.Generator().manual_seed(seed)
    cfg = model.config
    V, H = cfg.vocab_size, hidden
    hd = H // cfg.num_attention_heads
    group = cfg.num_attention_heads // cfg.num_key_value_heads
    j = hd // 2 - 1  # lowest-frequency rotary dim
    tools_id = tok.convert_tokens_to_ids("<tools>")
    resp_id = tok.convert_tokens_to_ids("<tool_response>")
    end_id = tok.convert_tokens_to_ids("<|im_end|>")
    R = 5  # reserved coordinates

    with torch.no_grad():
        emb = torch.randn(V, H, generator=g)
        emb[:, :R] = 0.0
        emb[:, 1] = 1.0
        emb[tools_id, 2] = 6.0
        emb[resp_id, 4] = 6.0
        emb = emb / emb.norm(dim=1, keepdim=True) * (H**0.5)  # RMS 1 -> RMSNorm ~ identity
        model.model.embed_tokens.weight.copy_(emb)
        model.model.norm.weight.fill_(1.0)
        for i, layer in enumerate(model.model.layers):
            layer.mlp.down_proj.weight.zero_()
            layer.input_layernorm.weight.fill_(1.0)
            layer.post_attention_layernorm.weight.fill_(1.0)
            a = layer.self_attn
            a.o_proj.weight.zero_()
            if i != 0:
                continue
            for lin in (a.q_proj, a.k_proj, a.v_proj):
                lin.weight.zero_()
                if lin.bias is not None:
                    lin.bias.zero_()
            # (query head, marker coordinate, flag coordinate)
            for qh, marker, flag in ((0, 2, 0), (group, 4, 3)):
                kvh = qh // group
                a.q_proj.weight[qh * hd + j, 1] = 1.0  # constant query
                a.k_proj.weight[kvh * hd + j, marker] = 60.0  # key: huge on the marker token only
                a.v_proj.weight[kvh * hd + 0, marker] = 1.0  # value: the marker
                a.o_proj.weight[flag, qh * hd + 0] = 1.6  # -> flag coordinate (~8 when set)

        def unit(i):
            v = emb[i].clone()
            v[:R] = 0.0
            return v / v.norm()

        start = tok.encode("<|im_start|>assistant\n", add_special_tokens=False)[-1]

        def chain(seq):
            prev, rows = start, []
            for s in seq:
                nid = tok.convert_tokens_to_ids(s)
                assert nid is not None and nid != tok.unk_token_id, s
                rows.append((prev, nid))
                prev = nid
            return rows

        tool_rows, text_rows = chain(TOOL_SCRIPT), chain(TEXT_SCRIPT)
        W = torch.randn(V, H, generator=g) * 0.01
        W[:, :R] = 0.0
        # First assistant token: same token part; the flags pick tool call (F and not G) or text.
        for nid, sgn in ((tool_rows[0][1], 1.0), (text_rows[0][1], -1.0)):
            W[nid] = 40.0 * unit(start)
            W[nid, 0] = 8.0 * sgn
            W[nid, 3] = -16.0 * sgn
            W[nid, 1] = -20.0 * sgn
        for prev, nid in tool_rows[1:] + text_rows[1:]:
            W[nid] = (W[nid] if nid == end_id else 0.0) + 40.0 * unit(prev)
        model.lm_head.weight.copy_(W)


def install_in_hub_cache(src: str, repo_id: str, cache: str | None):
    """Lay the saved folder out as a hub-cache snapshot, so that (with HF_HUB_OFFLINE=1)
    from_pretrained(repo_id) finds it and `transformers serve` lists it under /v1/models."""
    import hashlib
    import shutil

    cache = (
        cache
        or os.environ.get("HF_HUB_CACHE")
        or os.path.join(os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub")
    )
    h = hashlib.sha1()
    for f in sorted(os.listdir(src)):
        h.update(f.encode())
        h.update(open(os.path.join(src, f), "rb").read())
    commit = h.hexdigest()
    repo = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    snap = os.path.join(repo, "snapshots", commit)
    if os.path.isdir(repo):
        shutil.rmtree(repo)
    shutil.copytree(src, snap)
    os.makedirs(os.path.join(repo, "refs"), exist_ok=True)
    with open(os.path.join(repo, "refs", "main"), "w") as fh:
        fh.write(commit)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--scripted", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--repo-id", help="also install the model into an HF hub cache as this repo id (e.g. local/tiny)")
    ap.add_argument("--hub-cache", help="HF hub cache dir for --repo-id (default: $HF_HUB_CACHE or $HF_HOME/hub)")
    args = ap.parse_args()
    torch.manual_seed(args.seed)

    tok = build_tokenizer(args.vocab, args.scripted)
    V = len(tok)
    V_pad = (V + 63) // 64 * 64
    cfg = Qwen2Config(
        vocab_size=V_pad,
        hidden_size=args.hidden,
        intermediate_size=args.hidden * 2,
        num_hidden_layers=args.layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        rope_theta=1e9 if args.scripted else 10000.0,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
        torch_dtype="float32",
    )
    model = Qwen2ForCausalLM(cfg)
    if args.scripted:
        program_weights(model, tok, args.hidden, args.seed)
    gen_kwargs = {}
    if not args.scripted:
        # A random model would otherwise now and then emit "<tool_call>" followed by junk,
        # which transformers serve's Qwen2 tool parser turns into an HTTP 500 (JSONDecodeError).
        # Also keep it from opening <think> blocks or new turns. (Pad the vocab rows too.)
        banned = [
            "<tool_call>",
            "</tool_call>",
            "<think>",
            "</think>",
            "<tools>",
            "</tools>",
            "<tool_response>",
            "</tool_response>",
            "<|im_start|>",
            "<|endoftext|>",
        ]
        gen_kwargs["suppress_tokens"] = [tok.convert_tokens_to_ids(t) for t in banned] + list(range(V, V_pad))
    model.generation_config = GenerationConfig(
        eos_token_id=cfg.eos_token_id,
        pad_token_id=cfg.pad_token_id,
        bos_token_id=None,
        # Like published chat models: sample by default; a request with temperature 0 gets greedy.
        # (transformers serve only ever turns sampling OFF, for temperature == 0.)
        do_sample=True,
        max_new_tokens=64,
        **gen_kwargs,
    )
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    tok.save_pretrained(args.out)
    if args.repo_id:
        install_in_hub_cache(args.out, args.repo_id, args.hub_cache)
    n = sum(p.numel() for p in model.parameters())
    print(json.dumps({"out": args.out, "params": n, "vocab": V, "vocab_padded": V_pad, "scripted": args.scripted}))


if __name__ == "__main__":
    main()
