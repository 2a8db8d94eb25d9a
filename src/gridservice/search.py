"""Customer search for the dispatcher: account, meter, phone, name, pinyin, address.

A :class:`CustomerIndex` is built once per service area and answers a query
in milliseconds on a million customers, without a Python loop over them:

* exact and prefix matches on account numbers (``customer_id``), meter
  numbers, phones (and phone tails), names, full pinyin (``zhangsan``) and
  pinyin initials (``zs``) come from sorted fixed-width arrays and
  :func:`numpy.searchsorted`;
* partial matches inside names and addresses come from a character-bigram
  inverted index: the rarest bigrams of the query give a small candidate set
  that a vectorised ``str.contains`` confirms;
* when those find nothing, :func:`rapidfuzz.process.extract` scores the
  candidates that share a bigram with the query (typos, a wrong character).

Pinyin is computed per distinct character (a few thousand), then assembled
for every name with array operations.

A reader who may not see personal data searches with ``personal=False``:
only account and meter numbers and the address as that reader sees it
(:func:`~gridservice.privacy.mask_address`) are matched, so neither a hit
nor its ``match`` tells anything about a hidden name, phone or house number.

Examples
--------
>>> index = CustomerIndex.build(area.customers)  # doctest: +SKIP
>>> index.search("zhangs", limit=5)  # doctest: +SKIP
            score     match
customer_id
C0000123     75.0    pinyin
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from gridservice.io.derived import load_or_build
from gridservice.privacy import mask_address

#: Score of each way a customer can match, best first (ties: shorter key first).
SCORES: dict[str, float] = {
    "customer_id": 100.0,
    "meter_id": 100.0,
    "phone": 100.0,
    "name": 95.0,
    "pinyin": 92.0,
    "initials": 90.0,
    "customer_id_prefix": 85.0,
    "meter_id_prefix": 85.0,
    "phone_prefix": 80.0,
    "phone_suffix": 80.0,
    "name_prefix": 80.0,
    "pinyin_prefix": 75.0,
    "initials_prefix": 72.0,
    "name_partial": 70.0,
    "address_partial": 60.0,
}
#: Fuzzy scores are rapidfuzz scores (0–100) scaled into this ceiling.
FUZZY_CEILING = 55.0
#: A bigram present in more rows than this share is too common to narrow a search.
_COMMON_SHARE = 0.2
_SEP = "\u0001"
#: At most this many candidates per source are scored for near matches.
_FUZZY_POOL = 10_000
_MAX_CODEPOINT_BITS = 21
#: This module's code, in the key of a saved index: an index saved by other code is not loaded.
_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


@dataclass(frozen=True)
class _Sorted:
    """Keys sorted once, with the row each came from."""

    keys: np.ndarray  # fixed-width unicode, sorted
    rows: np.ndarray  # int64 row positions

    @classmethod
    def of(cls, values: pd.Series) -> _Sorted:
        text = _arrow(values)
        present = pc.fill_null(pc.greater(pc.utf8_length(text), 0), False)
        rows = np.flatnonzero(present.to_numpy(zero_copy_only=False))
        kept = text.take(pa.array(rows))
        # Arrow's stable sort of UTF-8 bytes is code point order, the order numpy's searchsorted needs.
        order = pc.sort_indices(kept).to_numpy()
        keys = kept.take(pa.array(order)).to_numpy(zero_copy_only=False).astype(str)
        return cls(keys, rows[order])

    def _range(self, q: str, *, prefix: bool) -> tuple[int, int]:
        # Needles must share the keys' width: a wider one would make numpy
        # cast the whole key array for every query.
        width = self.keys.dtype.itemsize // 4
        if len(q) > width or not len(self.keys):
            return 0, 0
        if not prefix or len(q) == width:
            lo, hi = np.searchsorted(self.keys, np.array([q, q], dtype=self.keys.dtype), side="left"), None
            hi = int(np.searchsorted(self.keys, np.array(q, dtype=self.keys.dtype), side="right"))
            return int(lo[0]), hi
        bounds = np.searchsorted(self.keys, np.array([q, q + "\U0010ffff"], dtype=self.keys.dtype))
        return int(bounds[0]), int(bounds[1])

    def exact(self, q: str) -> np.ndarray:
        lo, hi = self._range(q, prefix=False)
        return self.rows[lo:hi]

    def prefix(self, q: str, limit: int) -> np.ndarray:
        lo, hi = self._range(q, prefix=True)
        return self.rows[lo : min(hi, lo + limit)]


@dataclass(frozen=True)
class _Grams:
    """Inverted index: character n-gram (n = 1 or 2) → sorted row positions holding it."""

    n: int
    chars: np.ndarray  # code point → dense character id + 1 (0: absent)
    codes: np.ndarray  # int64, sorted unique n-gram codes
    starts: np.ndarray  # int64, offsets into ``rows`` (len(codes) + 1)
    rows: np.ndarray  # int64 row positions grouped by code, ascending
    n_rows: int

    @classmethod
    def of(cls, text: pd.Series, *, n: int = 2) -> _Grams:
        cps = codepoints(text)
        chars = np.zeros(0x110000, dtype=np.int64)
        chars[cps.ravel()] = 1
        chars[0] = 0
        chars = np.cumsum(chars) * (chars > 0)  # dense ids from 1; a table, not a sort
        ids = chars[cps]
        bits = max(int(chars.max()).bit_length(), 1)
        if n == 2:
            valid = ids[:, 1:] != 0 if ids.shape[1] > 1 else np.zeros((len(ids), 0), bool)
            grams = (ids[:, :-1] << bits) | ids[:, 1:]
        else:
            valid, grams = ids != 0, ids
        row_bits = max(len(text).bit_length(), 1)
        if n * bits + row_bits > 63:
            msg = f"too many distinct characters to index ({int(chars.max())})"
            raise ValueError(msg)
        rows = np.broadcast_to(np.arange(len(text), dtype=np.int64)[:, None], valid.shape)
        # One packed integer per (gram, row): a plain sort groups grams with rows
        # ascending (np.unique would hash, which is far slower here).
        packed = np.sort((grams[valid] << row_bits) | rows[valid])
        packed = packed[np.append(True, packed[1:] != packed[:-1])] if len(packed) else packed
        codes = packed >> row_bits
        first = np.flatnonzero(np.append(True, codes[1:] != codes[:-1])) if len(codes) else np.empty(0, np.int64)
        return cls(n, chars, codes[first], np.append(first, len(codes)).astype(np.int64),
                   packed & ((1 << row_bits) - 1), len(text))

    def _wanted(self, q: str, *, known_only: bool = False) -> np.ndarray | None:
        """Codes of the grams of ``q``; empty if one cannot occur (unless ``known_only``)."""
        if len(q) < self.n:
            return None
        cp = np.frombuffer(q.encode("utf-32-le"), dtype=np.uint32)
        ids = self.chars[cp]
        if self.n == 1:
            ok, grams = ids != 0, ids
        else:
            bits = max(int(self.chars.max()).bit_length(), 1)
            ok, grams = (ids[:-1] != 0) & (ids[1:] != 0), (ids[:-1] << bits) | ids[1:]
        if not ok.all() and not known_only:
            return np.empty(0, np.int64)
        return np.unique(grams[ok])

    def _lists(self, wanted: np.ndarray) -> list[np.ndarray] | None:
        """Posting lists of ``wanted`` grams, or ``None`` if one is absent."""
        if not len(wanted):
            return None
        pos = np.minimum(np.searchsorted(self.codes, wanted), max(len(self.codes) - 1, 0))
        if not len(self.codes) or not np.array_equal(self.codes[pos], wanted):
            return None
        return [self.rows[self.starts[p] : self.starts[p + 1]] for p in pos]

    def candidates(self, q: str) -> np.ndarray | None:
        """Rows holding every uncommon gram of ``q`` (``None``: ``q`` is shorter than a gram)."""
        wanted = self._wanted(q)
        if wanted is None:
            return None
        lists = self._lists(wanted)
        if lists is None:
            return np.empty(0, np.int64)
        lists.sort(key=len)
        rare = [p for p in lists if len(p) <= self.n_rows * _COMMON_SHARE] or lists[:1]
        out = rare[0]
        for p in rare[1:4]:
            out = np.intersect1d(out, p, assume_unique=True)
        return out

    def sharing(self, q: str, *, cap: int) -> np.ndarray:
        """Rows sharing at least one uncommon gram with ``q``, most shared first."""
        wanted = self._wanted(q, known_only=True)
        if wanted is None or not len(wanted) or not len(self.codes):
            return np.empty(0, np.int64)
        pos = np.minimum(np.searchsorted(self.codes, wanted), len(self.codes) - 1)
        pos = pos[self.codes[pos] == wanted]
        lists = [self.rows[self.starts[p] : self.starts[p + 1]] for p in pos]
        lists = [p for p in lists if len(p) <= self.n_rows * _COMMON_SHARE]
        if not lists:
            return np.empty(0, np.int64)
        rows, counts = np.unique(np.concatenate(lists), return_counts=True)
        return rows[np.argsort(-counts, kind="stable")[:cap]]


class _Hits:
    """The best score and match kind per row found so far (a page or two of rows)."""

    def __init__(self, *, want: int) -> None:
        self.want = want
        self.best: dict[int, tuple[float, str]] = {}

    def add(self, rows: np.ndarray, kind: str, *, score: float | None = None) -> None:
        value = SCORES[kind] if score is None else score
        label = kind.split("_prefix")[0].split("_partial")[0].split("_suffix")[0]
        for r in rows[: max(self.want * 2, self.want + 10)].tolist():
            if r not in self.best or self.best[r][0] < value:
                self.best[r] = (value, label)

    def enough(self, floor: float) -> bool:
        """Whether a page already outranks everything scoring at most ``floor``."""
        return sum(1 for s, _ in self.best.values() if s >= floor) >= self.want


def _one_chunk(text: pd.Series) -> pd.Series:
    """``text`` as one contiguous Arrow array with a RangeIndex.

    Frames read in batches hold many chunks, and taking a few thousand rows
    from a chunked array copies far more than those rows; candidate checks
    take rows on every query, so the index keeps one chunk.
    """
    return pd.Series(_arrow(text), dtype="str")


def _arrow(text: pd.Series) -> pa.StringArray:
    """``text`` as one Arrow string array (pyarrow gets the bare array: asking a Series for
    ``__arrow_array__`` makes pandas look the name up in its index)."""
    return pa.array(text.array, type=pa.string())


def codepoints(text: pd.Series) -> np.ndarray:
    """A ``(rows, max_len)`` uint32 matrix of code points, zero-padded."""
    values = text.fillna("").to_numpy(dtype=object).astype(str)
    width = max(int(np.char.str_len(values).max()) if len(values) else 1, 1)
    fixed = values.astype(f"<U{width}")
    return fixed.view(np.uint32).reshape(len(values), width)


def pinyin(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Full lowercase pinyin (``zhangsan``) and initials (``zs``) of every value.

    Each distinct character is converted once with pypinyin; the strings are
    then assembled column by column, so the cost does not grow with a Python
    loop over rows. Characters that are not Chinese are kept, lowercased.
    """
    cps = codepoints(text)
    present = np.zeros(0x110000, dtype=bool)  # a table over code points, not a sort
    present[cps.ravel()] = True
    present[0] = True
    uniq = np.flatnonzero(present)
    inverse = (np.cumsum(present) - 1)[cps]  # uniq[inverse] == cps
    from pypinyin import lazy_pinyin  # its phrase tables take a third of a second to import

    full_of = [(lazy_pinyin(chr(c))[0] if c else "").lower() for c in uniq.tolist()]
    first_of = pa.array([s[:1] for s in full_of], type=pa.string())
    full_of = pa.array(full_of, type=pa.string())

    def joined(of: pa.StringArray) -> pd.Series:
        columns = [of.take(pa.array(inverse[:, j])) for j in range(cps.shape[1])]
        return pd.Series(pc.binary_join_element_wise(*columns, ""), index=text.index, dtype="str")

    return joined(full_of), joined(first_of)


