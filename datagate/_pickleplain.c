/* Optional accelerator for the pickle scanner: recognise a plain-data pickle in one C pass.
 *
 * A "plain-data" stream is one PROTO-led or bare pickle that builds only None, booleans,
 * numbers, strings, bytes, lists, tuples, dicts and sets, and then ends at its STOP on the last
 * byte. It names no global (GLOBAL, STACK_GLOBAL, INST, OBJ, EXT*), calls nothing (REDUCE, BUILD,
 * NEWOBJ*), has no persistent ids, out-of-band buffers or protocol-0 text opcodes, and re-uses
 * no container through the memo. No loader can run code from such a stream.
 *
 * plain_data() answers True only when the full walk in pickles.py would report nothing for the
 * stream, which it can decide without building the walk's values:
 *
 * - every opcode parses, with its argument inside the data;
 * - the stack never underflows (below the innermost MARK where the walk checks that), every
 *   MARK is closed where one is needed, SETITEMS and DICT get pairs;
 * - the memo is only read where it was written, and never for a container, so no value can
 *   count more elements than the opcodes that built it (no expansion finding);
 * - every UTF-8 string decodes strictly (the walk decodes dict keys);
 * - FRAMEs are consistent: none starts inside another, and no opcode or STOP crosses one's end;
 * - the protocol is at most 5 and the counts stay far under the walk's limits.
 *
 * Anything else (an unusual opcode, a limit near, malformed bytes, data after the STOP) answers
 * False and the scanner takes the full walk, which decides and reports. So a False is never a
 * verdict, and the module can be absent: results are the same without it, only slower. Nothing
 * here unpickles, imports or calls anything named in the data.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* Bumped whenever the signature or the meaning of the answer changes; Python checks it. */
#define DATAGATE_PICKLEPLAIN_ABI 1

/* Well under the walk's own limits (_MAX_STACK 5,000,000 items and MARKs, _MAX_MEMO 2,000,000
 * entries), so the walk could never have reported a limit on a stream answered True. */
#define MAX_STACK (1 << 22)
#define MAX_MEMO_KEYS (1 << 20)

enum { K_SCALAR = 1, K_STR, K_BYTES, K_CONTAINER };

typedef struct {
    uint8_t *kind;        /* stack of value kinds */
    Py_ssize_t sp, cap;
    Py_ssize_t *marks;    /* stack heights at each open MARK */
    Py_ssize_t nmarks, mcap;
    uint8_t *memo;        /* kind per memo key, 0: unset */
    Py_ssize_t mlen;      /* allocated keys */
    Py_ssize_t mcount;    /* distinct keys set: what MEMOIZE uses as its key */
} walk;

static int
grow(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t item, Py_ssize_t limit)
{
    if (need <= *cap) {
        return 0;
    }
    if (need > limit) {
        return -1;
    }
    Py_ssize_t ncap = *cap ? *cap : 64;
    while (ncap < need) {
        ncap *= 2;
    }
    if (ncap > limit) {
        ncap = limit;
    }
    void *nb = PyMem_Realloc(*buf, (size_t)ncap * item);
    if (nb == NULL) {
        return -1;
    }
    *buf = nb;
    *cap = ncap;
    return 0;
}

static int
push(walk *w, uint8_t k)
{
    if (grow((void **)&w->kind, &w->cap, w->sp + 1, 1, MAX_STACK) < 0) {
        return -1;
    }
    w->kind[w->sp++] = k;
    return 0;
}

static inline Py_ssize_t
fence(const walk *w)
{
    return w->nmarks ? w->marks[w->nmarks - 1] : 0;
}

/* The walk's pop(): fails at or below the innermost MARK. */
static inline int
pop(walk *w)
{
    if (w->sp <= fence(w)) {
        return -1;
    }
    w->sp--;
    return 0;
}

