/* Optional accelerator for the pickle scanner: the common pickle, walked in one C pass.
 *
 * summarise() walks one pickle stream that builds data: None, booleans, numbers, strings, bytes,
 * lists, tuples, dicts and sets, and objects made by calling or instantiating globals named by
 * constant strings (GLOBAL, STACK_GLOBAL; REDUCE, NEWOBJ, NEWOBJ_EX, BUILD), as numpy arrays and
 * most library objects are pickled. It returns the globals the stream names, where each is first
 * named, how, and whether it is called: everything the scanner's full walk (pickles.py) would
 * report about such a stream, which Python then judges against the allowlist exactly as the walk
 * does. It answers None, "take the full walk", for everything else:
 *
 * - an opcode outside that set (DUP, INST, OBJ, EXT*, persistent ids, out-of-band buffers,
 *   protocol-0 text opcodes), or a byte that is no opcode;
 * - anything the walk reports as an issue of its own: an argument past the end of the data, a
 *   stack underflow (below the innermost MARK where the walk checks that), a missing MARK, odd
 *   SETITEMS or DICT items, a memo read of an unset key, a protocol over 5, a FRAME inside
 *   another or an opcode or STOP that crosses one's end, data after the STOP;
 * - a global named by anything but two strings that decode as strict UTF-8 (dynamic names), a
 *   call of anything but a global (a computed callable), a write into a global (APPEND, SETITEM,
 *   BUILD ... onto one);
 * - a container or call result read back from the memo: then one value could count more
 *   elements than the opcodes that built it (the walk's expansion finding); without such
 *   re-use it never can;
 * - a UTF-8 string that does not decode strictly (the walk decodes dict keys and names);
 * - counts near the walk's limits, or more than a few dozen distinct globals.
 *
 * So None is never a verdict, and the module can be absent: results are the same without it,
 * only slower. Nothing here unpickles, imports or calls anything named in the data.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* Bumped whenever the signature or the meaning of the answer changes; Python checks it. */
#define DATAGATE_PICKLEWALK_ABI 1

/* Well under the walk's own limits (_MAX_STACK 5,000,000 items and MARKs, _MAX_MEMO 2,000,000
 * entries), so the walk could never have reported a limit on a stream summarised here. */
#define MAX_STACK (1 << 20)
#define MAX_MEMO_KEYS (1 << 20)
#define MAX_GLOBALS 64
/* The walk keeps strings of at most _MAX_STR_KEEP bytes; longer ones cannot name a global. */
#define MAX_NAME 1024

enum { K_SCALAR = 1, K_STR, K_NAME, K_BYTES, K_CONTAINER, K_GLOBAL, K_CALL };
enum { VIA_GLOBAL = 0, VIA_STACK_GLOBAL = 1 };

typedef struct {
    uint8_t kind;
    int32_t global;      /* K_GLOBAL: index into the globals table */
    Py_ssize_t pos, len; /* K_NAME: a strict UTF-8 string of at most MAX_NAME bytes */
} val;

typedef struct {
    Py_ssize_t mpos, mlen, npos, nlen; /* module and name bytes in the data */
    Py_ssize_t offset;                 /* the opcode that first names it */
    uint8_t via, called;
} global;

typedef struct {
    val *stack;
    Py_ssize_t sp, cap;
    Py_ssize_t *marks; /* stack heights at each open MARK */
    Py_ssize_t nmarks, mcap;
    val *memo; /* per key; kind 0: unset */
    Py_ssize_t mlen;   /* allocated keys */
    Py_ssize_t mcount; /* distinct keys set: what MEMOIZE uses as its key */
    global globals[MAX_GLOBALS];
    int nglobals;
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
push(walk *w, val v)
{
    if (grow((void **)&w->stack, &w->cap, w->sp + 1, sizeof(val), MAX_STACK) < 0) {
        return -1;
    }
    w->stack[w->sp++] = v;
    return 0;
}

static int
push_kind(walk *w, uint8_t kind)
{
    val v = {kind, -1, 0, 0};
    return push(w, v);
}

static inline Py_ssize_t
fence(const walk *w)
{
    return w->nmarks ? w->marks[w->nmarks - 1] : 0;
}

/* The walk's pop(): fails at or below the innermost MARK. */
static inline int
pop(walk *w, val *out)
{
    if (w->sp <= fence(w)) {
        return -1;
    }
    *out = w->stack[--w->sp];
    return 0;
}

/* The value that APPEND, SETITEM(S), BUILD ... write into: there (above the innermost MARK
 * where the walk checks that) and not a global (the walk's pickle.global.mutated). */
static inline int
target_ok(const walk *w, int fenced)
{
    if (w->sp <= (fenced ? fence(w) : 0)) {
        return 0;
    }
    return w->stack[w->sp - 1].kind != K_GLOBAL;
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
        val *nb = PyMem_Realloc(w->memo, (size_t)ncap * sizeof(val));
        if (nb == NULL) {
            return -1;
        }
        memset(nb + w->mlen, 0, (size_t)(ncap - w->mlen) * sizeof(val));
        w->memo = nb;
        w->mlen = ncap;
    }
    if (w->memo[k].kind == 0) {
        w->mcount++;
    }
    w->memo[k] = w->stack[w->sp - 1];
    return 0;
}