def normalise(query: str) -> str:
    """Lowercase, without spaces and dashes (``138 1234-5678`` → ``13812345678``)."""
    return "".join(query.split()).replace("-", "").lower()


#: The columns of ``customers`` the index reads, besides the ids.
COLUMNS = ("name", "address", "phone", "meter_id")


def _text(customers: pd.DataFrame, column: str) -> pd.Series:
    """A column the index reads, as it reads it (text; all missing when the frame has no such column)."""
    if column not in customers.columns:
        return pd.Series(pd.NA, index=customers.index, dtype="str")
    return customers[column].astype("str")


def fingerprint(customers: pd.DataFrame) -> str:
    """A digest of what :class:`CustomerIndex` reads of ``customers``: the ids and :data:`COLUMNS`.

    Equal exactly when an index built from the two frames would be the same; hashes the text's Arrow
    buffers (a fraction of a second on a million customers).
    """
    h = hashlib.blake2b(digest_size=20)
    ids = pd.Series(customers.index.to_numpy(dtype=object).astype(str), dtype="str")
    for name, text in (("customer_id", ids), *((c, _text(customers, c)) for c in COLUMNS)):
        arr = _arrow(text)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        offsets, data = arr.buffers()[1:]
        ends = np.frombuffer(offsets, dtype=np.int32, count=arr.offset + len(arr) + 1)[arr.offset :]
        h.update(f"{name}:{len(arr)}:".encode())
        h.update((ends - ends[0]).tobytes())
        h.update(memoryview(data)[ends[0] : ends[-1]] if data is not None else b"")
        h.update(np.packbits(arr.is_null().to_numpy(zero_copy_only=False)).tobytes())
    return h.hexdigest()


