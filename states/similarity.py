"""Near-duplicate detection for request descriptions (MinHash + LSH), pure functions, no database.

Two uses: on intake, find the same applicant's earlier requests for the same information
(candidates for ``not_processed_repeat``, 重复申请, Art 36(6)); across applicants, find clusters of
similar requests (candidates for proactive disclosure, Art 44). Both only *propose*: a person decides.

A text becomes a set of shingles (``shingles``), the set a MinHash ``signature`` of NUM_PERM uint32
slots, the signature BANDS ``band_keys`` (LSH). Requests sharing a band key are candidates; a candidate
is similar when ``estimate`` (or, with both texts at hand, ``jaccard``) is >= THRESHOLD.

Parameters, measured on the labelled corpus of tests/test_similarity.py: 89 texts, 3916 pairs, of
them 52 "same request" (repeat), 53 "same kind" (another year, number, date or place) and 3811
unrelated; parameters chosen on the first 54 texts, the other 35 held out (all right at THRESHOLD).

* SHINGLE = 2, character bigrams. Unigrams separate repeats as well but let unrelated requests share
  vocabulary (unrelated pairs up to J=0.53 against 0.35, so LSH would make most pairs candidates);
  trigrams and jieba words split rewordings (worst repeat J=0.57 and 0.54 against 0.62; best F1 0.97
  against 0.98). jieba would also cost ~0.9 s to load and a 20 MB dictionary, so no jieba.
* Boilerplate every request carries (申请公开, 本人, 您好, 谢谢, 依据《政府信息公开条例》, 的 …) is
  dropped: with it, rewordings of one request fall to J=0.43 and recall at THRESHOLD to 0.77.
* Keys weigh more. Numbers (a date is one key, 〔2024〕58号 one key) and places (the two characters
  before 路/街道/村/镇/小区 …) are added KEY_WEIGHT x (number of bigrams) times each, after Chinese
  years (二〇二四年) and ordinals (第三季度) are made digits. Without keys the 2024 budget and the
  2025 budget are J=0.76 apart and same-kind pairs reach 0.89 (precision 0.55 at THRESHOLD); digits
  alone leave 东湖路 vs 西湖路 at 0.91. With both, same-kind pairs are 0.00-0.66 (median 0.53),
  repeats 0.62-1.00 (median 0.89), unrelated <= 0.35. KEY_WEIGHT 0.25/0.35/0.5 all give F1 ~0.98;
  0.35 was chosen on the tuning set (0.5 raises unrelated pairs that share a year).
* THRESHOLD = 0.65: precision 0.96, recall 0.96 (exact J); the two errors each way are one request
  with and without its town (XX镇李家村 vs 李家村, J=0.62) and two villages (李家村 vs 张家村, J=0.66).
  CLUSTER_THRESHOLD = 0.4 (Art 44, same kind): precision 1.00, recall 0.91; no unrelated pair reaches it.
* NUM_PERM = 128: the estimate's error is unbiased, rms 0.040 for 0.3 <= J <= 0.9 (64: 0.056,
  256: 0.028); averaged over 30 seeds, precision 0.96 / recall 0.97 at THRESHOLD. Near the threshold
  confirm with ``jaccard`` when both texts are at hand.
* BANDS x ROWS = 32 x 4: P(candidate) = 1-(1-s^4)^32 = 0.003 at s=0.1, 0.05 at 0.2, 0.23 at 0.3,
  0.56 at 0.4, 0.87 at 0.5, 0.988 at 0.6, 0.998 at 0.65, 0.9998 at 0.7. Measured: every repeat, 81 %
  of same-kind pairs, 0.3 % of unrelated pairs are candidates. (16 x 8 would miss 6 % of repeats.)
* Hash: zlib.crc32 of the UTF-8 shingle, which datasketch's affine32 scheme pre-mixes with the
  MurmurHash3 finalizer: as accurate as SHA-1 (rms 0.040 both, bias < 0.001), twice as fast.
  ``signature`` takes ~0.04 ms for 20 characters, ~0.065 ms for 100, ~90 ms for 100,000.

Signatures depend on every choice above: store VERSION with them and recompute all when it changes.
The MinHash is datasketch 2.x's affine32 scheme computed with numpy alone (datasketch's import pulls
scipy and more: +78 MB); numpy is imported on the first ``signature`` call, not with this module.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
import zlib

VERSION = 1  # bump on any change that alters shingles or signatures; stored signatures are then stale
NUM_PERM = 128
BANDS = 32
ROWS = 4
SHINGLE = 2
THRESHOLD = 0.65
# The same kind of request (another year, number, place). Measured, but the Art 44 groups use
# THRESHOLD: chained at this one, a village's requests of one year became one group.
CLUSTER_THRESHOLD = 0.4
KEY_WEIGHT = 0.35
SEED = 1
SIGNATURE_BYTES = 4 * NUM_PERM
assert BANDS * ROWS == NUM_PERM

# Longest first, so the law's full title goes before its short one.
_BOILERPLATE = sorted(
    [
        "中华人民共和国政府信息公开条例", "政府信息公开条例", "依据", "根据", "申请公开", "请求公开", "要求公开",
        "申请获取", "请公开", "本人", "我想", "我家", "您好", "谢谢", "此致", "敬礼", "的", "情况", "相关", "有关",
    ],
    key=len,
    reverse=True,
)
_BOILERPLATE_RE = re.compile("|".join(_BOILERPLATE))
_NON_WORD = re.compile(r"[\W_]+")  # keeps letters and digits of every script, nothing else
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_CN_YEAR = re.compile(r"[〇零一二三四五六七八九]{4}(?=年)")
_CN_ORDINAL = re.compile(r"(?<=第)(?:[一二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九])")
# A date is one key, so another day is one differing key, not two diluted among three. Digit runs
# are cut at 32 so that the copies of one key cannot grow with the length of a hostile text.
_KEY = re.compile(
    r"[0-9]{1,32}(?:年[0-9]{1,2}月(?:[0-9]{1,2}日)?)?"
    r"|(?<![0-9])[^\W\d_]{2}(?:街道|社区|小区|花园|路|街|巷|弄|村|镇|乡)"
)
# Bounds the key shingles of pathological texts (thousands of numbers); real requests are far below.
_MAX_KEY_SHINGLES = 4096
_BATCH = 4096  # shingles per update_batch: bounds numpy's (batch x NUM_PERM) temporaries at ~2 MB
_EMPTY = b"\xff" * SIGNATURE_BYTES  # MinHash of the empty set: every slot at the maximum


def _cn_number(match: re.Match) -> str:
    tens, ten, ones = match.group().partition("十")
    if not ten:
        return tens.translate(_CN_DIGITS)
    return str(int(tens.translate(_CN_DIGITS) or 1) * 10 + int(ones.translate(_CN_DIGITS) or 0))


def normalize(text: str) -> str:
    """The words of a request without what varies between two copies of it: NFKC (full-width digits and
    Latin), lower case, no whitespace, punctuation or control characters, Chinese years and ordinals
    as digits, no boilerplate."""
    t = _NON_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())
    t = _CN_YEAR.sub(lambda m: m.group().translate(_CN_DIGITS), t)
    t = _CN_ORDINAL.sub(_cn_number, t)
    return _BOILERPLATE_RE.sub("", t)


def shingles(text: str) -> set[str]:
    """Character SHINGLE-grams of the normalized text, plus the weighted keys (numbers, dates, places).

    A text shorter than SHINGLE is one shingle; a text with nothing left after normalizing is the
    empty set, similar to nothing. Key shingles contain NUL, which normalize() removes, so they never
    coincide with an n-gram."""
    t = normalize(text)
    if not t:
        return set()
    grams = {t[i : i + SHINGLE] for i in range(max(1, len(t) - SHINGLE + 1))}
    keys = set(_KEY.findall(t))
    if keys:
        copies = max(1, min(math.ceil(len(grams) * KEY_WEIGHT), _MAX_KEY_SHINGLES // len(keys)))
        grams.update(f"\x00{k}\x00{i}" for k in keys for i in range(copies))
    return grams


@functools.lru_cache(maxsize=1)
def _permutations():
    """datasketch 2.x's affine32 permutations for (NUM_PERM, SEED), drawn the way it draws them.
    Computed here with numpy alone: datasketch's package import pulls scipy, redis and
    opentelemetry (+78 MB in every process that registers a request; measured). Imported here,
    not at the top: numpy costs ~16 MB where no signature is made."""
    import numpy as np

    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix32(hv):
    """MurmurHash3's finalizer, which datasketch's affine32 scheme applies to each crc32."""
    import numpy as np

    u = np.uint32
    hv = hv ^ (hv >> u(16))
    hv = hv * u(0x85EBCA6B)
    hv = hv ^ (hv >> u(13))
    hv = hv * u(0xC2B2AE35)
    return hv ^ (hv >> u(16))


def signature(text: str) -> bytes:
    """MinHash of shingles(text): NUM_PERM little-endian uint32, SIGNATURE_BYTES bytes. The same bytes
    in every process and on every machine (crc32, a seeded numpy RandomState, explicit byte order),
    byte for byte datasketch 2.x's MinHash(scheme="affine32") (tests/test_similarity.py)."""
    items = [s.encode("utf-8") for s in shingles(text)]
    if not items:
        return _EMPTY
    import numpy as np

    a, b = _permutations()
    out = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    for i in range(0, len(items), _BATCH):
        hv = _fmix32(np.array([zlib.crc32(x) for x in items[i:i + _BATCH]], dtype=np.uint32)
                     .reshape(-1, 1))
        out = np.minimum(out, (hv * a + b).min(axis=0))  # uint32 arithmetic wraps, as datasketch's
    return out.astype("<u4").tobytes()


