/* Optional accelerator for the text checks: cut rows of text into words (and hash them).
 *
 * The Python path (near_duplicates.token_sets) maps every byte through a 256-byte table (ASCII
 * letters and digits lower-cased, other ASCII bytes to a space, bytes >= 128 kept), cuts words at
 * spaces and row ends, and hashes each word of up to 16 bytes from its two little-endian 8-byte
 * halves with splitmix64 (_token_hash); longer words are hashed by column_hash. On a 22 MB text
 * column that builds about ten byte- and word-sized numpy temporaries, and in a fresh process the
 * page faults of first touching them cost several times the arithmetic. This pass reads the
 * column's own Arrow buffers once and writes only the outputs: per word, its row and its 47-bit
 * hash, and the words longer than 16 bytes (their index and mapped bytes) for Python to hash with
 * column_hash, exactly as the numpy path does. Tests compare the two bit for bit.
 *
 * ascii_tokens does the same single pass for backdoor_triggers, whose tokens are strings, not
 * hashes (they are counted exactly and reported): the lower-cased runs of ASCII letters and
 * digits of each ASCII row, as Arrow's regex split gives them (backdoor._tokens, which it
 * replaces for those rows; about ten times faster). Rows with other bytes are left to the regex.
 *
 * band_keys computes the near-duplicate check's MinHash signatures and LSH band keys row by row
 * (a row's few words stay in cache for all 64 hash functions, which are computed side by side in
 * vector registers; numpy made 64 passes over every word of the batch), bit for bit as
 * near_duplicates.signatures and band_keys do.
 *
 * word_sets sorts and de-duplicates each row's word hashes in place (a row has a handful), where
 * numpy sorted every (row, hash) pair of the batch as one array.
 *
 * text_cells turns backdoor_triggers' token codes of a text column into its (feature, label)
 * cells, each feature once per row, bigrams numbered through a hash table of token-code pairs: in
 * numpy that took eight passes over tens of millions of (row, feature) pairs and a sort of them.
 *
 * near_pairs finds a near-duplicate reduce bucket's candidate pairs in one walk over its rows in
 * location order, with a hash table of band keys, and stops at the bucket's cap: numpy sorted the
 * whole bucket by (band key, location), gathered its rows and built every pair before keeping
 * the first few thousand (near_duplicates._pairs_numpy, which tests compare it with).
 *
 * argsort_u64 is the stable sort permutation of 64-bit keys (hashes, locations, cells) by LSD
 * radix sort: numpy's stable argsort is a merge sort, several times slower on the millions of
 * hash keys the duplicate, near-duplicate and backdoor reductions sort.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* Bumped whenever the signature or the meaning of the result changes; Python checks it. */
#define DATAGATE_WORDS_ABI 7

#define SPACE 32
#define SHORT_WORD 16

static const uint64_t K0 = 0x9E3779B97F4A7C15ULL;
static const uint64_t K1 = 0xC2B2AE3D27D4EB4FULL;
static const uint64_t M1 = 0xBF58476D1CE4E5B9ULL;
static const uint64_t M2 = 0x94D049BB133111EBULL;
static const uint64_t LOW47 = (1ULL << 47) - 1;

static inline uint64_t
mix64(uint64_t z)
{
    z ^= z >> 30;
    z *= M1;
    z ^= z >> 27;
    z *= M2;
    z ^= z >> 31;
    return z;
}

/* sig[i] = min over the words of (word * mult[i]) >> 32, for i < n_perm.
 *
 * The loop over the hash functions is innermost: its iterations are independent, so the compiler
 * vectorises it (a row has a handful of words, too few to vectorise over). On x86-64 Linux with
 * glibc and GCC or clang the function is built for AVX-512, AVX2 and the baseline, and the loader
 * picks the one the CPU runs (target_clones, which needs glibc's ifunc; musl has none, and a
 * failed build would lose the whole optional module). About twice as fast with AVX-512's 64-bit
 * multiply. The result is the same integer arithmetic on every path. */
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__)) && defined(__has_attribute) && \
    !defined(DATAGATE_NO_TARGET_CLONES) /* tests build the single-target variants with it */
#if __has_attribute(target_clones)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
static void
min_hashes(const uint64_t *restrict words, Py_ssize_t len, const uint64_t *restrict mult, Py_ssize_t n_perm, uint32_t *restrict sig)
{
    for (Py_ssize_t i = 0; i < n_perm; i++) {
        sig[i] = 0xFFFFFFFFu;
    }
    for (Py_ssize_t w = 0; w < len; w++) {
        uint64_t x = words[w];
        for (Py_ssize_t i = 0; i < n_perm; i++) {
            uint32_t v = (uint32_t)((x * mult[i]) >> 32);
            sig[i] = v < sig[i] ? v : sig[i];
        }
    }
}

/* Buffers are released with PyBuffer_Release even when never acquired: it does nothing for a
 * zero-initialised Py_buffer (obj NULL), so every exit goes through one cleanup label. */

/* 0 when a function given `signature` received `want` arguments, else -1 with a TypeError. */
static int
arity(const char *signature, Py_ssize_t want, Py_ssize_t nargs)
{
    if (nargs == want) {
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s takes %zd argument%s (%zd given)", signature, want, want == 1 ? "" : "s", nargs);
    return -1;
}

/* A growable byte buffer (PyMem). */
typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} grow_buf;