class CustomerIndex:
    """Search structures over the customers of one service area.

    Build with :meth:`build` (seconds on a million customers), then call
    :meth:`search` as often as needed; the index never changes.
    """

    def __init__(self, customers: pd.DataFrame) -> None:
        self.ids = customers.index.to_numpy(dtype=object).astype(str)
        names, address, phone, meter = (_text(customers, c) for c in COLUMNS)
        #: What a hit shows, kept in one chunk each so that a page is cheap to gather.
        self.shown = {"name": _one_chunk(names), "address": _one_chunk(address), "phone": _one_chunk(phone),
                      "meter_id": _one_chunk(meter)}
        self.names = _one_chunk(names.fillna(""))
        self.address = _one_chunk(address.fillna("").str.lower())
        self.address_masked = _one_chunk(mask_address(address).fillna("").str.lower())
        digits = pd.Series(pc.replace_substring_regex(_arrow(phone), r"\D", ""), dtype="str")
        full, initials = pinyin(self.names)
        self.pinyin = _one_chunk(full)
        self._sorted = {
            "customer_id": _Sorted.of(pd.Series(self.ids, dtype="str").str.lower()),
            "meter_id": _Sorted.of(meter.str.lower().reset_index(drop=True)),
            "phone": _Sorted.of(digits),
            "phone_reversed": _Sorted.of(pd.Series(pc.utf8_reverse(_arrow(digits)), dtype="str")),
            "name": _Sorted.of(self.names.str.lower()),
            "pinyin": _Sorted.of(self.pinyin),
            "initials": _Sorted.of(initials.reset_index(drop=True)),
        }
        self._bigrams = _Grams.of(self.names.str.lower() + _SEP + self.address, n=2)
        self._name_chars = _Grams.of(self.names.str.lower(), n=1)

    @classmethod
    def build(cls, customers: pd.DataFrame) -> CustomerIndex:
        """Index ``customers`` (indexed by ``customer_id``)."""
        return cls(customers)

    @classmethod
    def saved(cls, customers: pd.DataFrame, fingerprint: str, root: Path | None) -> CustomerIndex:
        """:meth:`build`, or the index saved in ``root`` for the same :func:`fingerprint` of ``customers``
        by this code: a start loads it (memory-mapped) instead of building it (:mod:`gridservice.io.derived`)."""
        digest = hashlib.sha256(f"{fingerprint}:{_CODE}".encode()).hexdigest()[:40]
        return load_or_build(root, "customer_index", digest, lambda: cls.build(customers),
                             classes=(cls, _Sorted, _Grams))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, *, limit: int = 20, offset: int = 0, fuzzy: bool = True,
               personal: bool = True) -> pd.DataFrame:
        """Customers matching ``query``, best first.

        Parameters
        ----------
        query
            An account number, meter number, phone (or its last digits), a
            name in characters, full pinyin or initials, or part of a name or
            an address.
        limit, offset
            The page of results.
        fuzzy
            Look for near matches (typos) when nothing matches as typed.
        personal
            Match names, pinyin, phones and whole addresses too; ``False``
            matches only account and meter numbers and masked addresses.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``customer_id``: ``score`` (0–100), ``match`` (which
            field matched: customer_id, meter_id, phone, name, pinyin,
            initials, address or fuzzy), ``row`` (position in the indexed
            frame) and the customer's ``name``, ``address``, ``phone`` and
            ``meter_id``.
        """
        q = normalise(query)
        hits = _Hits(want=limit + offset)
        if q and personal:
            self._stages(q, hits, fuzzy=fuzzy)
        elif q:
            self._public_stages(q, hits)
        return self._page(hits, limit=limit, offset=offset)

    def _stages(self, q: str, hits: _Hits, *, fuzzy: bool) -> None:
        s, want = self._sorted, hits.want * 2
        digits = q.isdigit()
        pinyin_like = q.isascii() and q.isalpha()
        for kind in ("customer_id", "meter_id", "phone", "name", "pinyin", "initials"):
            if (kind == "phone" and not digits) or (kind in ("pinyin", "initials") and not pinyin_like):
                continue
            hits.add(s[kind].exact(q), kind)
        if hits.enough(SCORES["customer_id_prefix"]):
            return
        hits.add(s["customer_id"].prefix(q, want), "customer_id_prefix")
        hits.add(s["meter_id"].prefix(q, want), "meter_id_prefix")
        if digits and len(q) >= 3:
            hits.add(s["phone"].prefix(q, want), "phone_prefix")
            if len(q) >= 4:
                hits.add(s["phone_reversed"].prefix(q[::-1], want), "phone_suffix")
        hits.add(s["name"].prefix(q, want), "name_prefix")
        if pinyin_like:
            hits.add(s["pinyin"].prefix(q, want), "pinyin_prefix")
            hits.add(s["initials"].prefix(q, want), "initials_prefix")
        if hits.enough(SCORES["name_partial"]):
            return
        self._partial(q, hits)
        if fuzzy and not digits and not hits.best:
            # Near matches only when nothing matched as typed: a typo, a wrong character.
            self._fuzzy(q, hits)

    def _public_stages(self, q: str, hits: _Hits) -> None:
        """What a reader without access to personal data may match: ids and the masked address."""
        s, want = self._sorted, hits.want * 2
        for kind in ("customer_id", "meter_id"):
            hits.add(s[kind].exact(q), kind)
        if hits.enough(SCORES["customer_id_prefix"]):
            return
        hits.add(s["customer_id"].prefix(q, want), "customer_id_prefix")
        hits.add(s["meter_id"].prefix(q, want), "meter_id_prefix")
        cand = self._bigrams.candidates(q)  # rows whose name or whole address hold q's bigrams: a superset
        if cand is None or hits.enough(SCORES["name_partial"]):
            return
        step = max(hits.want * 50, 5000)
        found = 0
        for start in range(0, len(cand), step):
            chunk = cand[start : start + step]
            in_addr = self.address_masked.iloc[chunk].str.contains(q, regex=False).to_numpy()
            hits.add(chunk[in_addr], "address_partial")
            found += int(in_addr.sum())
            if found >= hits.want:
                break

    def _partial(self, q: str, hits: _Hits) -> None:
        cand = self._bigrams.candidates(q)
        if cand is None:  # one character: the names holding it
            single = self._name_chars.candidates(q)
            hits.add(single if single is not None else np.empty(0, np.int64), "name_partial")
            return
        # Confirm in chunks so that a very common fragment stops after a page.
        step = max(hits.want * 50, 5000)
        found = 0
        for start in range(0, len(cand), step):
            chunk = cand[start : start + step]
            in_name = self.names.iloc[chunk].str.lower().str.contains(q, regex=False).to_numpy()
            in_addr = self.address.iloc[chunk].str.contains(q, regex=False).to_numpy()
            hits.add(chunk[in_name], "name_partial")
            hits.add(chunk[in_addr & ~in_name], "address_partial")
            found += int((in_name | in_addr).sum())
            if found >= hits.want:
                break

    def _fuzzy(self, q: str, hits: _Hits) -> None:
        pool = self._bigrams.sharing(q, cap=_FUZZY_POOL)
        if not q.isascii():
            pool = np.union1d(pool, self._name_chars.sharing(q, cap=_FUZZY_POOL))
        if q.isascii():
            # A mistyped pinyin: compare with the pinyin of names that start alike.
            pool = np.union1d(pool, self._sorted["pinyin"].prefix(q[:2], _FUZZY_POOL))
            choices = self.pinyin.iloc[pool].tolist()
        else:
            choices = self.names.iloc[pool].tolist()
        if not choices:
            return
        found = process.extract(q, choices, scorer=fuzz.WRatio, limit=hits.want, score_cutoff=60)
        for _choice, score, i in found:
            hits.add(pool[i : i + 1], "fuzzy", score=round(FUZZY_CEILING * score / 100.0, 2))

    def _page(self, found: _Hits, *, limit: int, offset: int) -> pd.DataFrame:
        hits = found.best
        rows = np.fromiter(hits.keys(), dtype=np.int64, count=len(hits))
        scores = np.fromiter((v[0] for v in hits.values()), dtype="float64", count=len(hits))
        kinds = np.array([v[1] for v in hits.values()], dtype=object)
        # Best score first, ties by account number; only the page's rows are gathered.
        order = np.lexsort((self.ids[rows], -scores))[offset : offset + limit]
        page = rows[order]
        columns: dict[str, object] = {"score": scores[order], "match": pd.array(kinds[order], dtype="str"),
                                      "row": page}
        for col, values in self.shown.items():
            columns[col] = values.iloc[page].to_numpy()
        index = pd.Index(self.ids[page], name="customer_id", dtype="str")
        return pd.DataFrame(columns, index=index)
