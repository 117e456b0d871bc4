/* Optional accelerator for the inventory's per-file hot loops: listing a folder, lstat'ing a
 * chunk of paths, and reading the small files of a chunk for hashing. Each has a pure-Python
 * twin (walk.py, chunks.py, hashing.py) that gives identical results; this module only removes
 * the interpreter's per-file overhead (a DirEntry or stat_result object per file, six attribute
 * reads per stat key, a dozen bytecode-level calls per file read). It never follows a symlink
 * (readdir; fstatat with AT_SYMLINK_NOFOLLOW; openat with O_NOFOLLOW | O_NONBLOCK) and never computes a
 * digest itself: the hashlib constructors it is given do.
 *
 * Built by setuptools as an optional extension: where no compiler is available, installation
 * goes on without it and datagate runs the Python code paths (DATAGATE_PURE_PYTHON=1 forces
 * them, for comparison).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Bumped whenever a signature or a result's meaning changes; Python checks it before use. */
#define DATAGATE_NATIVE_ABI 2

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#if defined(__APPLE__)
/* macOS names the nanosecond timestamps differently. */
#define st_mtim st_mtimespec
#define st_ctim st_ctimespec
#endif

/* The argument count check of the METH_FASTCALL functions below. */
static int
takes(const char *signature, Py_ssize_t nargs, Py_ssize_t want)
{
    if (nargs == want) {
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", signature, want, nargs);
    return -1;
}

PyDoc_STRVAR(list_dir_doc,
"list_dir(path, prefix) -> (files, dirs)\n\n"
"The names in folder ``path`` (never '.' or '..'), split into subfolders and everything else.\n"
"``files`` are ``prefix + name``, sorted by their bytes; ``dirs`` are bare names, unsorted. A\n"
"name counts as a folder when the listing says so or, where the file system does not tell the\n"
"type, when lstat says so (as os.scandir's is_dir(follow_symlinks=False)). Names are decoded\n"
"as os.fsdecode does. Raises OSError (with the path) when the folder cannot be read. The\n"
"listing and the sort run without the GIL.");

typedef struct {
    char *buf;          /* names, each NUL-terminated, back to back */
    size_t len, cap;
    size_t *at;         /* offset of each name in buf */
    size_t n, n_cap;
} name_list;

static int
names_add(name_list *l, const char *name)
{
    size_t len = strlen(name) + 1;
    if (l->len + len > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16384;
        while (cap < l->len + len) {
            cap *= 2;
        }
        char *grown = realloc(l->buf, cap);
        if (grown == NULL) {
            return -1;
        }
        l->buf = grown;
        l->cap = cap;
    }
    if (l->n == l->n_cap) {
        size_t cap = l->n_cap ? l->n_cap * 2 : 256;
        size_t *grown = realloc(l->at, cap * sizeof(size_t));
        if (grown == NULL) {
            return -1;
        }
        l->at = grown;
        l->n_cap = cap;
    }
    memcpy(l->buf + l->len, name, len);
    l->at[l->n++] = l->len;
    l->len += len;
    return 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Read the folder into files/dirs and sort files; no Python objects. Returns 0, or an errno. */
static int
read_folder(const char *path, name_list *files, name_list *dirs)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        int err = errno;
        close(fd);
        return err;
    }
    int err = 0;
    for (;;) {
        errno = 0;
        struct dirent *ent = readdir(dir);
        if (ent == NULL) {
            err = errno;
            break;
        }
        const char *name = ent->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
            continue;
        }
        int is_dir;
#ifdef _DIRENT_HAVE_D_TYPE
        if (ent->d_type == DT_DIR) {
            is_dir = 1;
        }
        else if (ent->d_type != DT_UNKNOWN) {
            is_dir = 0;
        }
        else
#endif
        {
            struct stat st;
            /* As DirEntry.is_dir: a name that cannot be lstat'ed is not a folder; whoever
             * inventories it next meets the failure and names it. */
            is_dir = fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (names_add(is_dir ? dirs : files, name) != 0) {
            err = ENOMEM;
            break;
        }
    }
    closedir(dir);
    return err;
}