def _check(sig: bytes) -> None:
    if len(sig) != SIGNATURE_BYTES:
        raise ValueError(f"a signature has {SIGNATURE_BYTES} bytes, not {len(sig)}")


def band_keys(sig: bytes) -> list[int]:
    """BANDS LSH keys, one per band of ROWS slots; requests sharing any key are candidates.

    Key of band b = b * 2**56 + a 56-bit blake2b of the band's ROWS slots: keys of different bands
    never collide, all are >= 0 and < BANDS * 2**56 (fit a signed BIGINT), key >> 56 is the band.
    The empty text has no keys: it is a candidate for nothing."""
    _check(sig)
    if sig == _EMPTY:
        return []
    width = 4 * ROWS
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(sig[band * width : (band + 1) * width], digest_size=7).digest()
        keys.append(band << 56 | int.from_bytes(digest, "little"))
    return keys


def estimate(sig_a: bytes, sig_b: bytes) -> float:
    """Estimated Jaccard similarity: the share of equal slots. 0.0 if either text was empty."""
    _check(sig_a)
    _check(sig_b)
    if sig_a == _EMPTY or sig_b == _EMPTY:
        return 0.0
    a, b = memoryview(sig_a).cast("I"), memoryview(sig_b).cast("I")
    return sum(x == y for x, y in zip(a, b, strict=True)) / NUM_PERM


def jaccard(text_a: str, text_b: str) -> float:
    """Exact Jaccard similarity of the shingle sets, to confirm a candidate. 0.0 if either is empty."""
    a, b = shingles(text_a), shingles(text_b)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