/* The walk's pop_mark(): the items above the innermost MARK, which is closed; their count. */
static inline Py_ssize_t
pop_mark(walk *w)
{
    if (w->nmarks == 0) {
        return -1;
    }
    Py_ssize_t m = w->marks[--w->nmarks];
    Py_ssize_t items = w->sp - m;
    w->sp = m;
    return items;
}

static int
memo_set(walk *w, uint64_t key)
{
    if (w->sp == 0 || key >= MAX_MEMO_KEYS) {
        return -1;
    }
    Py_ssize_t k = (Py_ssize_t)key;
    if (k >= w->mlen) {
        Py_ssize_t ncap = w->mlen ? w->mlen : 256;
        while (ncap <= k) {
            ncap *= 2;
        }
        uint8_t *nb = PyMem_Realloc(w->memo, (size_t)ncap);
        if (nb == NULL) {
            return -1;
        }
        memset(nb + w->mlen, 0, (size_t)(ncap - w->mlen));
        w->memo = nb;
        w->mlen = ncap;
    }
    if (w->memo[k] == 0) {
        w->mcount++;
    }
    w->memo[k] = w->kind[w->sp - 1];
    return 0;
}

static int
memo_get(walk *w, uint64_t key)
{
    if (key >= (uint64_t)w->mlen) {
        return -1;
    }
    uint8_t k = w->memo[key];
    if (k == 0 || k == K_CONTAINER) {
        return -1;
    }
    return push(w, k);
}