static PyObject *
list_dir(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (takes("list_dir(path, prefix)", nargs, 2) < 0) {
        return NULL;
    }
    PyObject *path_bytes = NULL, *prefix_bytes = NULL;
    PyObject *files = NULL, *dirs = NULL;
    name_list fl = {0}, dl = {0};
    const char **order = NULL;
    char *scratch = NULL;
    if (!PyUnicode_FSConverter(args[0], &path_bytes)) {
        return NULL;
    }
    if (!PyUnicode_FSConverter(args[1], &prefix_bytes)) {
        goto fail;
    }
    const char *path = PyBytes_AS_STRING(path_bytes);
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = read_folder(path, &fl, &dl);
    if (err == 0) {
        /* The names no longer move: sort pointers to them. */
        order = malloc((fl.n ? fl.n : 1) * sizeof(char *));
        if (order == NULL) {
            err = ENOMEM;
        }
        else {
            for (size_t i = 0; i < fl.n; i++) {
                order[i] = fl.buf + fl.at[i];
            }
            qsort(order, fl.n, sizeof(char *), cmp_names);
        }
    }
    Py_END_ALLOW_THREADS
    if (err != 0) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, args[0]);
        goto fail;
    }
    files = PyList_New((Py_ssize_t)fl.n);
    dirs = PyList_New((Py_ssize_t)dl.n);
    if (files == NULL || dirs == NULL) {
        goto fail;
    }
    size_t plen = (size_t)PyBytes_GET_SIZE(prefix_bytes);
    size_t longest = 0;
    for (size_t i = 0; i < fl.n; i++) {
        size_t len = strlen(order[i]);
        longest = len > longest ? len : longest;
    }
    scratch = PyMem_Malloc(plen + longest + 1);
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    memcpy(scratch, PyBytes_AS_STRING(prefix_bytes), plen);
    for (size_t i = 0; i < fl.n; i++) {
        const char *name = order[i];
        size_t len = strlen(name);
        memcpy(scratch + plen, name, len);
        PyObject *s = PyUnicode_DecodeFSDefaultAndSize(scratch, (Py_ssize_t)(plen + len));
        if (s == NULL) {
            goto fail;
        }
        PyList_SET_ITEM(files, (Py_ssize_t)i, s);
    }
    for (size_t i = 0; i < dl.n; i++) {
        const char *name = dl.buf + dl.at[i];
        PyObject *s = PyUnicode_DecodeFSDefaultAndSize(name, (Py_ssize_t)strlen(name));
        if (s == NULL) {
            goto fail;
        }
        PyList_SET_ITEM(dirs, (Py_ssize_t)i, s);
    }
    PyMem_Free(scratch);
    free(order);
    free(fl.buf);
    free(fl.at);
    free(dl.buf);
    free(dl.at);
    Py_DECREF(path_bytes);
    Py_DECREF(prefix_bytes);
    PyObject *result = PyTuple_Pack(2, files, dirs);
    Py_DECREF(files);
    Py_DECREF(dirs);
    return result;

fail:
    PyMem_Free(scratch);
    free(order);
    free(fl.buf);
    free(fl.at);
    free(dl.buf);
    free(dl.at);
    Py_XDECREF(files);
    Py_XDECREF(dirs);
    Py_XDECREF(path_bytes);
    Py_XDECREF(prefix_bytes);
    return NULL;
}

PyDoc_STRVAR(lstat_keys_doc,
"lstat_keys(root, paths) -> bytes | None\n\n"
"lstat ``root + path`` for each of ``paths`` (not following a final symlink) and return the\n"
"stat keys (st_mode, st_dev, st_ino, st_mtime_ns, st_ctime_ns, st_size) of each as six native\n"
"signed 64-bit integers: the same bytes as array('q') over the keys os.lstat gives.\n"
"``root`` ends in '/'; paths are UTF-8 (os.fsencode on a UTF-8 file system). Returns None\n"
"when any path cannot be lstat'ed, is neither a regular file nor a symlink, or has a key that\n"
"does not fit in 64 signed bits: the caller then takes the Python path, which names the\n"
"problem. Each folder is opened once and its files lstat'ed relative to it (as lstat on the\n"
"whole path would resolve them); the calls run without the GIL.");

static int
ns_of(int64_t sec, int64_t nsec, int64_t *out)
{
    int64_t ns;
    if (__builtin_mul_overflow(sec, (int64_t)1000000000, &ns)) {
        return -1;
    }
    if (__builtin_add_overflow(ns, nsec, &ns)) {
        return -1;
    }
    *out = ns;
    return 0;
}

typedef struct {
    const char *path;   /* UTF-8, NUL-terminated, owned by the str object */
    Py_ssize_t len;
    Py_ssize_t slash;   /* index of the last '/', or -1 */
} rel_path;

