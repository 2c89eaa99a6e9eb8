"""Test utilities shipped with the package: a deterministic fake embedder and a tiny local ST model.

Both need no network. ``FakeEmbedder`` is pure numpy (fast unit tests of classifiers and topic
models); ``build_tiny_sentence_transformer`` writes a real, randomly initialised
sentence-transformers model folder (about 100 kB) for tests of the real embedding path.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arnews_ml.embed.base import EmbedderSpec, read_entry_files
from arnews_ml.exceptions import ConfigError, DependencyError

__all__ = [
    "FAKE_EMBEDDER_FILE",
    "TOPIC_THEMES",
    "FakeEmbedder",
    "build_tiny_sentence_transformer",
    "themed_corpus",
    "topic_purity",
]

#: File written by ``FakeEmbedder.save``.
FAKE_EMBEDDER_FILE = "fake_embedder.json"
_TOKEN = re.compile(r"\w+")
_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_VOCAB_SIZE = 500


class FakeEmbedder:
    """Deterministic dense embedder for unit tests: a text is the sum of its tokens' vectors.

    Each token (``\\w+``, lower-cased) gets a fixed pseudo-random vector seeded by the sha256 of
    the token and ``seed``, so texts sharing words are close and results are identical across
    processes and platforms. Rows are L2-normalised (an empty text gets a fixed vector).
    Implements the :class:`~arnews_ml.embed.base.Embedder` protocol, including save/load
    (kind ``"fake"``), and counts ``n_encoded`` texts so tests can check caching.

    Args:
        dim: Output dimension.
        seed: Changes every token vector (and the spec).
    """

    cacheable = True

    def __init__(self, dim: int = 8, seed: int = 0) -> None:
        if int(dim) < 1:
            raise ConfigError(f"FakeEmbedder dim must be >= 1; got {dim}.")
        self.dim = int(dim)
        self.seed = int(seed)
        self.n_encoded = 0
        self.n_fit = 0

    def __repr__(self) -> str:
        return f"FakeEmbedder(dim={self.dim}, seed={self.seed})"

    @property
    def spec(self) -> EmbedderSpec:
        """Kind ``"fake"`` with options ``dim`` and ``seed``."""
        return EmbedderSpec(kind="fake", options={"dim": self.dim, "seed": self.seed})

    def _token_vector(self, token: str) -> np.ndarray:
        digest = hashlib.sha256(f"{self.seed}\0{token}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        return rng.standard_normal(self.dim)

    def fit(self, texts: Sequence[str]) -> FakeEmbedder:
        """No-op apart from counting calls in ``n_fit``; returns self."""
        self.n_fit += 1
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dim) with unit-norm rows."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        for i, text in enumerate(texts):
            tokens = _TOKEN.findall(str(text).lower()) or [""]
            for token in tokens:
                out[i] += self._token_vector(token)
            norm = np.linalg.norm(out[i])
            if norm > 0:
                out[i] /= norm
        self.n_encoded += len(texts)
        return out.astype(np.float32)

    def save(self, directory: str | Path) -> dict[str, Any]:
        """Write ``fake_embedder.json``; returns the manifest entry."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / FAKE_EMBEDDER_FILE).write_text(
            json.dumps({"dim": self.dim, "seed": self.seed}), encoding="utf-8"
        )
        return {
            "kind": "fake",
            "class": "arnews_ml.testing:FakeEmbedder",  # not a production kind: named here
            "files": [FAKE_EMBEDDER_FILE],
            "spec": self.spec.to_dict(),
        }

    @classmethod
    def load(cls, directory: str | Path, entry: Mapping[str, Any]) -> FakeEmbedder:
        """Rebuild from :meth:`save` output."""
        (path,) = read_entry_files(Path(directory), {"files": [FAKE_EMBEDDER_FILE]})
        params = json.loads(path.read_text(encoding="utf-8"))
        return cls(dim=params["dim"], seed=params["seed"])


def _tiny_vocabulary(
    texts: Sequence[str], normalizer: Any, pre_tokenizer: Any, size: int = _VOCAB_SIZE
) -> dict[str, int]:
    """A WordPiece vocabulary built deterministically from ``texts``.

    ``tokenizers``' WordPiece trainer breaks ties in a different order on each run, so the
    files (and their content hash) would change between builds. Here: special tokens, every
    character (alone and as ``##`` continuation, so no word is ever unknown), then the most
    frequent words (ties by spelling) up to ``size`` entries.
    """
    words: Counter[str] = Counter()
    for text in texts:
        pieces = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(str(text)))
        words.update(piece for piece, _ in pieces)
    chars = sorted({c for word in words for c in word})
    tokens = [*_SPECIAL_TOKENS, *chars, *(f"##{c}" for c in chars)]
    known = set(tokens)
    for word, _ in sorted(words.items(), key=lambda item: (-item[1], item[0])):
        if len(tokens) >= size:
            break
        if word not in known:
            tokens.append(word)
            known.add(word)
    return {token: index for index, token in enumerate(tokens)}


