#!/usr/bin/env python3
"""Deterministic generator of OpenMathInstruct-2-like rows (stdlib only).

Produces rows in the shape a user has after the custom-dataset tutorial's preprocess step
(NeMo Gym's custom-dataset tutorial, section 2):

  {"problem": ..., "expected_answer": ...,
   "responses_create_params": {"input": [{"role": "system", "content": SYSTEM_PROMPT},
                                         {"role": "user", "content": <problem>}]},
   "question": <problem>}

Note: the tutorial's preprocess.py actually *pops* "problem" (renaming it to "question"),
while its printed `head -n 1` output shows "problem" and no "question". This generator keeps
both keys (the shape the benchmark brief asks for), which makes rows slightly larger than either.

Problem text: 50-600 characters (lognormal-ish, median ~190), LaTeX-ish ($...$, \\frac, \\sqrt,
^, _), occasional non-ASCII (about 2% of rows: degree sign, en dash, pi, times) so that
json.dumps' default ensure_ascii escaping is exercised. Answers are short (integers mostly,
then fractions, decimals, radicals, intervals, words).

Usage: make_openmath.py N OUTDIR [--seed S] [--val-rows K]
  writes OUTDIR/train.jsonl (first N-K rows) and OUTDIR/validation.jsonl (last K rows).
  Default K = 1000 (as the tutorial: 999,000 / 1,000 for 1M); if N <= 2000, K = N // 10.
  Same N, seed and K -> byte-identical files.
"""

import argparse
import json
import math
import os
import random
import sys

SYSTEM_PROMPT = (
    "Your task is to solve a math problem. Make sure to put the answer (and only the answer) inside \\boxed{}."
)

NAMES = ["Tom", "Maria", "Alex", "Emily", "Ben", "Sofia", "Liam", "Ava", "Noah", "Mia", "Lucas", "Zoe", "Ethan", "Lily"]
OBJECTS = ["apples", "marbles", "books", "pencils", "coins", "stickers", "cookies", "tickets", "cards", "flowers"]
VARS = ["x", "y", "z", "a", "b", "n", "m", "k", "t", "p"]
UNICODE_BITS = ["\u00b0", "\u2013", "\u03c0", "\u00d7", "\u2264", "\u00e9"]

CONTEXT = [
    "Let ${v}$ be a positive integer such that ${v}^2 + {a}{v} - {b}$ is divisible by ${c}$.",
    "Consider the function $f({v}) = {a}{v}^3 - {b}{v} + {c}$ defined for all real ${v}$.",
    "A sequence is defined by $a_1 = {a}$ and $a_{{n+1}} = {b}a_n - {c}$ for $n \\geq 1$.",
    "In triangle $ABC$, $AB = {a}$, $BC = {b}$, and $\\angle ABC = {c}^\\circ$.",
    "The points $({a}, {b})$ and $(-{c}, {d})$ lie on a line $\\ell$ in the coordinate plane.",
    "{name} has ${a}$ {obj} and gives away $\\frac{{1}}{{{c}}}$ of them to a friend.",
    "A rectangular box has dimensions ${a}$ cm, ${b}$ cm and ${c}$ cm.",
    "The polynomial $p({v}) = {v}^4 - {a}{v}^3 + {b}{v}^2 - {c}{v} + {d}$ has four real roots.",
    "A bag contains ${a}$ red balls, ${b}$ blue balls and ${c}$ green balls.",
    "Let $S$ be the set of all integers $n$ with $1 \\le n \\le {e}$ such that $\\gcd(n, {c}) = 1$.",
    "The sum of the first ${a}$ terms of an arithmetic sequence is ${e}$, and the common difference is ${b}$.",
    "A circle of radius ${a}$ is inscribed in a square, and a smaller circle is tangent to two sides of the square and to the first circle.",
    "Suppose that $\\log_{{{a}}} {v} + \\log_{{{a}}} ({v} - {b}) = {c}$.",
    "The matrix $\\mathbf{{M}} = \\begin{{pmatrix}} {a} & {b} \\\\ {c} & {d} \\end{{pmatrix}}$ is given.",
    "A train travels ${e}$ km at an average speed of ${a}$ km/h and returns at ${b}$ km/h.",
    "Let $z$ be a complex number such that $|z - {a}i| = {b}$ and $\\text{{Re}}(z) = {c}$.",
]

QUESTIONS = [
    "Find the smallest possible value of ${v}$.",
    "What is the value of $f({c}) - f({a})$?",
    "Compute $\\sum_{{k=1}}^{{{a}}} k^2 \\pmod{{{c}}}$.",
    "Determine the area of the triangle, in square units.",
    "How many {obj} does {name} have left?",
    "Solve for ${v}$: $\\frac{{{v}^2 - {a}{v} + {b}}}{{{v} - {c}}} = {v} + {d}$.",
    "What is the probability that two balls drawn without replacement have the same color? Express your answer as a common fraction.",
    "Find the number of elements in $S$.",
    "Express your answer in simplest radical form.",
    "What is the sum of all real solutions?",
    "Find $\\det(\\mathbf{{M}}^{{{c}}})$.",
    "Enter your answer as an interval.",
    "Round your answer to the nearest hundredth.",
    "What is the remainder when ${a}^{{{e}}}$ is divided by ${c}$?",
    "Find the slope of $\\ell$.",
    "Compute $\\sqrt{{{a}^2 + {b}^2}} - {c}$.",
]

