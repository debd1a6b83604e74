#!/usr/bin/env python3
"""Writes random LaTeX formulas, one per line, for `ocrtune data synth --latex` (im2latex-like:
fractions, scripts, roots, sums, integrals, limits, functions, Greek letters, brackets).
Deterministic for a seed. With EXCLUDE (a formulas file, e.g. the training set's), formulas of that
file are never written, so a test set drawn with another seed is disjoint from it.

Usage: python3 tools/latex_formulas.py COUNT SEED [EXCLUDE] > formulas.txt
"""
import random
import sys

LETTERS = list("abcdefghijklmnpqrstuvwxyz") + list("ABCDEFGHKLMNPRSTUVWXYZ")
GREEK = ["\\alpha", "\\beta", "\\gamma", "\\delta", "\\epsilon", "\\theta", "\\lambda", "\\mu", "\\nu",
         "\\pi", "\\rho", "\\sigma", "\\tau", "\\phi", "\\psi", "\\omega", "\\Gamma", "\\Delta", "\\Omega", "\\Phi"]
FUNCS = ["\\sin", "\\cos", "\\tan", "\\log", "\\exp", "\\ln"]
LIMITS = ["0", "\\infty", "a"]
RELS = ["=", "=", "=", "<", ">", "\\leq", "\\geq", "\\neq", "\\approx"]
OPS = ["+", "-", "+", "-", "\\cdot", "\\times"]


def atom(r):
    k = r.random()
    if k < 0.5:
        return r.choice(LETTERS)
    if k < 0.75:
        return str(r.randint(0, 99) if r.random() < 0.3 else r.randint(0, 9))
    return r.choice(GREEK)


def term(r, depth):
    k = r.random()
    if depth <= 0 or k < 0.35:
        base = atom(r)
        s = r.random()
        if s < 0.2:
            return f"{base}^{{{atom(r)}}}"
        if s < 0.35:
            return f"{base}_{{{atom(r)}}}"
        if s < 0.42:
            return f"{base}_{{{atom(r)}}}^{{{atom(r)}}}"
        return base
    if k < 0.5:
        return f"\\frac{{{expr(r, depth - 1, 2)}}}{{{expr(r, depth - 1, 2)}}}"
    if k < 0.58:
        return f"\\sqrt{{{expr(r, depth - 1, 2)}}}"
    if k < 0.68:
        return f"\\left( {expr(r, depth - 1, 3)} \\right)"
    if k < 0.74:
        i = r.choice("ijkn")
        return f"\\sum_{{{i}=1}}^{{{r.choice(['n', 'N', 'm', '10'])}}} {term(r, depth - 1)}"
    if k < 0.8:
        v = r.choice("xtyz")
        return f"\\int_{{{atom(r)}}}^{{{atom(r)}}} {term(r, depth - 1)} \\, d {v}"
    if k < 0.85:
        v = r.choice("xnt")
        return f"\\lim_{{{v} \\to {r.choice(LIMITS)}}} {term(r, depth - 1)}"
    if k < 0.93:
        return f"{r.choice(FUNCS)} {term(r, depth - 1)}"
    return f"{atom(r)}^{{{expr(r, depth - 1, 2)}}}"


def expr(r, depth, terms):
    parts = [term(r, depth)]
    for _ in range(r.randint(0, terms - 1)):
        parts += [r.choice(OPS), term(r, depth)]
    return " ".join(parts)


def formula(r):
    left = expr(r, 2, 3)
    if r.random() < 0.6:
        left += f" {r.choice(RELS)} {expr(r, 2, 3)}"
    return left


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    excluded = set()
    if len(sys.argv) > 3:
        with open(sys.argv[3], encoding="utf-8") as file:
            excluded = {line.rstrip("\n") for line in file}
    r = random.Random(seed)
    seen = set()
    while len(seen) < count:
        f = formula(r)
        if len(f) <= 90 and f not in seen and f not in excluded:
            seen.add(f)
            print(f)


if __name__ == "__main__":
    main()