def build_tiny_sentence_transformer(
    path: str | Path, texts: Sequence[str], dim: int = 32, seed: int = 0
) -> Path:
    """Build and save a tiny, randomly initialised sentence-transformers model (no network).

    A WordPiece tokenizer (vocabulary of up to 500 entries built deterministically from
    ``texts``: every character plus the most frequent words; BERT pre-tokenizer; no lower-casing
    or accent stripping, so Arabic diacritics survive) is built; a 2-layer BERT (hidden size
    ``dim``, 2 heads, intermediate ``2 * dim``) with weights drawn under ``torch.manual_seed(seed)``
    is followed by mean pooling. The vectors are meaningless but the files are byte-identical
    for the same ``texts``, ``dim`` and ``seed``. Takes well under a second once torch is imported.

    Args:
        path: Folder to write (created; existing files are overwritten).
        texts: Texts to train the tokenizer on (include every script the tests use).
        dim: Hidden size = embedding dimension (even, >= 2).
        seed: Seed of the random weights.

    Returns:
        ``path`` as a Path, loadable with ``SentenceTransformer(path)`` or
        ``SentenceTransformerEmbedder(model=str(path))``.
    """
    if int(dim) < 2 or int(dim) % 2:
        raise ConfigError(f"dim must be an even number >= 2 (2 attention heads); got {dim}.")
    try:
        import torch
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
        from tokenizers import (
            Tokenizer,
            decoders,
            models,
            normalizers,
            pre_tokenizers,
            processors,
        )
        from transformers import BertConfig, BertModel, PreTrainedTokenizerFast
    except ImportError as error:
        raise DependencyError(
            "build_tiny_sentence_transformer needs sentence-transformers>=6, transformers, "
            "tokenizers and torch: pip install 'sentence-transformers>=6,<7' tokenizers torch."
        ) from error

    path = Path(path)
    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False
    )
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vocabulary = _tiny_vocabulary(texts, normalizer, pre_tokenizer)
    tokenizer = Tokenizer(models.WordPiece(vocabulary, unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tokenizer.decoder = decoders.WordPiece()
    max_length = 128
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=int(dim),
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * int(dim),
        max_position_embeddings=max_length,
    )
    bert = BertModel(config)
    with tempfile.TemporaryDirectory(prefix="tiny-bert-") as hf_dir:
        bert.save_pretrained(hf_dir)
        fast.save_pretrained(hf_dir)
        transformer = Transformer(hf_dir, max_seq_length=max_length)
        pooling = Pooling(int(dim), pooling_mode="mean")
        model = SentenceTransformer(modules=[transformer, pooling], device="cpu")
        path.mkdir(parents=True, exist_ok=True)
        model.save(str(path), create_model_card=False)
    return path


# --- a small themed Arabic corpus for topic-model tests --------------------------------------

#: Four themes of news vocabulary; documents mix one theme's words into shared templates.
TOPIC_THEMES: dict[str, str] = {
    "security": "هجوم تفجير مسلحين داعش الشرطة اعتقال عبوة ناسفة القوات الأمنية",
    "politics": "البرلمان الحكومة الانتخابات النواب الوزراء رئيس التصويت قانون الكتل السياسية",
    "economy": "النفط أسعار البرميل الموازنة الدولار الاستثمار الصادرات البنك المركزي التضخم",
    "sports": "فريق الدوري المباراة هدف الملعب المدرب اللاعبين البطولة الجماهير الزوراء",
}
_TOPIC_TEMPLATES = (
    "أعلنت مصادر أنّ {0} و{1} في {2} بعد {3}",
    "قال مسؤول إن {0} مع {1} وتوقعات {2} خلال {3}",
    "ذكرت وكالة Reuters أن {0} و{1} عام 2024 قرب {2} و{3}",
    "تحدّث الـــمراسل عن {0} و{1} و{2} في {3} ١٢",
)


def themed_corpus(n_per_theme: int = 30, seed: int = 0) -> tuple[list[str], list[str]]:
    """``(docs, labels)``: ``n_per_theme`` documents per theme of :data:`TOPIC_THEMES`, from
    templates with diacritics, tatweel, a Latin word and digits; deterministic for a seed."""
    import random

    rng = random.Random(seed)
    docs, labels = [], []
    for i in range(n_per_theme):
        for label, words in TOPIC_THEMES.items():
            picked = rng.sample(words.split(), 7)
            template = _TOPIC_TEMPLATES[i % len(_TOPIC_TEMPLATES)]
            docs.append(template.format(*picked[:4]) + " " + " ".join(picked[4:]))
            labels.append(label)
    return docs, labels


def topic_purity(topics: Sequence[int] | np.ndarray, labels: Sequence[str]) -> float:
    """Share of documents whose topic's majority label is their own (1.0: topics = themes)."""
    topics = np.asarray(topics)
    total = 0
    for topic in set(topics.tolist()):
        members = [lab for t, lab in zip(topics.tolist(), labels, strict=True) if t == topic]
        total += Counter(members).most_common(1)[0][1]
    return total / len(labels)


def build_head(name: str, **params: Any) -> Any:
    """The classifier head of the ``classifier=<name>`` config option, as the YAML builds it
    (the single source of its defaults), with ``params`` overriding its keys."""
    from arnews_ml.config import compose, instantiate

    cfg = compose("train", [f"classifier={name}"])
    node = {**cfg.classifier, **params}
    return instantiate(node, name="classifier")