/* An open folder for relative fstatat/openat calls over paths in order: paths of one folder
 * come together (chunks are in byte order), so each folder is opened once per run of them. */
typedef struct {
    char *buf;          /* root + the folder part of the current path */
    size_t cap;
    size_t len;         /* length of the folder part the fd is for */
    const char *of;     /* the path whose folder part fd is for */
    int fd;
} folder_cursor;

#define FOLDER_CURSOR_INIT {NULL, 0, (size_t)-1, NULL, -1}

/* Return a descriptor of p's folder (p's name is then p->path + *name_at), or -1. */
static int
folder_of(folder_cursor *c, const char *root, size_t root_len, const rel_path *p, size_t *name_at)
{
    size_t want = p->slash < 0 ? 0 : (size_t)p->slash + 1;
    *name_at = want;
    if (c->fd >= 0 && want == c->len && memcmp(c->of, p->path, want) == 0) {
        return c->fd;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (root_len + want + 1 > c->cap) {
        char *grown = realloc(c->buf, root_len + want + 1);
        if (grown == NULL) {
            return -1;
        }
        c->buf = grown;
        c->cap = root_len + want + 1;
    }
    memcpy(c->buf, root, root_len);
    memcpy(c->buf + root_len, p->path, want);
    c->buf[root_len + want] = '\0';
    c->fd = open(c->buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    c->len = want;
    c->of = p->path;
    return c->fd;
}

static void
folder_close(folder_cursor *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->buf);
}

/* The lstat loop; runs without the GIL. Returns 1 when every path gave a usable key. */
static int
fill_keys(const char *root, size_t root_len, const rel_path *paths, Py_ssize_t n, int64_t *out)
{
    folder_cursor folder = FOLDER_CURSOR_INIT;
    int usable = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        size_t name_at;
        int dir_fd = folder_of(&folder, root, root_len, &paths[i], &name_at);
        struct stat st;
        int64_t mtime, ctime;
        if (dir_fd < 0
            || fstatat(dir_fd, paths[i].path + name_at, &st, AT_SYMLINK_NOFOLLOW) != 0
            || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
            || (uint64_t)st.st_dev > (uint64_t)INT64_MAX
            || (uint64_t)st.st_ino > (uint64_t)INT64_MAX
            || ns_of((int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec, &mtime) != 0
            || ns_of((int64_t)st.st_ctim.tv_sec, (int64_t)st.st_ctim.tv_nsec, &ctime) != 0) {
            usable = 0;
            break;
        }
        out[0] = (int64_t)st.st_mode;
        out[1] = (int64_t)st.st_dev;
        out[2] = (int64_t)st.st_ino;
        out[3] = mtime;
        out[4] = ctime;
        out[5] = (int64_t)st.st_size;
        out += 6;
    }
    folder_close(&folder);
    return usable;
}

/* Fill paths[] from a tuple of str; 0 on success, 1 when a path is not plain UTF-8 (the
 * caller declines), -1 with an exception set. */
static int
utf8_paths(PyObject *seq, rel_path *paths)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_Check(items[i])) {
            PyErr_SetString(PyExc_TypeError, "paths must be str");
            return -1;
        }
        Py_ssize_t len;
        /* The UTF-8 form is cached in the str (no copy for ASCII); it lives as long as seq. */
        const char *utf8 = PyUnicode_AsUTF8AndSize(items[i], &len);
        if (utf8 == NULL || (size_t)len != strlen(utf8)) {
            /* Not UTF-8 (a surrogate-escaped name) or an embedded NUL: the Python path. */
            PyErr_Clear();
            return 1;
        }
        const char *slash = strrchr(utf8, '/');
        paths[i].path = utf8;
        paths[i].len = len;
        paths[i].slash = slash == NULL ? -1 : (Py_ssize_t)(slash - utf8);
    }
    return 0;
}

