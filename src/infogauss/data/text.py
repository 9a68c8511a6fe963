"""A broad English text corpus available offline: the glosses (definitions) of WordNet 3.0.

WordNet (Miller 1995; Fellbaum 1998) defines ~117,000 synsets across nouns, verbs, adjectives and adverbs, each
filed under one of 45 lexicographer categories (``noun.animal``, ``verb.motion``, ``adj.all`` ...). The glosses are
short, well-formed sentences that cover the whole vocabulary — a broad corpus for probing a text encoder, with the
category as a label for narrow-domain subsets. Debian ships the database as the ``wordnet-base`` package
(``apt-get install wordnet-base``: files ``/usr/share/wordnet/data.{noun,verb,adj,adv}``). Set ``INFOGAUSS_WORDNET``
or pass ``root=`` to read another copy of the ``dict/`` directory.

Each data line (``man 5 wndb``) is ``offset lex_filenum ss_type w_cnt word lex_id ... p_cnt pointers ... | gloss``;
the gloss is a definition followed by ``; "example"`` sentences.

Example::

    >>> texts = wordnet_texts(limit=5000, seed=0)            # doctest: +SKIP
    >>> animals = load_wordnet_glosses(lexnames=["noun.animal"])   # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infogauss.errors import InputError

DEFAULT_ROOT = "/usr/share/wordnet"
FILES = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "r": "data.adv"}

# lexnames(5WN): the 45 lexicographer files, indexed by lex_filenum.
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body noun.cognition "
    "noun.communication noun.event noun.feeling noun.food noun.group noun.location noun.motive noun.object "
    "noun.person noun.phenomenon noun.plant noun.possession noun.process noun.quantity noun.relation noun.shape "
    "noun.state noun.substance noun.time verb.body verb.change verb.cognition verb.communication verb.competition "
    "verb.consumption verb.contact verb.creation verb.emotion verb.motion verb.perception verb.possession "
    "verb.social verb.stative verb.weather adj.ppl"
).split()

_EXAMPLE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class Gloss:
    """One WordNet synset: part of speech (``n v a r``), lexicographer category, lemmas, definition, examples."""

    offset: int
    pos: str
    lexname: str
    lemmas: tuple[str, ...]
    definition: str
    examples: tuple[str, ...]


def wordnet_root(root=None) -> Path:
    """The WordNet ``dict`` directory: ``root``, else ``$INFOGAUSS_WORDNET``, else ``/usr/share/wordnet``."""
    p = Path(root or os.environ.get("INFOGAUSS_WORDNET") or DEFAULT_ROOT)
    if not (p / "data.noun").is_file():
        raise InputError(
            f"WordNet database not found in {p} (no data.noun); install Debian's wordnet-base package "
            "(apt-get install wordnet-base) or set INFOGAUSS_WORDNET to a WordNet 3.0 dict/ directory"
        )
    return p


def parse_data_line(line: str) -> Gloss | None:
    """Parse one ``data.*`` line; ``None`` for the license header (lines starting with spaces) or blank lines."""
    if not line.strip() or line.startswith(" "):
        return None
    head, sep, gloss = line.partition(" | ")
    if not sep:
        raise ValueError("no ' | ' gloss separator")
    f = head.split()
    offset, lexnum, pos, w_cnt = int(f[0]), int(f[1]), f[2], int(f[3], 16)
    lemmas = tuple(re.sub(r"\([a-z]+\)$", "", f[4 + 2 * i]).replace("_", " ") for i in range(w_cnt))
    gloss = gloss.strip()
    examples = tuple(e.strip() for e in _EXAMPLE.findall(gloss) if e.strip())
    definition = _EXAMPLE.sub("", gloss).strip().strip(";").strip()
    definition = re.sub(r"(\s*;\s*)+$", "", re.sub(r"\s*;\s*(;\s*)+", "; ", definition))
    return Gloss(offset, "a" if pos == "s" else pos, LEXNAMES[lexnum], lemmas, definition, examples)


def load_wordnet_glosses(pos: str = "nvar", *, lexnames=None, root=None, limit=None, seed=0) -> list[Gloss]:
    """All glosses of the parts of speech in ``pos`` (any of ``n v a r``), optionally only the ``lexnames``
    categories; ``limit`` draws that many at random (without replacement, ``seed``) after filtering; order is
    the file order otherwise. Synsets with an empty definition are skipped."""
    bad = set(pos) - set(FILES)
    if not pos or bad:
        raise InputError(f"pos={pos!r}: use letters from 'nvar' (noun, verb, adjective, adverb)")
    if lexnames is not None:
        lexnames = set(lexnames)
        unknown = sorted(lexnames - set(LEXNAMES))
        if unknown:
            raise InputError(f"unknown WordNet categories {unknown}; choose from infogauss.data.text.LEXNAMES")
    base = wordnet_root(root)
    out: list[Gloss] = []
    for letter in dict.fromkeys(pos):
        path = base / FILES[letter]
        if not path.is_file():
            raise InputError(f"{path}: missing; reinstall wordnet-base (apt-get install --reinstall wordnet-base)")
        with open(path, encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                try:
                    g = parse_data_line(line)
                except (ValueError, IndexError) as exc:
                    raise InputError(
                        f"{path}:{lineno}: not a WordNet data line ({exc}); is the file corrupt?"
                    ) from None
                if g is None or not g.definition or (lexnames is not None and g.lexname not in lexnames):
                    continue
                out.append(g)
    if not out:
        raise InputError(f"no WordNet glosses matched pos={pos!r} lexnames={sorted(lexnames or [])}")
    if limit is not None:
        if limit < 1:
            raise InputError(f"limit must be positive, got {limit}")
        if limit < len(out):
            idx = np.sort(np.random.default_rng(seed).choice(len(out), size=limit, replace=False))
            out = [out[i] for i in idx]
    return out


def gloss_text(g: Gloss, style: str = "definition") -> str:
    """The text of one gloss: ``"definition"`` (default), ``"lemma"`` (``"dog: a member of the genus Canis ..."``)
    or ``"full"`` (lemma, definition and the examples)."""
    if style == "definition":
        return g.definition
    if style == "lemma":
        return f"{g.lemmas[0]}: {g.definition}"
    if style == "full":
        return " ".join([f"{g.lemmas[0]}: {g.definition}.", *(f"{e}." for e in g.examples)])
    raise InputError(f"style={style!r}: use 'definition', 'lemma' or 'full'")


def wordnet_texts(pos: str = "nvar", *, style: str = "definition", unique: bool = True, **kwargs) -> list[str]:
    """Texts of :func:`load_wordnet_glosses` (same keyword arguments), one per synset (see :func:`gloss_text`);
    ``unique=True`` drops repeated texts (a few hundred synsets share a definition), keeping the first."""
    texts = [gloss_text(g, style) for g in load_wordnet_glosses(pos, **kwargs)]
    return list(dict.fromkeys(texts)) if unique else texts


# ---------------------------------------------------------------------------------------------- corpora

CORPORA = ("builtin", "wordnet")


def builtin_sentences(n: int, seed: int) -> list[str]:
    """``n`` distinct template sentences (subject, verb, object, place): a corpus that needs no download."""
    subjects = "the cat|a dog|my neighbour|the committee|a small bird|the engineer|our teacher|a farmer|the pilot"
    verbs = "watched|repaired|crossed|ignored|painted|described|followed|avoided|sold|found"
    objects = "the bridge|a red apple|the long report|an empty house|a broken window|the morning news|a wooden boat"
    places = "yesterday|in the rain|near the station|after lunch|at the market|before dawn"
    combos = [
        f"{s.capitalize()} {v} {o} {p}."
        for s in subjects.split("|")
        for v in verbs.split("|")
        for o in objects.split("|")
        for p in places.split("|")
    ]
    idx = np.random.default_rng(seed).choice(len(combos), size=min(n, len(combos)), replace=False)
    return [combos[i] for i in np.sort(idx)]


def corpus_texts(corpus: str, n: int, seed: int = 0, *, lexname: str | None = None) -> list[str]:
    """``n`` texts of ``corpus``: ``"builtin"`` (:func:`builtin_sentences`) or ``"wordnet"`` (a random subset of
    the glosses, :func:`wordnet_texts`; ``lexname`` restricts it to one category, e.g. ``"noun.animal"``)."""
    if corpus == "builtin":
        return builtin_sentences(n, seed)
    if corpus == "wordnet":
        lexnames = None if lexname is None else [lexname]
        return wordnet_texts(lexnames=lexnames, limit=n, seed=seed)
    raise InputError(f"unknown corpus {corpus!r}; choose from {', '.join(CORPORA)}")
