"""Documents and ratings into chunks: one per section, split by size with LangChain's text splitter."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistant.domain.documents import Chunk, ChunkKind, Document
from assistant.domain.features import FeatureMatrix, feature_cell_text, feature_ref
from assistant.domain.ratings import Ratings, capability_ref, rating_ref
from assistant.domain.text import plain, sentence_spans
from assistant.domain.vocabulary import Dimension, Mode

RATINGS_DOC_ID = "ratings"
FEATURES_DOC_ID = "features"
# Separators stay at the end of the piece before them, so a piece never starts with ". " or ends with "- ".
_SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]


@dataclass(frozen=True, slots=True)
class ChunkSpec:
    """A chunk ready to embed: its sentences, and a title/section header that gives them their context."""

    chunk: Chunk
    source_urls: tuple[str, ...]
    header: str
    spans: tuple[tuple[int, int], ...]  # sentence spans in chunk.text
    content_hash: str

    @property
    def text_with_header(self) -> str:
        return self.header + self.chunk.text

    @property
    def sentences(self) -> list[str]:
        """The sentences as they are embedded and shown: markdown removed."""
        return [plain(self.chunk.text[start:end]) for start, end in self.spans]


def header_for(title: str, section: str) -> str:
    return f"{title} — {section}\n" if section else f"{title}\n"


def make_chunks(
    documents: Iterable[Document],
    ratings: Ratings | None,
    *,
    token_count: Callable[[str], int],
    chunk_tokens: int,
    chunk_overlap: int,
    model_id: str,
) -> list[ChunkSpec]:
    specs: list[ChunkSpec] = []
    for document in documents:
        specs.extend(_document_chunks(document, token_count, chunk_tokens, chunk_overlap, model_id))
    if ratings is not None:
        specs.extend(_ratings_chunks(ratings, model_id))
    return specs


def _document_chunks(
    document: Document,
    token_count: Callable[[str], int],
    chunk_tokens: int,
    chunk_overlap: int,
    model_id: str,
) -> Iterable[ChunkSpec]:
    # imported here: the splitter (and the langchain-core it brings) is for index builds, never for serving
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    used: set[str] = set()
    for section in document.sections:
        header = header_for(document.title, section.path)
        budget = max(chunk_tokens - token_count(header), 32)
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=budget,
            chunk_overlap=min(chunk_overlap, budget // 4),
            length_function=token_count,
            separators=_SEPARATORS,
            keep_separator="end",
        )
        pieces = [section.text] if token_count(section.text) <= budget else splitter.split_text(section.text)
        for piece in pieces:
            text = piece.strip()
            if not text:
                continue
            content_hash = _hash(model_id, header, text)
            chunk_id = f"{document.id}#{content_hash[:16]}"
            if chunk_id in used:  # the same text twice in one document: keep ids unique and stable
                chunk_id = f"{chunk_id}-{len(used)}"
            used.add(chunk_id)
            chunk = Chunk(
                id=chunk_id,
                doc_id=document.id,
                title=document.title,
                section=section.path,
                modes=section.modes,
                source_url=section.source_urls[0] if section.source_urls else "",
                as_of=document.as_of,
                text=text,
                kind=document.kind,
            )
            yield _spec(chunk, section.source_urls, header, content_hash)


def _ratings_chunks(ratings: Ratings, model_id: str) -> Iterable[ChunkSpec]:
    """Each rating rationale and capability fact becomes a citable chunk whose id the rule layer uses."""
    as_of = ratings.as_of.isoformat()
    for mode in Mode:
        for dimension in Dimension:
            rating = ratings.rating(mode, dimension)
            label = ratings.dimensions[dimension].label
            title = f"Ratings: {mode.label}"
            text = f"{mode.label} mode is rated {rating.score} out of 5 for {label.lower()}. {rating.rationale}"
            chunk = Chunk(
                id=rating_ref(mode, dimension),
                doc_id=RATINGS_DOC_ID,
                title=title,
                section=label,
                modes=(mode,),
                source_url=rating.source.url,
                as_of=as_of,
                text=text,
                kind=ChunkKind.RATING,
            )
            header = header_for(title, label)
            yield _spec(chunk, (rating.source.url,), header, _hash(model_id, header, text))
    for name, capability in ratings.capabilities.items():
        for mode, fact in capability.modes.items():
            title = f"Capabilities: {capability.label}"
            text = (
                f"{capability.label} with {mode.label} mode: {fact.status.value} "
                f"(as of {fact.date.isoformat()}). {fact.note}"
            )
            chunk = Chunk(
                id=capability_ref(name, mode),
                doc_id=RATINGS_DOC_ID,
                title=title,
                section=mode.label,
                modes=(mode,),
                source_url=fact.source.url,
                as_of=fact.date.isoformat(),
                text=text,
                kind=ChunkKind.CAPABILITY,
            )
            header = header_for(title, mode.label)
            yield _spec(chunk, (fact.source.url,), header, _hash(model_id, header, text))
    if ratings.features is not None:
        yield from _feature_chunks(ratings.features, model_id)


def _feature_chunks(matrix: FeatureMatrix, model_id: str) -> Iterable[ChunkSpec]:
    """Each cell of the feature matrix becomes a citable chunk whose id the rule layer and polar answers use."""
    for name, feature in matrix.features.items():
        for mode, cell in feature.modes.items():
            title = f"Features: {feature.label}"
            text = feature_cell_text(feature, mode)
            chunk = Chunk(
                id=feature_ref(name, mode),
                doc_id=FEATURES_DOC_ID,
                title=title,
                section=mode.label,
                modes=(mode,),
                source_url=cell.source,
                as_of=cell.read.isoformat(),
                text=text,
                kind=ChunkKind.FEATURE,
            )
            header = header_for(title, mode.label)
            yield _spec(chunk, (cell.source,), header, _hash(model_id, header, text))


def _spec(chunk: Chunk, source_urls: tuple[str, ...], header: str, content_hash: str) -> ChunkSpec:
    return ChunkSpec(
        chunk=chunk,
        source_urls=source_urls,
        header=header,
        spans=tuple(sentence_spans(chunk.text)) or ((0, len(chunk.text)),),
        content_hash=content_hash,
    )


def _hash(model_id: str, header: str, text: str) -> str:
    """Everything a chunk's vectors depend on: the model, the header, the text and its sentence boundaries."""
    sentences = ",".join(f"{start}:{end}" for start, end in sentence_spans(text))
    return hashlib.sha256(f"{model_id}\0{header}\0{text}\0{sentences}".encode()).hexdigest()