static PyObject *
lstat_keys(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (takes("lstat_keys(root, paths)", nargs, 2) < 0) {
        return NULL;
    }
    PyObject *root_bytes = NULL;
    PyObject *seq = NULL;
    PyObject *keys = NULL;
    rel_path *paths = NULL;
    if (!PyUnicode_FSConverter(args[0], &root_bytes)) {
        return NULL;
    }
    /* A tuple: nobody can drop its strings while their UTF-8 is read without the GIL. */
    seq = PySequence_Tuple(args[1]);
    if (seq == NULL) {
        goto fail;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    paths = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(rel_path));
    if (paths == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    int plain = utf8_paths(seq, paths);
    if (plain < 0) {
        goto fail;
    }
    if (plain > 0) {
        PyMem_Free(paths);
        Py_DECREF(seq);
        Py_DECREF(root_bytes);
        Py_RETURN_NONE;
    }
    keys = PyBytes_FromStringAndSize(NULL, n * 6 * (Py_ssize_t)sizeof(int64_t));
    if (keys == NULL) {
        goto fail;
    }
    int usable;
    const char *root = PyBytes_AS_STRING(root_bytes);
    size_t root_len = (size_t)PyBytes_GET_SIZE(root_bytes);
    int64_t *out = (int64_t *)PyBytes_AS_STRING(keys);
    Py_BEGIN_ALLOW_THREADS
    usable = fill_keys(root, root_len, paths, n, out);
    Py_END_ALLOW_THREADS
    PyMem_Free(paths);
    Py_DECREF(seq);
    Py_DECREF(root_bytes);
    if (!usable) {
        Py_DECREF(keys);
        Py_RETURN_NONE;
    }
    return keys;

fail:
    PyMem_Free(paths);
    Py_XDECREF(keys);
    Py_XDECREF(seq);
    Py_XDECREF(root_bytes);
    return NULL;
}

PyDoc_STRVAR(hash_files_doc,
"hash_files(root, paths, expect, new_sha256, new_md5) -> list[tuple[str, str | None, int] | None]\n\n"
"Hash the regular files ``root + path`` (small ones: each is read whole into memory) and\n"
"return (sha256 hex, md5 hex or None, bytes read) for each. ``expect`` packs the walk's\n"
"(st_dev, st_ino) of each path as two native unsigned 64-bit integers: a file is opened\n"
"with O_NOFOLLOW | O_NONBLOCK (a FIFO swapped in cannot hang the open) relative to its\n"
"folder and must still be that regular file. The digests are\n"
"computed by the given constructors (hashlib's: ``new_sha256(data)``, ``new_md5(data)`` or\n"
"None), so they are hashlib's own. A file that cannot be opened or read, is no longer the same\n"
"regular file, or grew past its size at open is a None: the caller hashes it the Python way,\n"
"which names the problem (all are None when any path is not plain UTF-8). Signals are\n"
"handled as os.read handles them: a handler's exception ends the call.");

#define HASH_FILES_MAX_SIZE ((off_t)1 << 26) /* larger files are the caller's to stream */

static PyObject *
hash_one(int dir_fd, const char *name, uint64_t dev, uint64_t ino, PyObject *new_sha,
         PyObject *new_md5, int *declined)
{
    int fd;
    *declined = 1;
    for (;;) {
        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0 || errno != EINTR) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            *declined = 0;
            return NULL;
        }
    }
    if (fd < 0) {
        return NULL;
    }
    struct stat st;
    PyObject *data = NULL, *sha = NULL, *sha_hex = NULL, *md5 = NULL, *md5_hex = NULL;
    PyObject *result = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != dev
        || (uint64_t)st.st_ino != ino || st.st_size < 0 || st.st_size > HASH_FILES_MAX_SIZE) {
        goto done;
    }
    Py_ssize_t cap = (Py_ssize_t)st.st_size + 1; /* one more: a file that grew is noticed */
    data = PyBytes_FromStringAndSize(NULL, cap);
    if (data == NULL) {
        *declined = 0;
        goto done;
    }
    char *buf = PyBytes_AS_STRING(data);
    Py_ssize_t total = 0;
    while (total < cap) {
        ssize_t got = read(fd, buf + total, (size_t)(cap - total));
        if (got < 0) {
            if (errno == EINTR) {
                if (PyErr_CheckSignals() < 0) {
                    *declined = 0;
                    goto done;
                }
                continue;
            }
            goto done;
        }
        if (got == 0) {
            break;
        }
        total += got;
    }
    if (total == cap) {
        goto done; /* grew since it was opened */
    }
    if (_PyBytes_Resize(&data, total) < 0) {
        *declined = 0;
        goto done;
    }
    *declined = 0;
    sha = PyObject_CallOneArg(new_sha, data);
    if (sha == NULL || (sha_hex = PyObject_CallMethod(sha, "hexdigest", NULL)) == NULL) {
        goto done;
    }
    if (new_md5 != Py_None) {
        md5 = PyObject_CallOneArg(new_md5, data);
        if (md5 == NULL || (md5_hex = PyObject_CallMethod(md5, "hexdigest", NULL)) == NULL) {
            goto done;
        }
    }
    result = Py_BuildValue("(OOn)", sha_hex, md5_hex != NULL ? md5_hex : Py_None, total);