FILLER = [
    "Assume all quantities are measured in the same units.",
    "It is known that the answer is an integer.",
    "Note that ${v} \\neq {c}$.",
    "All angles are measured in degrees.",
    "The process is repeated until no further change occurs.",
    "Each of the {obj} is equally likely to be chosen.",
    "After ${b}$ days the amount doubles.",
    "Here $\\lfloor \\cdot \\rfloor$ denotes the greatest integer function.",
    "The figure is not drawn to scale.",
    "{name} notices that the total is a perfect square.",
]


def fmt(template: str, rng: random.Random) -> str:
    return template.format(
        v=rng.choice(VARS),
        a=rng.randint(2, 99),
        b=rng.randint(2, 199),
        c=rng.randint(2, 30),
        d=rng.randint(1, 50),
        e=rng.randint(100, 2025),
        name=rng.choice(NAMES),
        obj=rng.choice(OBJECTS),
    )


def make_answer(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.62:
        return str(rng.randint(-50, 2000) if rng.random() < 0.1 else rng.randint(0, 999))
    if r < 0.77:
        q = rng.randint(2, 97)
        return f"\\frac{{{rng.randint(1, q - 1)}}}{{{q}}}"
    if r < 0.86:
        return f"{rng.randint(0, 500)}.{rng.randint(0, 99):02d}"
    if r < 0.93:
        return f"{rng.randint(2, 12)}\\sqrt{{{rng.choice([2, 3, 5, 6, 7, 10, 11])}}}"
    if r < 0.97:
        lo = rng.randint(-20, 5)
        return f"({lo}, {lo + rng.randint(1, 30)}]" if rng.random() < 0.5 else f"(-\\infty, {lo}]"
    return rng.choice(["\\text{odd}", "\\text{(C)}", "x^2 + 1", "\\pi", "2\\pi", "\\text{Tuesday}"])


def target_len(rng: random.Random) -> int:
    # lognormal around ~190 chars, clipped to [50, 600]
    n = int(math.exp(rng.gauss(5.25, 0.55)))
    return max(50, min(600, n))


def make_problem(rng: random.Random) -> str:
    target = target_len(rng)
    parts = [fmt(rng.choice(CONTEXT), rng)]
    question = fmt(rng.choice(QUESTIONS), rng)
    body_len = len(parts[0]) + 1 + len(question)
    while body_len < target - 40:
        s = fmt(rng.choice(FILLER if rng.random() < 0.6 else CONTEXT), rng)
        parts.append(s)
        body_len += len(s) + 1
    sep = "\n\n" if rng.random() < 0.15 else " "
    text = " ".join(parts) + sep + question
    if len(text) > 600:  # drop middle sentences until it fits, keep the question
        while len(parts) > 1 and len(" ".join(parts) + sep + question) > 600:
            parts.pop()
        text = " ".join(parts) + sep + question
        if len(text) > 600:
            text = text[:599].rstrip() + "?"
    if len(text) < 50:
        text = text + " " + fmt(FILLER[0], rng)
    if rng.random() < 0.02:
        pos = rng.randint(0, len(text) - 1)
        text = text[:pos] + rng.choice(UNICODE_BITS) + text[pos:]
        text = text[:600]
    return text


def make_row(rng: random.Random) -> dict:
    problem = make_problem(rng)
    return {
        "problem": problem,
        "expected_answer": make_answer(rng),
        "responses_create_params": {
            "input": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": problem},
            ]
        },
        "question": problem,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="total rows (train + validation)")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=20251123)
    ap.add_argument("--val-rows", type=int, default=None)
    args = ap.parse_args(argv)
    n = args.n
    k = args.val_rows if args.val_rows is not None else (1000 if n > 2000 else n // 10)
    if not 0 <= k <= n:
        ap.error("--val-rows must be between 0 and N")
    os.makedirs(args.outdir, exist_ok=True)
    rng = random.Random(args.seed)
    dumps = json.dumps
    n_train = n - k
    with (
        open(os.path.join(args.outdir, "train.jsonl"), "w", encoding="utf-8", newline="\n") as ftrain,
        open(os.path.join(args.outdir, "validation.jsonl"), "w", encoding="utf-8", newline="\n") as fval,
    ):
        buf = []
        out = ftrain
        for i in range(n):
            if i == n_train:
                out.write("".join(buf))
                buf = []
                out = fval
            buf.append(dumps(make_row(rng)) + "\n")
            if len(buf) >= 10000:
                out.write("".join(buf))
                buf = []
        out.write("".join(buf))
    print(f"wrote {n_train} train + {k} validation rows to {args.outdir} (seed {args.seed})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