static int
reserve(grow_buf *g, Py_ssize_t extra)
{
    if (g->len + extra <= g->cap) {
        return 0;
    }
    Py_ssize_t cap = g->cap ? g->cap : 4096;
    while (cap < g->len + extra) {
        cap *= 2;
    }
    char *nb = PyMem_Realloc(g->buf, (size_t)cap);
    if (nb == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    g->buf = nb;
    g->cap = cap;
    return 0;
}

static int
append(grow_buf *g, const void *src, Py_ssize_t n)
{
    if (reserve(g, n) < 0) {
        return -1;
    }
    memcpy(g->buf + g->len, src, (size_t)n);
    g->len += n;
    return 0;
}

static PyObject *
as_bytes(grow_buf *g)
{
    PyObject *out = PyBytes_FromStringAndSize(g->buf ? g->buf : "", g->len);
    PyMem_Free(g->buf);
    g->buf = NULL;
    return out;
}

PyDoc_STRVAR(words_doc,
"words(offsets, data, table) -> (owner, hashes, long_index, long_offsets, long_bytes)\n\n"
"Cut each row ``data[offsets[r]:offsets[r + 1]]`` (offsets: int64, n + 1 of them) into words:\n"
"bytes mapped through the 256-byte ``table``, broken where the mapped byte is a space and at\n"
"row ends. Returns bytes objects holding native arrays: per word, in order, its row (int64)\n"
"and its 47-bit hash (uint64; 0 for words longer than 16 bytes), then the indices of those long\n"
"words (int64), the offsets (int64, one more) and the mapped bytes of their text.");

static PyObject *
words(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (arity("words(offsets, data, table)", 3, nargs) < 0) {
        return NULL;
    }
    Py_buffer offv = {0}, datav = {0}, tabv = {0};
    grow_buf owner = {0}, hashes = {0}, long_index = {0}, long_off = {0}, long_bytes = {0};
    PyObject *result = NULL;
    if (PyObject_GetBuffer(args[0], &offv, PyBUF_SIMPLE) < 0 || PyObject_GetBuffer(args[1], &datav, PyBUF_SIMPLE) < 0
        || PyObject_GetBuffer(args[2], &tabv, PyBUF_SIMPLE) < 0) {
        goto done;
    }
    if (tabv.len != 256 || offv.len % (Py_ssize_t)sizeof(int64_t) || offv.len < (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "words: a 256-byte table and at least one int64 offset are needed");
        goto done;
    }
    const uint8_t *table = (const uint8_t *)tabv.buf;
    const uint8_t *data = (const uint8_t *)datav.buf;
    Py_ssize_t n = offv.len / (Py_ssize_t)sizeof(int64_t) - 1;
    const int64_t *off = (const int64_t *)offv.buf;
    if (off[0] < 0 || off[n] > datav.len) {
        PyErr_SetString(PyExc_ValueError, "words: offsets run past the data");
        goto done;
    }
    /* a first guess at the output size: one word per 6 bytes */
    Py_ssize_t guess = (off[n] - off[0]) / 6 + 16;
    if (reserve(&owner, guess * 8) < 0 || reserve(&hashes, guess * 8) < 0) {
        goto done;
    }
    int64_t zero = 0;
    if (append(&long_off, &zero, sizeof(zero)) < 0) {
        goto done;
    }
    int64_t count = 0;
    uint8_t word[SHORT_WORD];
    for (Py_ssize_t r = 0; r < n; r++) {
        int64_t i = off[r], end = off[r + 1];
        if (i > end || i < 0 || end > datav.len) {
            PyErr_SetString(PyExc_ValueError, "words: offsets are not ascending");
            goto done;
        }
        while (i < end) {
            while (i < end && table[data[i]] == SPACE) {
                i++;
            }
            if (i >= end) {
                break;
            }
            int64_t start = i;
            while (i < end && table[data[i]] != SPACE) {
                i++;
            }
            int64_t len = i - start;
            uint64_t h = 0;
            if (len <= SHORT_WORD) {
                memset(word, 0, sizeof(word));
                for (int64_t j = 0; j < len; j++) {
                    word[j] = table[data[start + j]];
                }
                uint64_t w0 = 0, w1 = 0;
                for (int j = 7; j >= 0; j--) {
                    w0 = (w0 << 8) | word[j];
                    w1 = (w1 << 8) | word[8 + j];
                }
                h = mix64(w0 ^ ((uint64_t)len * K0));
                h ^= w1 * K1;
                h = mix64(h) & LOW47;
            }
            else {
                if (append(&long_index, &count, sizeof(count)) < 0 || reserve(&long_bytes, len) < 0) {
                    goto done;
                }
                for (int64_t j = 0; j < len; j++) {
                    long_bytes.buf[long_bytes.len + j] = (char)table[data[start + j]];
                }
                long_bytes.len += len;
                int64_t end_off = long_bytes.len;
                if (append(&long_off, &end_off, sizeof(end_off)) < 0) {
                    goto done;
                }
            }
            int64_t row = r;
            if (append(&owner, &row, sizeof(row)) < 0 || append(&hashes, &h, sizeof(h)) < 0) {
                goto done;
            }
            count++;
        }
    }
    PyObject *o = as_bytes(&owner), *h = as_bytes(&hashes), *li = as_bytes(&long_index);
    PyObject *lo = as_bytes(&long_off), *lb = as_bytes(&long_bytes);
    if (o && h && li && lo && lb) {
        result = PyTuple_Pack(5, o, h, li, lo, lb);
    }
    Py_XDECREF(o);
    Py_XDECREF(h);
    Py_XDECREF(li);
    Py_XDECREF(lo);
    Py_XDECREF(lb);
done:
    PyMem_Free(owner.buf);
    PyMem_Free(hashes.buf);
    PyMem_Free(long_index.buf);
    PyMem_Free(long_off.buf);
    PyMem_Free(long_bytes.buf);
    PyBuffer_Release(&offv);
    PyBuffer_Release(&datav);
    PyBuffer_Release(&tabv);
    return result;
}

PyDoc_STRVAR(ascii_tokens_doc,
"ascii_tokens(offsets, data, max_splits) -> (owner, token_offsets, token_bytes, other_rows)\n\n"
"The tokens of backdoor_triggers for ASCII rows: what splitting the lower-cased row at runs of\n"
"bytes other than ASCII letters and digits gives (at most ``max_splits`` splits, the rest of the\n"
"row one last part, empty parts dropped), as Arrow's split_pattern_regex does with\n"
"[^\\p{L}\\p{N}]+ on ASCII text. Rows holding a byte >= 128 give no tokens and are listed in\n"
"``other_rows`` for the caller to split with the regex. Returns bytes objects holding native\n"
"arrays: per token, its row (int64); the tokens' offsets (int64, one more) and their lower-cased\n"
"bytes; the other rows (int64).");

static inline int
is_word(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline uint8_t
lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static int
emit_token(grow_buf *owner, grow_buf *toff, grow_buf *tbytes, int64_t row, const uint8_t *src, int64_t len)
{
    if (len <= 0) {
        return 0;
    }
    if (reserve(tbytes, len) < 0) {
        return -1;
    }
    uint8_t *dst = (uint8_t *)tbytes->buf + tbytes->len;
    for (int64_t j = 0; j < len; j++) {
        dst[j] = lower(src[j]);
    }
    tbytes->len += len;
    int64_t end = tbytes->len;
    if (append(owner, &row, sizeof(row)) < 0 || append(toff, &end, sizeof(end)) < 0) {
        return -1;
    }
    return 0;
}

static PyObject *
ascii_tokens(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (arity("ascii_tokens(offsets, data, max_splits)", 3, nargs) < 0) {
        return NULL;
    }
    Py_ssize_t max_splits = PyLong_AsSsize_t(args[2]);
    if (max_splits == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (max_splits < 0) {
        PyErr_SetString(PyExc_ValueError, "ascii_tokens: max_splits must be >= 0");
        return NULL;
    }
    Py_buffer offv = {0}, datav = {0};
    grow_buf owner = {0}, toff = {0}, tbytes = {0}, other = {0};
    PyObject *result = NULL;
    if (PyObject_GetBuffer(args[0], &offv, PyBUF_SIMPLE) < 0 || PyObject_GetBuffer(args[1], &datav, PyBUF_SIMPLE) < 0) {
        goto done;
    }
    if (offv.len % (Py_ssize_t)sizeof(int64_t) || offv.len < (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "ascii_tokens: at least one int64 offset is needed");
        goto done;
    }
    const uint8_t *data = (const uint8_t *)datav.buf;
    Py_ssize_t n = offv.len / (Py_ssize_t)sizeof(int64_t) - 1;
    const int64_t *off = (const int64_t *)offv.buf;
    if (off[0] < 0 || off[n] > datav.len) {
        PyErr_SetString(PyExc_ValueError, "ascii_tokens: offsets run past the data");
        goto done;
    }
    Py_ssize_t guess = (off[n] - off[0]) / 6 + 16;
    int64_t zero = 0;
    if (reserve(&owner, guess * 8) < 0 || reserve(&toff, guess * 8 + 8) < 0 || reserve(&tbytes, off[n] - off[0] + 16) < 0
        || append(&toff, &zero, sizeof(zero)) < 0) {
        goto done;
    }
    for (Py_ssize_t r = 0; r < n; r++) {
        int64_t i = off[r], end = off[r + 1];
        if (i > end || i < 0 || end > datav.len) {
            PyErr_SetString(PyExc_ValueError, "ascii_tokens: offsets are not ascending");
            goto done;
        }
        int ascii = 1;
        for (int64_t j = i; j < end; j++) {
            if (data[j] >= 128) {
                ascii = 0;
                break;
            }
        }
        int64_t row = r;
        if (!ascii) {
            if (append(&other, &row, sizeof(row)) < 0) {
                goto done;
            }
            continue;
        }
        /* parts between separator runs; each run is one split, a leading one included */
        Py_ssize_t splits = 0;
        int64_t part = i;
        while (i < end && splits < max_splits) {
            while (i < end && is_word(data[i])) {
                i++;
            }
            if (i >= end) {
                break;
            }
            int64_t sep = i;
            while (i < end && !is_word(data[i])) {
                i++;
            }
            if (emit_token(&owner, &toff, &tbytes, row, data + part, sep - part) < 0) {
                goto done;
            }
            part = i;
            splits++;
        }
        if (emit_token(&owner, &toff, &tbytes, row, data + part, end - part) < 0) {
            goto done;
        }
    }
    PyObject *o = as_bytes(&owner), *to = as_bytes(&toff), *tb = as_bytes(&tbytes), *ot = as_bytes(&other);
    if (o && to && tb && ot) {
        result = PyTuple_Pack(4, o, to, tb, ot);
    }
    Py_XDECREF(o);
    Py_XDECREF(to);
    Py_XDECREF(tb);
    Py_XDECREF(ot);
done:
    PyMem_Free(owner.buf);
    PyMem_Free(toff.buf);
    PyMem_Free(tbytes.buf);
    PyMem_Free(other.buf);
    PyBuffer_Release(&offv);
    PyBuffer_Release(&datav);
    return result;
}

PyDoc_STRVAR(band_keys_doc,
"band_keys(offsets, hashes, rows, multipliers, bands) -> bytes\n\n"
"MinHash LSH band keys of the CSR word sets, as near_duplicates.band_keys(signatures(...)) gives\n"
"them: for each of ``rows`` (int64), signature value i is the minimum over the row's words\n"
"``hashes[offsets[r]:offsets[r + 1]]`` (uint64) of ``(mix64(word) * multipliers[i]) >> 32``\n"
"(uint32), and band b folds its ``len(multipliers) / bands`` values into\n"
"h = mix64(h ^ (value + (j << 32))) from h = (b + 1) * K0. Rows need at least one word. Returns\n"
"the keys (uint64, rows x bands) as bytes.");

static PyObject *
band_keys(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (arity("band_keys(offsets, hashes, rows, multipliers, bands)", 5, nargs) < 0) {
        return NULL;
    }
    Py_ssize_t bands = PyLong_AsSsize_t(args[4]);
    if (bands == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer offv = {0}, hashv = {0}, rowv = {0}, multv = {0};
    PyObject *result = NULL;
    uint64_t *words = NULL;
    uint32_t *sig = NULL;
    if (PyObject_GetBuffer(args[0], &offv, PyBUF_SIMPLE) < 0 || PyObject_GetBuffer(args[1], &hashv, PyBUF_SIMPLE) < 0
        || PyObject_GetBuffer(args[2], &rowv, PyBUF_SIMPLE) < 0 || PyObject_GetBuffer(args[3], &multv, PyBUF_SIMPLE) < 0) {
        goto done;
    }
    Py_ssize_t n = offv.len / 8 - 1, n_hash = hashv.len / 8, n_rows = rowv.len / 8, n_perm = multv.len / 8;
    if (offv.len % 8 || hashv.len % 8 || rowv.len % 8 || multv.len % 8 || n < 0 || n_perm == 0 || bands <= 0
        || n_perm % bands) {
        PyErr_SetString(PyExc_ValueError, "band_keys: int64/uint64 arrays, and multipliers a multiple of bands, are needed");
        goto done;
    }
    const int64_t *off = (const int64_t *)offv.buf;
    const uint64_t *hashes = (const uint64_t *)hashv.buf;
    const int64_t *rows = (const int64_t *)rowv.buf;
    const uint64_t *mult = (const uint64_t *)multv.buf;
    Py_ssize_t per_band = n_perm / bands;
    result = PyBytes_FromStringAndSize(NULL, n_rows * bands * 8);
    sig = PyMem_Malloc((size_t)n_perm * sizeof(uint32_t));
    if (result == NULL || sig == NULL) {
        Py_CLEAR(result);
        if (sig == NULL) {
            PyErr_NoMemory();
        }
        goto done;
    }
    uint64_t *out = (uint64_t *)PyBytes_AS_STRING(result);
    Py_ssize_t cap_words = 0;
    for (Py_ssize_t k = 0; k < n_rows; k++) {
        int64_t r = rows[k];
        if (r < 0 || r >= n || off[r] < 0 || off[r] >= off[r + 1] || off[r + 1] > n_hash) {
            PyErr_SetString(PyExc_ValueError, "band_keys: a row is out of range or has no words");
            Py_CLEAR(result);
            goto done;
        }
        Py_ssize_t len = (Py_ssize_t)(off[r + 1] - off[r]);
        if (len > cap_words) {
            uint64_t *nw = PyMem_Realloc(words, (size_t)len * sizeof(uint64_t));
            if (nw == NULL) {
                PyErr_NoMemory();
                Py_CLEAR(result);
                goto done;
            }
            words = nw;
            cap_words = len;
        }
        for (Py_ssize_t w = 0; w < len; w++) {
            words[w] = mix64(hashes[off[r] + w]);
        }
        min_hashes(words, len, mult, n_perm, sig);
        for (Py_ssize_t b = 0; b < bands; b++) {
            uint64_t h = (uint64_t)(b + 1) * K0;
            for (Py_ssize_t j = 0; j < per_band; j++) {
                h = mix64(h ^ ((uint64_t)sig[b * per_band + j] + ((uint64_t)j << 32)));
            }
            out[k * bands + b] = h;
        }
    }
done:
    PyMem_Free(words);
    PyMem_Free(sig);
    PyBuffer_Release(&offv);
    PyBuffer_Release(&hashv);
    PyBuffer_Release(&rowv);
    PyBuffer_Release(&multv);
    return result;
}

PyDoc_STRVAR(argsort_u64_doc,
"argsort_u64(keys) -> bytearray\n\n"
"The stable ascending sort permutation of ``keys`` (uint64), as int64 in a bytearray: what\n"
"numpy.argsort(keys, kind='stable') returns. An LSD radix sort, 8 bits a pass, passes whose\n"
"digit is the same for every key skipped.");

#define RADIX_BITS 8
#define RADIX_SIZE (1 << RADIX_BITS)
#define RADIX_PASSES 8

static PyObject *
argsort_u64(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (arity("argsort_u64(keys)", 1, nargs) < 0) {
        return NULL;
    }
    Py_buffer keyv = {0};
    PyObject *result = NULL;
    uint64_t *k0 = NULL, *k1 = NULL;
    int64_t *i1 = NULL;
    Py_ssize_t (*hist)[RADIX_SIZE] = NULL;
    if (PyObject_GetBuffer(args[0], &keyv, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (keyv.len % 8) {
        PyErr_SetString(PyExc_ValueError, "argsort_u64: keys must be uint64");
        goto done;
    }
    Py_ssize_t n = keyv.len / 8;
    const uint64_t *keys = (const uint64_t *)keyv.buf;
    result = PyByteArray_FromStringAndSize(NULL, n * 8);
    if (result == NULL) {
        goto done;
    }
    int64_t *i0 = (int64_t *)PyByteArray_AS_STRING(result);
    for (Py_ssize_t j = 0; j < n; j++) {
        i0[j] = j;
    }
    if (n < 2) {
        goto done;
    }
    k0 = PyMem_Malloc((size_t)n * 8);
    k1 = PyMem_Malloc((size_t)n * 8);
    i1 = PyMem_Malloc((size_t)n * 8);
    hist = PyMem_Calloc(RADIX_PASSES, sizeof(*hist));
    if (k0 == NULL || k1 == NULL || i1 == NULL || hist == NULL) {
        PyErr_NoMemory();
        Py_CLEAR(result);
        goto done;
    }
    memcpy(k0, keys, (size_t)n * 8);
    /* every pass's histogram in one read */
    for (Py_ssize_t j = 0; j < n; j++) {
        uint64_t key = k0[j];
        for (int p = 0; p < RADIX_PASSES; p++) {
            hist[p][(key >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
        }
    }
    int64_t *src_i = i0, *dst_i = i1;
    uint64_t *src_k = k0, *dst_k = k1;
    for (int p = 0; p < RADIX_PASSES; p++) {
        Py_ssize_t *h = hist[p];
        int shift = p * RADIX_BITS;
        if (h[(src_k[0] >> shift) & (RADIX_SIZE - 1)] == n) {
            continue; /* one digit for every key: the order stands */
        }
        Py_ssize_t sum = 0;
        for (int d = 0; d < RADIX_SIZE; d++) {
            Py_ssize_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        for (Py_ssize_t j = 0; j < n; j++) {
            uint64_t key = src_k[j];
            Py_ssize_t at = h[(key >> shift) & (RADIX_SIZE - 1)]++;
            dst_k[at] = key;
            dst_i[at] = src_i[j];
        }
        uint64_t *tk = src_k;
        src_k = dst_k;
        dst_k = tk;
        int64_t *ti = src_i;
        src_i = dst_i;
        dst_i = ti;
    }
    if (src_i != i0) {
        memcpy(i0, src_i, (size_t)n * 8);
    }
done:
    PyMem_Free(k0);
    PyMem_Free(k1);
    PyMem_Free(i1);
    PyMem_Free(hist);
    PyBuffer_Release(&keyv);
    return result;
}

PyDoc_STRVAR(word_sets_doc,
"word_sets(owner, hashes, rows, max_words) -> (offsets, hashes)\n\n"
"Each row's distinct word hashes, ascending, at most ``max_words`` (the smallest): ``owner``\n"
"(int64, non-decreasing, each < rows) gives every hash's row. Returns bytes holding the CSR\n"
"offsets (int64, rows + 1) and the hashes (uint64), as near_duplicates.token_sets' sort of\n"
"(row << 47 | hash) does.");

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static PyObject *
word_sets(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (arity("word_sets(owner, hashes, rows, max_words)", 4, nargs) < 0) {
        return NULL;
    }
    Py_ssize_t rows = PyLong_AsSsize_t(args[2]), max_words = PyLong_AsSsize_t(args[3]);
    if ((rows == -1 || max_words == -1) && PyErr_Occurred()) {
        return NULL;
    }
    if (rows < 0 || max_words < 1) {
        PyErr_SetString(PyExc_ValueError, "word_sets: rows must be >= 0 and max_words >= 1");
        return NULL;
    }
    Py_buffer ownv = {0}, hashv = {0};
    PyObject *off_obj = NULL, *hash_obj = NULL, *result = NULL;
    if (PyObject_GetBuffer(args[0], &ownv, PyBUF_SIMPLE) < 0 || PyObject_GetBuffer(args[1], &hashv, PyBUF_SIMPLE) < 0) {
        goto done;
    }
    Py_ssize_t n = ownv.len / 8;
    if (ownv.len % 8 || hashv.len != ownv.len) {
        PyErr_SetString(PyExc_ValueError, "word_sets: owner (int64) and hashes (uint64) of one length are needed");
        goto done;
    }
    const int64_t *owner = (const int64_t *)ownv.buf;
    const uint64_t *in = (const uint64_t *)hashv.buf;
    off_obj = PyBytes_FromStringAndSize(NULL, (rows + 1) * 8);
    hash_obj = PyBytes_FromStringAndSize(NULL, n * 8);
    if (off_obj == NULL || hash_obj == NULL) {
        goto done;
    }
    int64_t *off = (int64_t *)PyBytes_AS_STRING(off_obj);
    uint64_t *out = (uint64_t *)PyBytes_AS_STRING(hash_obj);
    Py_ssize_t i = 0, kept = 0;
    for (Py_ssize_t r = 0; r < rows; r++) {
        off[r] = kept;
        Py_ssize_t start = i;
        while (i < n && owner[i] == r) {
            i++;
        }
        Py_ssize_t len = i - start;
        if (len == 0) {
            continue;
        }
        uint64_t *dst = out + kept;
        memcpy(dst, in + start, (size_t)len * 8);
        if (len <= 32) {
            for (Py_ssize_t a = 1; a < len; a++) {
                uint64_t v = dst[a];
                Py_ssize_t b = a;
                while (b > 0 && dst[b - 1] > v) {
                    dst[b] = dst[b - 1];
                    b--;
                }
                dst[b] = v;
            }
        }
        else {
            qsort(dst, (size_t)len, 8, cmp_u64);
        }
        Py_ssize_t m = 1;
        for (Py_ssize_t a = 1; a < len && m < max_words; a++) {
            if (dst[a] != dst[m - 1]) {
                dst[m++] = dst[a];
            }
        }
        kept += m;
    }
    if (i != n) { /* a word whose row came after a later row's, or lies outside [0, rows), was left */
        PyErr_SetString(PyExc_ValueError, "word_sets: owner is not non-decreasing within [0, rows)");
        goto done;
    }
    off[rows] = kept;
    if (_PyBytes_Resize(&hash_obj, kept * 8) < 0) {
        goto done;
    }
    result = PyTuple_Pack(2, off_obj, hash_obj);
done:
    Py_XDECREF(off_obj);
    Py_XDECREF(hash_obj);
    PyBuffer_Release(&ownv);
    PyBuffer_Release(&hashv);
    return result;
}

PyDoc_STRVAR(text_cells_doc,
"text_cells(rows, codes, v, labels, n_labels, bigrams) -> (cells, pairs)\n\n"
"backdoor_triggers' (feature, label) cells of one text column's tokens, each feature once per\n"
"row. ``rows`` (int64, non-decreasing) and ``codes`` (int64 in [0, v)) give every token's row\n"
"and its code; ``labels`` (int64, one per row of the batch, -1: none) each row's label code,\n"
"below ``n_labels``. A token's feature is its code; with ``bigrams``, the pair of adjacent\n"
"tokens of one row (codes a, b) is feature v + the pair's number, numbered in order of first\n"
"appearance. Returns bytes holding the cells ``feature * n_labels + label`` of every labelled\n"
"(row, feature) pair seen for the first time (int64), and each pair's ``a * v + b`` by number\n"
"(int64).");

/* An open-addressing map from any 64-bit key to a number given in order of first appearance
 * (text_cells' bigrams, near_pairs' band keys). A slot is empty while its id1 (the number + 1)
 * is 0, so every key, 0 included, can be stored, and calloc'd slots start empty. */
typedef struct {
    uint64_t key;
    int64_t id1;
} id_slot;

typedef struct {
    id_slot *slots;
    Py_ssize_t mask, used;
} id_table;

/* Give the table at least `min_slots` slots (a power of two), keeping its entries. */
static int
id_table_grow(id_table *t, Py_ssize_t min_slots)
{
    Py_ssize_t size = 16;
    while (size < min_slots) {
        size *= 2;
    }
    id_slot *slots = PyMem_Calloc((size_t)size, sizeof(id_slot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t j = 0; t->slots != NULL && j <= t->mask; j++) {
        if (t->slots[j].id1) {
            Py_ssize_t at = (Py_ssize_t)(mix64(t->slots[j].key) & (uint64_t)(size - 1));
            while (slots[at].id1) {
                at = (at + 1) & (size - 1);
            }
            slots[at] = t->slots[j];
        }
    }
    PyMem_Free(t->slots);
    t->slots = slots;
    t->mask = size - 1;
    return 0;
}

/* Return the number of `key`, giving it t->used (the next number) when it is new; *added says
 * which. The table doubles when half full. -1 with an exception set: out of memory. */
static inline int64_t
id_table_get(id_table *t, uint64_t key, int *added)
{
    Py_ssize_t at = (Py_ssize_t)(mix64(key) & (uint64_t)t->mask);
    while (t->slots[at].id1 && t->slots[at].key != key) {
        at = (at + 1) & t->mask;
    }
    *added = !t->slots[at].id1;
    if (!*added) {
        return t->slots[at].id1 - 1;
    }
    int64_t id = (int64_t)t->used++;
    t->slots[at] = (id_slot){key, id + 1};
    if (t->used * 2 > t->mask + 1 && id_table_grow(t, (t->mask + 1) * 2) < 0) {
        return -1;
    }
    return id;
}

static PyObject *
text_cells(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (arity("text_cells(rows, codes, v, labels, n_labels, bigrams)", 6, nargs) < 0) {
        return NULL;
    }
    Py_ssize_t v = PyLong_AsSsize_t(args[2]), n_labels = PyLong_AsSsize_t(args[4]);
    int bigrams = PyObject_IsTrue(args[5]);
    if (((v == -1 || n_labels == -1) && PyErr_Occurred()) || bigrams < 0) {
        return NULL;
    }
    if (v < 0 || n_labels < 1 || (v > 0 && v > (Py_ssize_t)(INT64_MAX / 4 / v))) {
        PyErr_SetString(PyExc_ValueError, "text_cells: v must be >= 0 (and v * v fit), n_labels >= 1");
        return NULL;
    }
    Py_buffer rowv = {0}, codev = {0}, labv = {0};
    PyObject *cell_obj = NULL, *pair_obj = NULL, *result = NULL;
    int64_t *last_tok = NULL;
    /* each pair's code (the result) and the last row it was counted in, by pair number */
    grow_buf pairs = {0}, last_pair = {0};
    id_table table = {NULL, -1, 0}; /* bigram (a * v + b) -> its number */
    if (PyObject_GetBuffer(args[0], &rowv, PyBUF_SIMPLE) < 0 || PyObject_GetBuffer(args[1], &codev, PyBUF_SIMPLE) < 0
        || PyObject_GetBuffer(args[3], &labv, PyBUF_SIMPLE) < 0) {
        goto done;
    }
    Py_ssize_t n = rowv.len / 8, n_rows = labv.len / 8;
    if (rowv.len % 8 || codev.len != rowv.len || labv.len % 8) {
        PyErr_SetString(PyExc_ValueError, "text_cells: rows and codes (int64) of one length, and labels (int64), are needed");
        goto done;
    }
    const int64_t *rows = (const int64_t *)rowv.buf, *codes = (const int64_t *)codev.buf, *labels = (const int64_t *)labv.buf;
    /* at most one token cell and one bigram cell per token */
    cell_obj = PyBytes_FromStringAndSize(NULL, 2 * n * 8);
    last_tok = PyMem_Malloc((size_t)(v > 0 ? v : 1) * 8);
    if (cell_obj == NULL || last_tok == NULL || id_table_grow(&table, 4096) < 0) {
        if (cell_obj != NULL && !PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        goto done;
    }
    int64_t *cells = (int64_t *)PyBytes_AS_STRING(cell_obj);
    Py_ssize_t m = 0;
    for (Py_ssize_t j = 0; j < v; j++) {
        last_tok[j] = -1;
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        int64_t r = rows[j], t = codes[j];
        if (r < 0 || r >= n_rows || t < 0 || t >= v || (j + 1 < n && rows[j + 1] < r)) {
            PyErr_SetString(PyExc_ValueError, "text_cells: a row outside the labels, a code outside [0, v), or rows not non-decreasing");
            goto done;
        }
        int64_t lab = labels[r];
        if (lab >= n_labels) {
            PyErr_SetString(PyExc_ValueError, "text_cells: a label code >= n_labels");
            goto done;
        }
        if (last_tok[t] != r) {
            last_tok[t] = r;
            if (lab >= 0) {
                cells[m++] = t * n_labels + lab;
            }
        }
        if (!bigrams || j + 1 >= n || rows[j + 1] != r) {
            continue;
        }
        int64_t t2 = codes[j + 1];
        if (t2 < 0 || t2 >= v) {
            PyErr_SetString(PyExc_ValueError, "text_cells: a code outside [0, v)");
            goto done;
        }
        int64_t code = t * v + t2, never = -1;
        int added;
        int64_t id = id_table_get(&table, (uint64_t)code, &added);
        if (id < 0 || (added && (append(&pairs, &code, 8) < 0 || append(&last_pair, &never, 8) < 0))) {
            goto done;
        }
        int64_t *seen = (int64_t *)last_pair.buf + id;
        if (*seen != r) {
            *seen = r;
            if (lab >= 0) {
                cells[m++] = (v + id) * n_labels + lab;
            }
        }
    }
    if (_PyBytes_Resize(&cell_obj, m * 8) < 0) {
        goto done;
    }
    pair_obj = as_bytes(&pairs);
    if (pair_obj != NULL) {
        result = PyTuple_Pack(2, cell_obj, pair_obj);
    }
done:
    Py_XDECREF(cell_obj);
    Py_XDECREF(pair_obj);
    PyMem_Free(last_tok);
    PyMem_Free(last_pair.buf);
    PyMem_Free(pairs.buf);
    PyMem_Free(table.slots);
    PyBuffer_Release(&rowv);
    PyBuffer_Release(&codev);
    PyBuffer_Release(&labv);
    return result;
}

PyDoc_STRVAR(near_pairs_doc,
"near_pairs(table, loc_shift, cap, max_partners) -> (later, earlier, later_item, earlier_item, total, capped)\n\n"
"The near-duplicate reduce's candidate pairs of one bucket. ``table`` holds n rows of three uint64\n"
"(band key, split location, item location), split locations non-decreasing (the split is\n"
"``location >> loc_shift``). Rows sharing a band key form a group, in location order; each row\n"
"is paired with the first ``j`` < ``max_partners`` rows of its group from earlier splits (cross)\n"
"and of its own split (within) that come before it. ``total`` counts those pairs partner rank by\n"
"rank, stopping before a rank once it exceeds 2 * ``cap`` (the later ranks are then not paired).\n"
"Returns bytes holding the first ``cap`` distinct pairs by (later, earlier) location (uint64:\n"
"their split and item locations), ``total``, and whether pairs were left out (a rank skipped, or\n"
"more than ``cap`` distinct pairs): near_duplicates.reduce_bucket's numpy path, bit for bit.");

#define NEAR_MAX_PARTNERS 8
#define NEAR_AHEAD 16

/* one group (band key) of a bucket: its rows so far, of its current split, and before that split
 * (rows are numbered by position in the table, below 2**31) */
typedef struct {
    int32_t n, n_cur, n_before;
    uint32_t split; /* the current split's number among the bucket's splits, + 1 (0: none yet) */
} near_count;

/* A row of split s (numbered from 1) comes to group g: a new split starts a new run (the rows
 * before it are all from earlier splits, as locations ascend). Returns the row's partners from
 * earlier splits and from its own, at most `ranks` each; the row then counts as one of the group's. */
static inline void
near_step(near_count *g, uint32_t s, int32_t ranks, int32_t *cross, int32_t *within)
{
    if (g->split != s) {
        g->split = s;
        g->n_before = g->n;
        g->n_cur = 0;
    }
    *cross = g->n_before < ranks ? g->n_before : ranks;
    *within = g->n_cur < ranks ? g->n_cur : ranks;
    g->n++;
    g->n_cur++;
}

static PyObject *
near_pairs(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (arity("near_pairs(table, loc_shift, cap, max_partners)", 4, nargs) < 0) {
        return NULL;
    }
    Py_ssize_t shift = PyLong_AsSsize_t(args[1]), cap = PyLong_AsSsize_t(args[2]), partners = PyLong_AsSsize_t(args[3]);
    if ((shift == -1 || cap == -1 || partners == -1) && PyErr_Occurred()) {
        return NULL;
    }
    if (shift < 0 || shift > 63 || cap < 0 || partners < 0 || partners > NEAR_MAX_PARTNERS) {
        PyErr_SetString(PyExc_ValueError, "near_pairs: loc_shift in [0, 63], cap >= 0 and max_partners in [0, 8] are needed");
        return NULL;
    }
    Py_buffer tabv = {0};
    PyObject *out[4] = {NULL, NULL, NULL, NULL}, *result = NULL;
    int32_t *gid = NULL, *first = NULL;
    uint32_t *split_no = NULL;
    id_table keys = {NULL, -1, 0}; /* band key -> its group's number */
    near_count *groups = NULL;
    grow_buf cand = {0};
    if (PyObject_GetBuffer(args[0], &tabv, PyBUF_SIMPLE) < 0) {
        goto done;
    }
    if (tabv.len % 24 || tabv.len / 24 >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "near_pairs: table must hold fewer than 2**31 rows of three uint64");
        goto done;
    }
    Py_ssize_t n = tabv.len / 24;
    const uint64_t *tab = (const uint64_t *)tabv.buf;
    /* each row's split, numbered from 1 in order (locations must ascend) */
    split_no = PyMem_Malloc((size_t)(n > 0 ? n : 1) * 4);
    gid = PyMem_Malloc((size_t)(n > 0 ? n : 1) * 4);
    /* the groups' counts: at most one group per row */
    groups = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(near_count));
    if (split_no == NULL || gid == NULL || groups == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* sized for every row's key at once: the table never grows during the walk */
    if (id_table_grow(&keys, 2 * n + 2) < 0) {
        goto done;
    }
    uint32_t s_no = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i > 0 && tab[3 * i + 1] < tab[3 * i - 2]) {
            PyErr_SetString(PyExc_ValueError, "near_pairs: split locations must be non-decreasing");
            goto done;
        }
        if (i == 0 || (tab[3 * i + 1] >> shift) != (tab[3 * i - 2] >> shift)) {
            s_no++;
        }
        split_no[i] = s_no;
    }
    /* pass 1: number the groups (band keys) and count the pairs of each partner rank */
    int64_t per_rank[NEAR_MAX_PARTNERS] = {0};
    for (Py_ssize_t i = 0; i < n; i++) {
#if defined(__GNUC__) || defined(__clang__)
        /* the table is megabytes: ask for a later row's slot now (a fifth faster on a bucket) */
        if (i + NEAR_AHEAD < n) {
            __builtin_prefetch(keys.slots + (mix64(tab[3 * (i + NEAR_AHEAD)]) & (uint64_t)keys.mask));
        }
#endif
        int added;
        int32_t g = (int32_t)id_table_get(&keys, tab[3 * i], &added), cross, within;
        if (g < 0) {
            goto done;
        }
        if (added) {
            groups[g] = (near_count){0, 0, 0, 0};
        }
        gid[i] = g;
        near_step(groups + g, split_no[i], (int32_t)partners, &cross, &within);
        for (int32_t j = 0; j < cross; j++) {
            per_rank[j]++;
        }
        for (int32_t j = 0; j < within; j++) {
            per_rank[j]++;
        }
    }
    int32_t n_groups = (int32_t)keys.used;
    PyMem_Free(keys.slots);
    keys.slots = NULL;
    int64_t total = 0;
    int32_t ranks = (int32_t)partners;
    int capped = 0;
    for (int32_t j = 0; j < (int32_t)partners; j++) {
        if (total > 2 * (int64_t)cap) {
            capped = 1;
            ranks = j;
            break;
        }
        total += per_rank[j];
    }
    /* pass 2: each later row's partners, distinct and ascending, until cap distinct pairs. A
     * group's first rows overall and of its current split are kept (2 * ranks per group). */
    Py_ssize_t room = (int64_t)cap < total ? cap : (Py_ssize_t)total;
    for (int k = 0; k < 4; k++) {
        out[k] = PyBytes_FromStringAndSize(NULL, (room > 0 ? room : 1) * 8);
        if (out[k] == NULL) {
            goto done;
        }
    }
    uint64_t *lat = (uint64_t *)PyBytes_AS_STRING(out[0]), *ear = (uint64_t *)PyBytes_AS_STRING(out[1]);
    uint64_t *ilat = (uint64_t *)PyBytes_AS_STRING(out[2]), *iear = (uint64_t *)PyBytes_AS_STRING(out[3]);
    Py_ssize_t m = 0;
    if (ranks > 0 && total > 0) {
        first = PyMem_Malloc((size_t)n_groups * 2 * (size_t)ranks * 4);
        if (first == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        memset(groups, 0, (size_t)n_groups * sizeof(near_count));
    }
    Py_ssize_t i = 0;
    while (ranks > 0 && total > 0 && i < n && m <= cap) {
        uint64_t loc = tab[3 * i + 1];
        Py_ssize_t c = 0;
        for (; i < n && tab[3 * i + 1] == loc; i++) {
            near_count *g = groups + gid[i];
            int32_t *f = first + (size_t)gid[i] * 2 * (size_t)ranks, *cf = f + ranks;
            int32_t n_all = g->n, n_cur = g->split == split_no[i] ? g->n_cur : 0, cross, within;
            near_step(g, split_no[i], ranks, &cross, &within);
            if (reserve(&cand, (c + cross + within) * 4) < 0) {
                goto done;
            }
            int32_t *cb = (int32_t *)cand.buf;
            for (int32_t j = 0; j < cross; j++) {
                cb[c++] = f[j];
            }
            for (int32_t j = 0; j < within; j++) {
                cb[c++] = cf[j];
            }
            if (n_all < ranks) {
                f[n_all] = (int32_t)i;
            }
            if (n_cur < ranks) {
                cf[n_cur] = (int32_t)i;
            }
        }
        /* this row's partners by location (insertion sort: a handful), each once */
        int32_t *cb = (int32_t *)cand.buf;
        for (Py_ssize_t a = 1; a < c; a++) {
            int32_t v = cb[a];
            uint64_t lv = tab[3 * (Py_ssize_t)v + 1];
            Py_ssize_t b = a;
            while (b > 0 && tab[3 * (Py_ssize_t)cb[b - 1] + 1] > lv) {
                cb[b] = cb[b - 1];
                b--;
            }
            cb[b] = v;
        }
        for (Py_ssize_t a = 0; a < c; a++) {
            uint64_t e = tab[3 * (Py_ssize_t)cb[a] + 1];
            if (a > 0 && e == tab[3 * (Py_ssize_t)cb[a - 1] + 1]) {
                continue;
            }
            if (m == cap) {
                capped = 1; /* a distinct pair more than cap */
                m++;
                break;
            }
            lat[m] = loc;
            ear[m] = e;
            ilat[m] = tab[3 * (i - 1) + 2];
            iear[m] = tab[3 * (Py_ssize_t)cb[a] + 2];
            m++;
        }
    }
    if (m > cap) {
        m = cap;
    }
    for (int k = 0; k < 4; k++) {
        if (_PyBytes_Resize(&out[k], m * 8) < 0) {
            goto done;
        }
    }
    result = Py_BuildValue("(OOOOLO)", out[0], out[1], out[2], out[3], (long long)total, capped ? Py_True : Py_False);
done:
    for (int k = 0; k < 4; k++) {
        Py_XDECREF(out[k]);
    }
    PyMem_Free(cand.buf);
    PyMem_Free(gid);
    PyMem_Free(first);
    PyMem_Free(split_no);
    PyMem_Free(keys.slots);
    PyMem_Free(groups);
    PyBuffer_Release(&tabv);
    return result;
}

static PyMethodDef words_methods[] = {
    {"words", (PyCFunction)(void (*)(void))words, METH_FASTCALL, words_doc},
    {"ascii_tokens", (PyCFunction)(void (*)(void))ascii_tokens, METH_FASTCALL, ascii_tokens_doc},
    {"band_keys", (PyCFunction)(void (*)(void))band_keys, METH_FASTCALL, band_keys_doc},
    {"argsort_u64", (PyCFunction)(void (*)(void))argsort_u64, METH_FASTCALL, argsort_u64_doc},
    {"word_sets", (PyCFunction)(void (*)(void))word_sets, METH_FASTCALL, word_sets_doc},
    {"text_cells", (PyCFunction)(void (*)(void))text_cells, METH_FASTCALL, text_cells_doc},
    {"near_pairs", (PyCFunction)(void (*)(void))near_pairs, METH_FASTCALL, near_pairs_doc},
    {NULL, NULL, 0, NULL},
};

static int
words_exec(PyObject *module)
{
    return PyModule_AddIntConstant(module, "ABI", DATAGATE_WORDS_ABI);
}

static PyModuleDef_Slot words_slots[] = {
    {Py_mod_exec, words_exec},
    {0, NULL},
};

static struct PyModuleDef words_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "datagate._words",
    .m_doc = "Optional C accelerator: words of a text column and their hashes, and backdoor_triggers' ASCII tokens (see _words.c).",
    .m_size = 0,
    .m_methods = words_methods,
    .m_slots = words_slots,
};

PyMODINIT_FUNC
PyInit__words(void)
{
    return PyModuleDef_Init(&words_module);
}
