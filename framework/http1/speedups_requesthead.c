/*
 * framework.http1.speedups, RequestHead without its Python constructor:
 * bind_request_head checks the dataclass's layout once and keeps where its
 * slots are in the module state; make_request_head fills a new instance's
 * slots from its arguments (read_request_head, in speedups_head.c, fills them
 * from a head it parsed).
 *
 * A file of its own because it is about a Python class's layout, not the
 * grammar: it shares only the module state (speedups.h) with the parser,
 * which calls none of its functions.
 */

#include "speedups.h"
#include <structmember.h> /* T_OBJECT_EX, READONLY: RequestHead's slots */

/* ------------------------------------------------------------------------
 * RequestHead, built without its Python constructor
 *
 * The dataclass's generated __init__ is a Python frame storing nine slots:
 * about 2,500 instructions per request, more than the rest of a plain GET's
 * framing. Here the instance is allocated and its slots filled directly, at
 * the offsets its member descriptors give. bind_request_head() checks once
 * that every field is a plain object slot, and refuses the class otherwise.
 * ------------------------------------------------------------------------ */

/* The fields of RequestHead (grammar.py), in the order its constructor takes them. */
static const char *const head_fields[] = {
    "method", "target", "version", "headers", "keep_alive", "expect_continue", "chunked", "content_length", "fields",
};
_Static_assert(sizeof head_fields / sizeof head_fields[0] == N_HEAD_FIELDS,
               "N_HEAD_FIELDS (speedups.h) counts head_fields");

FWSP_DOC_STRVAR(fwsp_bind_request_head_doc,
"bind_request_head(cls, /)\n--\n\n"
"Make make_request_head() build instances of cls, a slots dataclass whose fields are\n"
"method, target, version, headers, keep_alive, expect_continue, chunked, content_length\n"
"and fields, in that order. Raises TypeError when cls is not laid out so.");

PyObject *
fwsp_bind_request_head(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "bind_request_head() needs a class");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    /* Exactly the nine slots, on object itself, and no __init__ work of its own
       (a __post_init__) that building without __init__ would skip. */
    PyObject *slots = PyDict_GetItemString(type->tp_dict, "__slots__"); /* borrowed */
    if (type->tp_base != &PyBaseObject_Type || slots == NULL || !PyTuple_Check(slots) ||
        PyTuple_GET_SIZE(slots) != N_HEAD_FIELDS) {
        PyErr_Format(PyExc_TypeError, "%s does not have exactly RequestHead's nine slots", type->tp_name);
        return NULL;
    }
    int post_init = PyObject_HasAttrString(cls, "__post_init__");
    if (post_init) {
        PyErr_Format(PyExc_TypeError, "%s has a __post_init__", type->tp_name);
        return NULL;
    }
    Py_ssize_t offsets[N_HEAD_FIELDS];
    for (Py_ssize_t i = 0; i < N_HEAD_FIELDS; i++) {
        PyObject *descr = PyDict_GetItemString(type->tp_dict, head_fields[i]); /* borrowed */
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type->tp_name, head_fields[i]);
            return NULL;
        }
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a writable object slot", type->tp_name, head_fields[i]);
            return NULL;
        }
        /* make_request_head writes at these offsets: each must be a slot of
           this class's own instances (not a descriptor taken from another
           class), and no two fields may share one. */
        Py_ssize_t offset = member->offset;
        if (PyDescr_TYPE(descr) != type || offset < (Py_ssize_t)sizeof(PyObject) ||
            offset > type->tp_basicsize - (Py_ssize_t)sizeof(PyObject *)) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a slot of %s's own", type->tp_name, head_fields[i], type->tp_name);
            return NULL;
        }
        for (Py_ssize_t j = 0; j < i; j++) {
            if (offsets[j] == offset) {
                PyErr_Format(PyExc_TypeError, "%s.%s and %s.%s are one slot", type->tp_name, head_fields[j],
                             type->tp_name, head_fields[i]);
                return NULL;
            }
        }
        offsets[i] = offset;
    }
    speedups_state *state = get_state(module);
    Py_INCREF(cls);
    Py_XSETREF(state->head_type, type);
    memcpy(state->head_offsets, offsets, sizeof offsets);
    Py_RETURN_NONE;
}

FWSP_DOC_STRVAR(fwsp_make_request_head_doc,
"make_request_head(method, target, version, headers, keep_alive, expect_continue, chunked,\n"
"                  content_length, fields, /)\n--\n\n"
"The bound RequestHead with these fields, without running its __init__.");

PyObject *
fwsp_make_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    speedups_state *state = get_state(module);
    if (nargs != N_HEAD_FIELDS) {
        PyErr_Format(PyExc_TypeError, "make_request_head() takes %zd arguments (%zd given)", N_HEAD_FIELDS, nargs);
        return NULL;
    }
    PyTypeObject *type = state->head_type;
    if (type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "make_request_head() before bind_request_head()");
        return NULL;
    }
    PyObject *head = type->tp_alloc(type, 0); /* slots zeroed: a GC pass meanwhile sees NULLs */
    if (head == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < N_HEAD_FIELDS; i++) {
        Py_INCREF(args[i]);
        *(PyObject **)((char *)head + state->head_offsets[i]) = args[i];
    }
    return head;
}
