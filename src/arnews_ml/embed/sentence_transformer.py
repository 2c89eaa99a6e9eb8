"""Dense embeddings from any sentence-transformers model, by hub name or local folder, offline-safe."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arnews_ml.embed.base import EmbedderSpec, read_entry_files
from arnews_ml.exceptions import ArtifactError, ConfigError, DataError, DependencyError

__all__ = [
    "MODEL_DIR",
    "UNKNOWN_REVISION",
    "SentenceTransformerEmbedder",
    "folder_content_hash",
    "resolve_prefix",
]

logger = logging.getLogger(__name__)

#: Folder (inside the directory given to ``save``) that holds the saved model files.
MODEL_DIR = "sentence_transformer"
_KIND = "sentence_transformer"
#: Revision recorded when a hub model's commit cannot be determined; such specs are not cached.
UNKNOWN_REVISION = "unknown"
_COMMIT = re.compile(r"[0-9a-f]{40}")
_INSTALL_HINT = (
    "sentence-transformers (and torch) are needed for the sentence_transformer embedder: "
    "pip install 'sentence-transformers>=3,<7' torch, or use embedder=tfidf."
)


def resolve_prefix(model: str, prefix: str | None) -> str:
    """The text prepended to every input before encoding.

    Args:
        model: Hub id or local path of the model.
        prefix: ``None`` or ``"auto"``: ``"query: "`` when the model's name (last path part) has an
            ``e5`` part, e.g. ``intfloat/multilingual-e5-small``, else ``""``. Any other string is
            used as given (``""`` for none).

    Returns:
        The prefix string.
    """
    if prefix is not None and prefix != "auto":
        return prefix
    name = re.split(r"[\\/]", model.rstrip("/\\"))[-1].lower()
    return "query: " if "e5" in re.split(r"[-_. ]", name) else ""


def folder_content_hash(folder: str | Path) -> str:
    """``"sha256:<hex>"`` over the relative paths and bytes of every file under ``folder``.

    Hidden files and folders (e.g. ``.cache``, ``.git``) are skipped. The hash changes when any
    weight, tokenizer or config file changes, so cache keys follow the model's content.
    """
    root = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        digest.update(rel.as_posix().encode("utf-8") + b"\0")
        file_digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                file_digest.update(block)
        digest.update(file_digest.digest())
    return f"sha256:{digest.hexdigest()}"


def _hub_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (OSError, ValueError)
    try:
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError:
        return errors
    return (*errors, EntryNotFoundError)


def _hub_commit(model: str, revision: str | None) -> str | None:
    """Commit hash of a hub model in the local HF cache (no network), or ``None``."""
    if revision is not None and _COMMIT.fullmatch(revision):
        return revision
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    candidates = [model] if "/" in model else [f"sentence-transformers/{model}", model]
    for repo_id in candidates:
        try:
            path = snapshot_download(repo_id, revision=revision, local_files_only=True)
        except _hub_errors():
            continue
        name = Path(path).name
        if _COMMIT.fullmatch(name):
            return name
    return None


def _offline_message(model: str, error: BaseException) -> str:
    safe = model.replace("/", "__")
    text = (
        f"Could not load sentence-transformers model '{model}' (offline or not cached). "
        'Download it on a machine with internet (`python -c "from sentence_transformers import '
        f"SentenceTransformer; SentenceTransformer('{model}').save('models/{safe}')\"`), copy "
        f"the folder here and set embedder.model=models/{safe}; or set HF_HUB_OFFLINE=0 with "
        f"network access."
    )
    if "/" in model and not model.startswith(("http:", "https:")):
        text += (
            f" If '{model}' is meant to be a local folder: it does not exist relative to "
            f"{Path.cwd()}; give an absolute path."
        )
    return f"{text} (cause: {type(error).__name__}: {error})"


class SentenceTransformerEmbedder:
    """Embed texts with a sentence-transformers model (hub name or local folder).

    Multilingual and Arabic models are typical: ``paraphrase-multilingual-MiniLM-L12-v2``,
    ``intfloat/multilingual-e5-small`` (needs its ``"query: "`` prefix, applied by
    ``prefix="auto"``), ``sentence-transformers/LaBSE``. A local folder loads fully offline; a hub
    name that is not cached offline raises :class:`DependencyError` saying how to provide it.
    sentence-transformers and torch are imported only when the model is first needed.

    Args:
        model: Hub id or path to a saved sentence-transformers folder.
        batch_size: Texts per forward pass (does not change the vectors).
        normalize_embeddings: L2-normalise each vector (cosine = dot product).
        max_seq_length: Truncate inputs to this many tokens; ``None`` keeps the model's default.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; ``None`` picks cuda when available.
        prefix: Text prepended to every input; ``None``/``"auto"`` see :func:`resolve_prefix`.
        revision: Hub revision (branch, tag or commit) to load; ignored for local folders.
        show_progress_bar: Show a progress bar while encoding.
        trust_remote_code: Allow the model's own code (only for models you trust).
    """

    def __init__(
        self,
        model: str,
        batch_size: int = 32,
        normalize_embeddings: bool = True,
        max_seq_length: int | None = None,
        device: str | None = None,
        prefix: str | None = None,
        revision: str | None = None,
        show_progress_bar: bool = True,
        trust_remote_code: bool = False,
    ) -> None:
        if not isinstance(model, str | Path) or not str(model):
            raise ConfigError(
                f"embedder.model must be a hub id or a local folder; got {model!r}. "
                "Set e.g. embedder.model=sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2."
            )
        if int(batch_size) < 1:
            raise ConfigError(f"embedder.batch_size must be >= 1; got {batch_size}.")
        if max_seq_length is not None and int(max_seq_length) < 1:
            raise ConfigError(
                f"embedder.max_seq_length must be >= 1 or null; got {max_seq_length}."
            )
        self.model = str(model)
        self.batch_size = int(batch_size)
        self.normalize_embeddings = bool(normalize_embeddings)
        self.max_seq_length = None if max_seq_length is None else int(max_seq_length)
        self.device = device
        self.prefix = prefix
        self.revision = revision
        self.show_progress_bar = bool(show_progress_bar)
        self.trust_remote_code = bool(trust_remote_code)
        self._model: Any = None
        self._spec: EmbedderSpec | None = None

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder(model={self.model!r}, prefix={self.resolved_prefix!r})"

    def __getstate__(self) -> dict[str, Any]:
        # The loaded torch model is rebuilt lazily after unpickling (e.g. in worker processes).
        state = dict(self.__dict__)
        state["_model"] = None
        return state

    @property
    def local_path(self) -> Path | None:
        """The model folder when ``model`` names an existing local folder, else ``None``."""
        path = Path(self.model).expanduser()
        return path.resolve() if path.is_dir() else None

    @property
    def resolved_prefix(self) -> str:
        """The prefix actually prepended (see :func:`resolve_prefix`)."""
        return resolve_prefix(self.model, self.prefix)

    @property
    def spec(self) -> EmbedderSpec:
        """Model id or resolved path, revision and the options that change the vectors.

        Revision: for a local folder its content hash (:func:`folder_content_hash`); for a hub id
        the commit of the snapshot in the local Hugging Face cache (the model is loaded first when
        it is not cached yet; offline that raises :class:`DependencyError`), else the given
        ``revision``, else ``"unknown"`` (then nothing is cached). Options:
        ``normalize_embeddings``, ``max_seq_length``, ``prefix`` (resolved); batch size, device and
        progress bar are not part of it. Computed once.
        """
        if self._spec is None:
            local = self.local_path
            if local is not None:
                model, revision = str(local), folder_content_hash(local)
            else:
                model = self.model
                commit = _hub_commit(self.model, self.revision)
                if commit is None:
                    self.load_model()  # downloads it when online; explains what to do offline
                    commit = _hub_commit(self.model, self.revision)
                revision = commit or self.revision or UNKNOWN_REVISION
            self._spec = EmbedderSpec(
                kind=_KIND,
                model=model,
                revision=revision,
                options={
                    "normalize_embeddings": self.normalize_embeddings,
                    "max_seq_length": self.max_seq_length,
                    "prefix": self.resolved_prefix,
                },
            )
        return self._spec

    @property
    def cacheable(self) -> bool:
        """True unless the model's revision is unknown (its vectors could change unnoticed)."""
        return self.spec.revision != UNKNOWN_REVISION

    def _resolve_device(self) -> str:
        if self.device is not None:
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def load_model(self) -> Any:
        """The underlying ``SentenceTransformer`` (loaded on first call).

        Raises:
            DependencyError: sentence-transformers is missing, or the model is not available
                offline (the message says how to provide it).
        """
        if self._model is not None:
            return self._model
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise DependencyError(_INSTALL_HINT) from error
        device = self._resolve_device()
        local = self.local_path
        kwargs: dict[str, Any] = {"device": device, "trust_remote_code": self.trust_remote_code}
        if local is not None:
            try:
                model = SentenceTransformer(str(local), local_files_only=True, **kwargs)
            except _hub_errors() as error:
                raise DependencyError(
                    f"The folder {local} (embedder.model) is not a loadable sentence-transformers "
                    f"model ({type(error).__name__}: {error}). Save one there with "
                    "SentenceTransformer(...).save(folder)."
                ) from error
        else:
            commit = _hub_commit(self.model, self.revision)
            if commit is not None:
                # The cached snapshot that the spec names: no network, weights match the spec.
                kwargs.update(revision=commit, local_files_only=True)
            else:
                kwargs.update(revision=self.revision)
            try:
                model = SentenceTransformer(self.model, **kwargs)
            except _hub_errors() as error:
                raise DependencyError(_offline_message(self.model, error)) from error
        if self.max_seq_length is not None:
            model.max_seq_length = self.max_seq_length
        logger.info(
            "sentence_transformer loaded model=%s device=%s max_seq_length=%s",
            self.model,
            device,
            model.max_seq_length,
        )
        self._model = model
        return model

    @property
    def dim(self) -> int:
        """Embedding dimension (loads the model)."""
        model = self.load_model()
        getter = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        dim = getter()
        if dim is None:
            dim = int(self.encode(["dim"]).shape[1])
        return int(dim)

    def fit(self, texts: Sequence[str]) -> SentenceTransformerEmbedder:
        """No-op (pretrained model); returns self."""
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Args:
            texts: Texts to embed (the prefix is prepended to each).

        Returns:
            float32 array of shape (len(texts), dim); rows have unit norm when
            ``normalize_embeddings``.

        Raises:
            DataError: A text is not a str (e.g. a missing value read as NaN).
        """
        texts = list(texts)
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(
                    f"Text {row} to embed is a {type(text).__name__} ({text!r:.40}), not a str. "
                    "Fill or drop missing texts before embedding."
                )
        prefix = self.resolved_prefix
        inputs = [prefix + text for text in texts]
        if not inputs:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.load_model().encode(
            inputs,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress_bar,
            normalize_embeddings=self.normalize_embeddings,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def save(self, directory: str | Path) -> dict[str, Any]:
        """Save the model files into ``directory/sentence_transformer`` (hub models too), so the
        bundle always loads offline.

        Returns:
            Manifest entry ``{"kind", "files", "spec", "model_dir", "offline": True, "source",
            "batch_size"}``; ``spec`` is this embedder's spec (the original hub id/revision), kept
            on load so cache keys and params stay the same.
        """
        directory = Path(directory)
        target = directory / MODEL_DIR
        target.mkdir(parents=True, exist_ok=True)
        self.load_model().save(str(target), create_model_card=False)
        files = sorted(
            p.relative_to(directory).as_posix() for p in target.rglob("*") if p.is_file()
        )
        return {
            "kind": _KIND,
            "files": files,
            "spec": self.spec.to_dict(),
            "model_dir": MODEL_DIR,
            "offline": True,
            "source": self.model,
            "batch_size": self.batch_size,
        }

    @classmethod
    def load(
        cls, directory: str | Path, entry: Mapping[str, Any], **runtime: Any
    ) -> SentenceTransformerEmbedder:
        """Rebuild from :meth:`save` output; ``runtime`` may set batch_size, device, progress bar."""
        directory = Path(directory)
        read_entry_files(directory, entry)
        folder = directory / str(entry.get("model_dir", MODEL_DIR))
        if not folder.is_dir():
            raise ArtifactError(
                f"The sentence-transformers folder {folder} is missing from the bundle; copy the "
                "whole bundle folder or re-save the model."
            )
        spec = EmbedderSpec.from_dict(entry["spec"])
        options = spec.options_dict
        runtime.setdefault("batch_size", int(entry.get("batch_size", 32)))
        embedder = cls(
            model=str(folder),
            normalize_embeddings=bool(options.get("normalize_embeddings", True)),
            max_seq_length=options.get("max_seq_length"),
            prefix=str(options.get("prefix", "")),
            **runtime,
        )
        embedder._spec = spec
        return embedder