static int
memo_get(walk *w, uint64_t key)
{
    if (key >= (uint64_t)w->mlen) {
        return -1;
    }
    val v = w->memo[key];
    if (v.kind == 0 || v.kind == K_CONTAINER || v.kind == K_CALL) {
        return -1;
    }
    return push(w, v);
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

/* One line of a GLOBAL opcode at ``*pos`` (a name: strict UTF-8, at most MAX_NAME bytes, then a
 * newline); set its span and move ``*pos`` past the newline. */
static int
name_line(const uint8_t *d, Py_ssize_t n, Py_ssize_t *pos, Py_ssize_t *at, Py_ssize_t *len)
{
    Py_ssize_t room = n - *pos;
    const uint8_t *nl = memchr(d + *pos, '\n', (size_t)(room < MAX_NAME + 1 ? room : MAX_NAME + 1));
    if (nl == NULL) {
        return -1;
    }
    *at = *pos;
    *len = nl - (d + *pos);
    if (!utf8_ok(d + *at, *len)) {
        return -1;
    }
    *pos += *len + 1;
    return 0;
}

/* Push the global module.name (spans of the data), recorded once per distinct pair of names. */
static int
push_global(walk *w, const uint8_t *d, Py_ssize_t mpos, Py_ssize_t mlen, Py_ssize_t npos,
            Py_ssize_t nlen, Py_ssize_t offset, uint8_t via)
{
    int i;
    for (i = 0; i < w->nglobals; i++) {
        global *g = &w->globals[i];
        if (g->mlen == mlen && g->nlen == nlen && memcmp(d + g->mpos, d + mpos, (size_t)mlen) == 0
            && memcmp(d + g->npos, d + npos, (size_t)nlen) == 0) {
            break;
        }
    }
    if (i == w->nglobals) {
        if (i == MAX_GLOBALS) {
            return -1;
        }
        global g = {mpos, mlen, npos, nlen, offset, via, 0};
        w->globals[w->nglobals++] = g;
    }
    val v = {K_GLOBAL, i, 0, 0};
    return push(w, v);
}

/* A call of ``callee`` (REDUCE, NEWOBJ, NEWOBJ_EX): a global, which is marked called. */
static int
call(walk *w, val callee)
{
    if (callee.kind != K_GLOBAL) {
        return -1;
    }
    w->globals[callee.global].called = 1;
    return push_kind(w, K_CALL);
}

/* 1: summarised (the globals are in w); 0: take the full walk. Sets *ops to the opcode count. */
static int
summarise_stream(walk *w, const uint8_t *d, Py_ssize_t n, long long max_ops, long long *ops)
{
    Py_ssize_t pos = 0, frame_end = -1, ln, at, at2, ln2;
    val a, b, c;
    if (n == 0) {
        return 0;
    }
    for (;;) {
        if (pos >= n || ++*ops > max_ops) {
            return 0;
        }
        Py_ssize_t off = pos;
        uint8_t op = d[pos++], kind;
        Py_ssize_t left = n - pos; /* bytes after the opcode */
        int size;
        switch (op) {
        case 0x80: /* PROTO */
            if (left < 1 || d[pos] > 5) {
                return 0;
            }
            pos += 1;
            break;
        case 0x95: /* FRAME: no straddle check for the FRAME opcode itself, as in the walk */
            if (left < 8 || frame_end > off || le(d + pos, 8) > (uint64_t)(left - 8)) {
                return 0;
            }
            frame_end = pos + 8 + (Py_ssize_t)le(d + pos, 8);
            pos += 8;
            continue;
        case 0x94: /* MEMOIZE: the key is the number of memo entries */
            if (memo_set(w, (uint64_t)w->mcount) < 0) {
                return 0;
            }
            break;
        case 0x71: /* BINPUT */
        case 0x72: /* LONG_BINPUT */
            size = op == 0x71 ? 1 : 4;
            if (left < size || memo_set(w, le(d + pos, size)) < 0) {
                return 0;
            }
            pos += size;
            break;
        case 0x68: /* BINGET */
        case 0x6A: /* LONG_BINGET */
            size = op == 0x68 ? 1 : 4;
            if (left < size || memo_get(w, le(d + pos, size)) < 0) {
                return 0;
            }
            pos += size;
            break;
        case 0x8C: /* SHORT_BINUNICODE */
        case 0x58: /* BINUNICODE */
        case 0x8D: /* BINUNICODE8 */ {
            size = op == 0x8C ? 1 : op == 0x58 ? 4 : 8;
            if (counted(d, n, &pos, size, 0, &ln) < 0 || !utf8_ok(d + pos - ln, ln)) {
                return 0;
            }
            val v = {ln <= MAX_NAME ? K_NAME : K_STR, -1, pos - ln, ln};
            if (push(w, v) < 0) {
                return 0;
            }
            break;
        }
        case 0x55: /* SHORT_BINSTRING (latin-1: always decodes; never a name here) */
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
            if (counted(d, n, &pos, size, op == 0x54 || op == 0x8B, &ln) < 0 || push_kind(w, kind) < 0) {
                return 0;
            }
            break;
        case 0x4B: /* BININT1 */
        case 0x4D: /* BININT2 */
        case 0x4A: /* BININT */
        case 0x47: /* BINFLOAT */
            size = op == 0x4B ? 1 : op == 0x4D ? 2 : op == 0x4A ? 4 : 8;
            if (left < size || push_kind(w, K_SCALAR) < 0) {
                return 0;
            }
            pos += size;
            break;
        case 0x4E: /* NONE */
        case 0x88: /* NEWTRUE */
        case 0x89: /* NEWFALSE */
            if (push_kind(w, K_SCALAR) < 0) {
                return 0;
            }
            break;
        case 0x28: /* MARK */
            if (grow((void **)&w->marks, &w->mcap, w->nmarks + 1, sizeof(Py_ssize_t), MAX_STACK) < 0) {
                return 0;
            }
            w->marks[w->nmarks++] = w->sp;
            break;
        case 0x7D: /* EMPTY_DICT */
        case 0x5D: /* EMPTY_LIST */
        case 0x8F: /* EMPTY_SET */
        case 0x29: /* EMPTY_TUPLE */
            if (push_kind(w, K_CONTAINER) < 0) {
                return 0;
            }
            break;
        case 0x85: /* TUPLE1 */
        case 0x86: /* TUPLE2 */
        case 0x87: /* TUPLE3 */
            if (w->sp - fence(w) < op - 0x84) {
                return 0;
            }
            w->sp -= op - 0x84;
            if (push_kind(w, K_CONTAINER) < 0) {
                return 0;
            }
            break;
        case 0x61: /* APPEND */
            if (pop(w, &a) < 0 || !target_ok(w, 1)) {
                return 0;
            }
            break;
        case 0x73: /* SETITEM */
            if (pop(w, &a) < 0 || pop(w, &b) < 0 || !target_ok(w, 1)) {
                return 0;
            }
            break;
        case 0x65: /* APPENDS */
        case 0x75: /* SETITEMS */
        case 0x90: /* ADDITEMS */ {
            Py_ssize_t items = pop_mark(w);
            if (items < 0 || !target_ok(w, 0) || (op == 0x75 && items % 2)) {
                return 0;
            }
            break;
        }
        case 0x6C: /* LIST */
        case 0x74: /* TUPLE */
        case 0x64: /* DICT */
        case 0x91: /* FROZENSET */ {
            Py_ssize_t items = pop_mark(w);
            if (items < 0 || (op == 0x64 && items % 2) || push_kind(w, K_CONTAINER) < 0) {
                return 0;
            }
            break;
        }
        case 0x30: /* POP: closes an empty MARK, else pops above it */
            if (w->nmarks && w->marks[w->nmarks - 1] == w->sp) {
                w->nmarks--;
            }
            else if (pop(w, &a) < 0) {
                return 0;
            }
            break;
        case 0x31: /* POP_MARK */
            if (pop_mark(w) < 0) {
                return 0;
            }
            break;
        case 0x93: /* STACK_GLOBAL: two constant names */
            if (pop(w, &b) < 0 || pop(w, &a) < 0 || a.kind != K_NAME || b.kind != K_NAME
                || push_global(w, d, a.pos, a.len, b.pos, b.len, off, VIA_STACK_GLOBAL) < 0) {
                return 0;
            }
            break;
        case 0x63: /* GLOBAL: module and name lines */
            if (name_line(d, n, &pos, &at, &ln) < 0 || name_line(d, n, &pos, &at2, &ln2) < 0
                || push_global(w, d, at, ln, at2, ln2, off, VIA_GLOBAL) < 0) {
                return 0;
            }
            break;
        case 0x52: /* REDUCE */
        case 0x81: /* NEWOBJ */
            if (pop(w, &a) < 0 || pop(w, &b) < 0 || call(w, b) < 0) {
                return 0;
            }
            break;
        case 0x92: /* NEWOBJ_EX */
            if (pop(w, &a) < 0 || pop(w, &b) < 0 || pop(w, &c) < 0 || call(w, c) < 0) {
                return 0;
            }
            break;
        case 0x62: /* BUILD */
            if (pop(w, &a) < 0 || !target_ok(w, 1)) {
                return 0;
            }
            break;
        case 0x2E: /* STOP: the stream must end here, inside no FRAME */
            return pop(w, &a) == 0 && frame_end <= pos && pos == n;
        default: /* DUP, INST, OBJ, EXT*, persistent ids, buffers, protocol-0 text, bad keys */
            return 0;
        }
        if (off < frame_end && frame_end < pos) {
            return 0; /* an opcode crosses the FRAME's end */
        }
    }
}

static PyObject *
globals_tuple(const walk *w, const uint8_t *d)
{
    PyObject *out = PyTuple_New(w->nglobals);
    if (out == NULL) {
        return NULL;
    }
    for (int i = 0; i < w->nglobals; i++) {
        const global *g = &w->globals[i];
        PyObject *item = Py_BuildValue(
            "(s#s#nsO)", (const char *)d + g->mpos, g->mlen, (const char *)d + g->npos, g->nlen,
            g->offset, g->via == VIA_GLOBAL ? "GLOBAL" : "STACK_GLOBAL",
            g->called ? Py_True : Py_False);
        if (item == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, i, item);
    }
    return out;
}

PyDoc_STRVAR(summarise_doc,
"summarise(data, max_ops) -> (ops, globals) | None\n\n"
"Walk the pickle stream ``data`` if it builds data from constants and named globals only\n"
"(see _picklewalk.c for the exact set), is well formed, ends at its STOP on the last byte and\n"
"takes at most ``max_ops`` opcodes. Return the opcode count and, per distinct global in the\n"
"order first named, (module, name, offset, via, called): via is 'GLOBAL' or 'STACK_GLOBAL'.\n"
"None: take the full walk (it is never a verdict). Reads only; never imports or calls.");

static PyObject *
summarise(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "summarise(data, max_ops) takes 2 arguments (%zd given)", nargs);
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
    walk w;
    memset(&w, 0, sizeof(w));
    long long ops = 0;
    const uint8_t *d = (const uint8_t *)view.buf;
    PyObject *out;
    if (summarise_stream(&w, d, view.len, max_ops, &ops)) {
        PyObject *globals = globals_tuple(&w, d);
        out = globals == NULL ? NULL : Py_BuildValue("(LN)", ops, globals);
    }
    else {
        out = Py_NewRef(Py_None);
    }
    PyMem_Free(w.stack);
    PyMem_Free(w.marks);
    PyMem_Free(w.memo);
    PyBuffer_Release(&view);
    return out;
}

static PyMethodDef picklewalk_methods[] = {
    {"summarise", (PyCFunction)(void (*)(void))summarise, METH_FASTCALL, summarise_doc},
    {NULL, NULL, 0, NULL},
};

static int
picklewalk_exec(PyObject *module)
{
    return PyModule_AddIntConstant(module, "ABI", DATAGATE_PICKLEWALK_ABI);
}

static PyModuleDef_Slot picklewalk_slots[] = {
    {Py_mod_exec, picklewalk_exec},
    {0, NULL},
};

static struct PyModuleDef picklewalk_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "datagate._picklewalk",
    .m_doc = "Optional C accelerator: the common pickle stream walked in one pass (see _picklewalk.c).",
    .m_size = 0,
    .m_methods = picklewalk_methods,
    .m_slots = picklewalk_slots,
};

PyMODINIT_FUNC
PyInit__picklewalk(void)
{
    return PyModuleDef_Init(&picklewalk_module);
}
