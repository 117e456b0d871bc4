/* Optional accelerator for the inventory's two per-file hot loops: listing a folder and
 * lstat'ing a chunk of paths. Both have pure-Python equivalents (walk.py, chunks.py) that give
 * identical results; this module only removes the interpreter's per-file overhead (a DirEntry
 * or stat_result object per file, six attribute reads per stat key). It never opens, reads or
 * follows anything: readdir, and fstatat with AT_SYMLINK_NOFOLLOW.
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
#define DATAGATE_NATIVE_ABI 1

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

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
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "list_dir(path, prefix) takes two arguments");
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

/* The lstat loop; runs without the GIL. Returns 1 when every path gave a usable key. */
static int
fill_keys(const char *root, size_t root_len, const rel_path *paths, Py_ssize_t n, int64_t *out)
{
    char *dir = NULL;           /* root + the folder part of the current path */
    size_t dir_cap = 0;
    size_t dir_len = (size_t)-1; /* length of the folder part the open fd is for */
    const char *dir_of = NULL;  /* the path whose folder part dir_fd is for */
    int dir_fd = -1;
    int usable = 1;
    for (Py_ssize_t i = 0; i < n && usable; i++) {
        const rel_path *p = &paths[i];
        size_t want = p->slash < 0 ? 0 : (size_t)p->slash + 1;
        if (dir_fd < 0 || want != dir_len || memcmp(dir_of, p->path, want) != 0) {
            if (dir_fd >= 0) {
                close(dir_fd);
                dir_fd = -1;
            }
            if (root_len + want + 1 > dir_cap) {
                char *grown = realloc(dir, root_len + want + 1);
                if (grown == NULL) {
                    usable = 0;
                    break;
                }
                dir = grown;
                dir_cap = root_len + want + 1;
            }
            memcpy(dir, root, root_len);
            memcpy(dir + root_len, p->path, want);
            dir[root_len + want] = '\0';
            dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dir_fd < 0) {
                usable = 0;
                break;
            }
            dir_len = want;
            dir_of = p->path;
        }
        struct stat st;
        int64_t mtime, ctime;
        if (fstatat(dir_fd, p->path + want, &st, AT_SYMLINK_NOFOLLOW) != 0
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
    if (dir_fd >= 0) {
        close(dir_fd);
    }
    free(dir);
    return usable;
}

static PyObject *
lstat_keys(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "lstat_keys(root, paths) takes two arguments");
        return NULL;
    }
    PyObject *root_bytes = NULL;
    PyObject *seq = NULL;
    PyObject *keys = NULL;
    rel_path *paths = NULL;
    if (!PyUnicode_FSConverter(args[0], &root_bytes)) {
        return NULL;
    }
    seq = PySequence_Fast(args[1], "lstat_keys: paths must be a sequence");
    if (seq == NULL) {
        goto fail;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    paths = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(rel_path));
    if (paths == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_Check(items[i])) {
            PyErr_SetString(PyExc_TypeError, "lstat_keys: paths must be str");
            goto fail;
        }
        Py_ssize_t len;
        /* The UTF-8 form is cached in the str (no copy for ASCII); it lives as long as seq. */
        const char *utf8 = PyUnicode_AsUTF8AndSize(items[i], &len);
        if (utf8 == NULL || (size_t)len != strlen(utf8)) {
            /* Not UTF-8 (a surrogate-escaped name) or an embedded NUL: the Python path. */
            PyErr_Clear();
            PyMem_Free(paths);
            Py_DECREF(seq);
            Py_DECREF(root_bytes);
            Py_RETURN_NONE;
        }
        const char *slash = strrchr(utf8, '/');
        paths[i].path = utf8;
        paths[i].len = len;
        paths[i].slash = slash == NULL ? -1 : (Py_ssize_t)(slash - utf8);
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

static PyMethodDef native_methods[] = {
    {"list_dir", (PyCFunction)(void (*)(void))list_dir, METH_FASTCALL, list_dir_doc},
    {"lstat_keys", (PyCFunction)(void (*)(void))lstat_keys, METH_FASTCALL, lstat_keys_doc},
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