static inline uint64_t
le(const uint8_t *p, int size)
{
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* A count of ``size`` bytes at ``*pos`` (little-endian; ``is_signed``: a negative one is
 * malformed), then that many bytes: move ``*pos`` past both and set ``*len``; -1 when either
 * runs past the end of the data. */
static int
counted(const uint8_t *d, Py_ssize_t n, Py_ssize_t *pos, int size, int is_signed, Py_ssize_t *len)
{
    if (n - *pos < size) {
        return -1;
    }
    uint64_t ln = le(d + *pos, size);
    if (is_signed && (ln & 0x80000000u)) {
        return -1;
    }
    *pos += size;
    if (ln > (uint64_t)(n - *pos)) {
        return -1;
    }
    *len = (Py_ssize_t)ln;
    *pos += *len;
    return 0;
}

/* Strict UTF-8 (no surrogates, no overlong forms, nothing past U+10FFFF). */
static int
utf8_ok(const uint8_t *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        while (i + 8 <= n) {
            uint64_t chunk;
            memcpy(&chunk, s + i, 8);
            if (chunk & 0x8080808080808080ULL) {
                break;
            }
            i += 8;
        }
        if (i >= n) {
            break;
        }
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int more;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
            cp = c & 0x1F;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            cp = c & 0x0F;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            cp = c & 0x07;
        }
        else {
            return 0;
        }
        if (n - i - 1 < more) {
            return 0;
        }
        for (int j = 1; j <= more; j++) {
            uint8_t t = s[i + j];
            if ((t & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (t & 0x3F);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
            return 0;
        }
        i += more + 1;
    }
    return 1;
}

/* 1: plain data; 0: not, or not decidable here (out of memory included): take the full walk. */
static int
plain(const uint8_t *d, Py_ssize_t n, long long max_ops)
{
    walk w = {0};
    int answer = 0;
    Py_ssize_t pos = 0, frame_end = -1;
    long long ops = 0;
    if (n == 0) {
        return 0;
    }
    for (;;) {
        if (pos >= n || ++ops > max_ops) {
            goto done;
        }
        Py_ssize_t off = pos, arg_end;
        uint8_t op = d[pos++];
        Py_ssize_t left = n - pos;     /* bytes after the opcode */
        int size;
        uint8_t kind;
        Py_ssize_t ln;
        switch (op) {
        case 0x80: /* PROTO */
            if (left < 1 || d[pos] > 5) {
                goto done;
            }
            pos += 1;
            break;
        case 0x95: /* FRAME: no straddle check for the FRAME opcode itself, as in the walk */
            if (left < 8 || frame_end > off) {
                goto done;
            }
            if (le(d + pos, 8) > (uint64_t)(n - pos - 8)) {
                goto done;
            }
            frame_end = pos + 8 + (Py_ssize_t)le(d + pos, 8);
            pos += 8;
            continue;
        case 0x94: /* MEMOIZE: the key is the number of memo entries */
            if (memo_set(&w, (uint64_t)w.mcount) < 0) {
                goto done;
            }
            break;
        case 0x71: /* BINPUT */
        case 0x72: /* LONG_BINPUT */
            size = op == 0x71 ? 1 : 4;
            if (left < size || memo_set(&w, le(d + pos, size)) < 0) {
                goto done;
            }
            pos += size;
            break;
        case 0x68: /* BINGET */
        case 0x6A: /* LONG_BINGET */
            size = op == 0x68 ? 1 : 4;
            if (left < size || memo_get(&w, le(d + pos, size)) < 0) {
                goto done;
            }
            pos += size;
            break;
        case 0x8C: /* SHORT_BINUNICODE */
        case 0x58: /* BINUNICODE */
        case 0x8D: /* BINUNICODE8 */
            size = op == 0x8C ? 1 : op == 0x58 ? 4 : 8;
            if (counted(d, n, &pos, size, 0, &ln) < 0 || !utf8_ok(d + pos - ln, ln)
                || push(&w, K_STR) < 0) {
                goto done;
            }
            break;
        case 0x55: /* SHORT_BINSTRING (latin-1: always decodes) */
        case 0x54: /* BINSTRING */
        case 0x43: /* SHORT_BINBYTES */
        case 0x42: /* BINBYTES */
        case 0x8E: /* BINBYTES8 */
        case 0x96: /* BYTEARRAY8 */
        case 0x8A: /* LONG1 */
        case 0x8B: /* LONG4 */
            size = (op == 0x55 || op == 0x43 || op == 0x8A) ? 1 : (op == 0x8E || op == 0x96) ? 8 : 4;
            kind = (op == 0x55 || op == 0x54) ? K_STR : (op == 0x8A || op == 0x8B) ? K_SCALAR : K_BYTES;
            /* BINSTRING and LONG4 counts are signed: a negative one is malformed */
            if (counted(d, n, &pos, size, op == 0x54 || op == 0x8B, &ln) < 0 || push(&w, kind) < 0) {
                goto done;
            }
            break;
        case 0x4B: /* BININT1 */
        case 0x4D: /* BININT2 */
        case 0x4A: /* BININT */
        case 0x47: /* BINFLOAT */
            size = op == 0x4B ? 1 : op == 0x4D ? 2 : op == 0x4A ? 4 : 8;
            if (left < size || push(&w, K_SCALAR) < 0) {
                goto done;
            }
            pos += size;
            break;
        case 0x4E: /* NONE */
        case 0x88: /* NEWTRUE */
        case 0x89: /* NEWFALSE */
            if (push(&w, K_SCALAR) < 0) {
                goto done;
            }
            break;
        case 0x28: /* MARK */
            if (grow((void **)&w.marks, &w.mcap, w.nmarks + 1, sizeof(Py_ssize_t), MAX_STACK) < 0) {
                goto done;
            }
            w.marks[w.nmarks++] = w.sp;
            break;
        case 0x7D: /* EMPTY_DICT */
        case 0x5D: /* EMPTY_LIST */
        case 0x8F: /* EMPTY_SET */
        case 0x29: /* EMPTY_TUPLE */
            if (push(&w, K_CONTAINER) < 0) {
                goto done;
            }
            break;
        case 0x85: /* TUPLE1 */
        case 0x86: /* TUPLE2 */
        case 0x87: /* TUPLE3 */
            if (w.sp - fence(&w) < op - 0x84) {
                goto done;
            }
            w.sp -= op - 0x84;
            if (push(&w, K_CONTAINER) < 0) {
                goto done;
            }
            break;
        case 0x61: /* APPEND */
            if (pop(&w) < 0 || w.sp <= fence(&w)) {
                goto done;
            }
            break;
        case 0x73: /* SETITEM */
            if (pop(&w) < 0 || pop(&w) < 0 || w.sp <= fence(&w)) {
                goto done;
            }
            break;
        case 0x65: /* APPENDS */
        case 0x75: /* SETITEMS */
        case 0x90: /* ADDITEMS */ {
            Py_ssize_t items = pop_mark(&w);
            if (items < 0 || w.sp == 0 || (op == 0x75 && items % 2)) {
                goto done;
            }
            break;
        }
        case 0x6C: /* LIST */
        case 0x74: /* TUPLE */
        case 0x64: /* DICT */
        case 0x91: /* FROZENSET */ {
            Py_ssize_t items = pop_mark(&w);
            if (items < 0 || (op == 0x64 && items % 2) || push(&w, K_CONTAINER) < 0) {
                goto done;
            }
            break;
        }
        case 0x30: /* POP: closes an empty MARK, else pops above it */
            if (w.nmarks && w.marks[w.nmarks - 1] == w.sp) {
                w.nmarks--;
            }
            else if (pop(&w) < 0) {
                goto done;
            }
            break;
        case 0x31: /* POP_MARK */
            if (pop_mark(&w) < 0) {
                goto done;
            }
            break;
        case 0x2E: /* STOP: the stream must end here, inside no FRAME */
            answer = pop(&w) == 0 && frame_end <= pos && pos == n;
            goto done;
        default: /* globals, calls, DUP, protocol-0 text, buffers, persistent ids, bad keys */
            goto done;
        }
        arg_end = pos;
        if (off < frame_end && frame_end < arg_end) {
            goto done; /* an opcode crosses the FRAME's end */
        }
    }
done:
    PyMem_Free(w.kind);
    PyMem_Free(w.marks);
    PyMem_Free(w.memo);
    return answer;
}

PyDoc_STRVAR(plain_data_doc,
"plain_data(data, max_ops) -> bool\n\n"
"True when ``data`` is one pickle stream of plain data (None, booleans, numbers, strings,\n"
"bytes, lists, tuples, dicts, sets; no global, call, DUP or container memo re-use), well\n"
"formed, ending at its STOP on the last byte, within ``max_ops`` opcodes: a stream for which\n"
"the scanner's full walk reports nothing. False means: take the full walk. Reads only.");

static PyObject *
plain_data(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "plain_data(data, max_ops) takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    long long max_ops = PyLong_AsLongLong(args[1]);
    if (max_ops == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    int answer = plain((const uint8_t *)view.buf, view.len, max_ops);
    PyBuffer_Release(&view);
    return PyBool_FromLong(answer);
}

static PyMethodDef pickleplain_methods[] = {
    {"plain_data", (PyCFunction)(void (*)(void))plain_data, METH_FASTCALL, plain_data_doc},
    {NULL, NULL, 0, NULL},
};

static int
pickleplain_exec(PyObject *module)
{
    return PyModule_AddIntConstant(module, "ABI", DATAGATE_PICKLEPLAIN_ABI);
}

static PyModuleDef_Slot pickleplain_slots[] = {
    {Py_mod_exec, pickleplain_exec},
    {0, NULL},
};

static struct PyModuleDef pickleplain_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "datagate._pickleplain",
    .m_doc = "Optional C accelerator: recognise plain-data pickles (see _pickleplain.c).",
    .m_size = 0,
    .m_methods = pickleplain_methods,
    .m_slots = pickleplain_slots,
};

PyMODINIT_FUNC
PyInit__pickleplain(void)
{
    return PyModuleDef_Init(&pickleplain_module);
}