done:
    close(fd);
    Py_XDECREF(data);
    Py_XDECREF(sha);
    Py_XDECREF(sha_hex);
    Py_XDECREF(md5);
    Py_XDECREF(md5_hex);
    return result;
}

static PyObject *
hash_files(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (takes("hash_files(root, paths, expect, new_sha256, new_md5)", nargs, 5) < 0) {
        return NULL;
    }
    PyObject *new_sha = args[3], *new_md5 = args[4];
    if (!PyCallable_Check(new_sha) || (new_md5 != Py_None && !PyCallable_Check(new_md5))) {
        PyErr_SetString(PyExc_TypeError, "hash_files: the digest constructors must be callable");
        return NULL;
    }
    PyObject *root_bytes = NULL, *seq = NULL, *out = NULL;
    rel_path *paths = NULL;
    Py_buffer expect = {0};
    folder_cursor folder = FOLDER_CURSOR_INIT;
    if (!PyUnicode_FSConverter(args[0], &root_bytes)) {
        return NULL;
    }
    /* A tuple: the hashlib calls may run other threads, which must not drop its strings. */
    seq = PySequence_Tuple(args[1]);
    if (seq == NULL || PyObject_GetBuffer(args[2], &expect, PyBUF_SIMPLE) < 0) {
        goto fail;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (expect.len != n * 2 * (Py_ssize_t)sizeof(uint64_t)) {
        PyErr_SetString(PyExc_ValueError, "hash_files: expect must hold two uint64 per path");
        goto fail;
    }
    paths = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(rel_path));
    if (paths == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    out = PyList_New(n);
    if (out == NULL) {
        goto fail;
    }
    int plain = utf8_paths(seq, paths);
    if (plain < 0) {
        goto fail;
    }
    const char *root = PyBytes_AS_STRING(root_bytes);
    size_t root_len = (size_t)PyBytes_GET_SIZE(root_bytes);
    uint64_t ids[2];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = NULL;
        size_t name_at;
        int dir_fd = plain == 0 ? folder_of(&folder, root, root_len, &paths[i], &name_at) : -1;
        if (dir_fd >= 0) {
            int declined;
            memcpy(ids, (const char *)expect.buf + i * 2 * (Py_ssize_t)sizeof(uint64_t), sizeof(ids));
            item = hash_one(dir_fd, paths[i].path + name_at, ids[0], ids[1], new_sha, new_md5, &declined);
            if (item == NULL && !declined) {
                goto fail; /* an exception: a signal handler raised, or out of memory */
            }
        }
        if (item == NULL) {
            item = Py_NewRef(Py_None);
        }
        PyList_SET_ITEM(out, i, item);
    }
    folder_close(&folder);
    PyBuffer_Release(&expect);
    PyMem_Free(paths);
    Py_DECREF(seq);
    Py_DECREF(root_bytes);
    return out;

fail:
    folder_close(&folder);
    if (expect.obj != NULL) {
        PyBuffer_Release(&expect);
    }
    PyMem_Free(paths);
    Py_XDECREF(out);
    Py_XDECREF(seq);
    Py_XDECREF(root_bytes);
    return NULL;
}

static PyMethodDef native_methods[] = {
    {"list_dir", (PyCFunction)(void (*)(void))list_dir, METH_FASTCALL, list_dir_doc},
    {"lstat_keys", (PyCFunction)(void (*)(void))lstat_keys, METH_FASTCALL, lstat_keys_doc},
    {"hash_files", (PyCFunction)(void (*)(void))hash_files, METH_FASTCALL, hash_files_doc},
    {NULL, NULL, 0, NULL},
};

static int
native_exec(PyObject *module)
{
    return PyModule_AddIntConstant(module, "ABI", DATAGATE_NATIVE_ABI);
}

static PyModuleDef_Slot native_slots[] = {
    {Py_mod_exec, native_exec},
    {0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "datagate.inventory._native",
    .m_doc = "Optional C accelerator for listing folders and lstat'ing chunks (see _native.c).",
    .m_size = 0,
    .m_methods = native_methods,
    .m_slots = native_slots,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModuleDef_Init(&native_module);
}
