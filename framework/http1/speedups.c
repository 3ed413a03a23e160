/*
 * framework.http1.speedups: compiled fast paths of the sans-IO HTTP/1.1 package.
 *
 * Strategy: fast paths only. Each function here answers for the plain common
 * case and returns None for anything else, and the pure-Python code (the
 * reference, in head.py, parser.py, writer.py and urlencoded.py) then runs as
 * if this module did not exist, raising the errors it always raises with the
 * messages it always gives. So the rule a test checks is simple: a result from here is None or
 * equal to what Python computes for the same input. Nothing here is more
 * lenient than Python, because nothing here ever refuses: it only declines.
 *
 * Each function makes one pass that validates the input and measures it, and
 * only then allocates: declining allocates no object, and the second pass copies
 * without checks. Only the CPython C API is used (no third-party code).
 *
 * The grammar rules are those of the Python reference, quoted where used:
 * RFC 9110 5.6.2 (token), RFC 9112 3 (request-line), RFC 9112 5 (field-line),
 * RFC 9110 5.5 (field values and the controls they may not hold).
 *
 * The one module is compiled from several files, one concept each (setup.py
 * lists them): this one holds the grammar's byte tables, filled once at
 * import, the module's state and life cycle, and its method table;
 * speedups_head.c parses request heads (with its common methods and names);
 * speedups_requesthead.c builds RequestHead without its Python constructor;
 * speedups_response.c serialises response heads; speedups_urlencoded.c
 * decodes form bodies; speedups.h declares what they share. A function that
 * one file uses is static there, so each hot path is compiled, and inlined,
 * within its own file.
 */

#include "speedups.h"

/*
 * RFC 9110 5.6.2: token = 1*tchar
 *   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 * Filled once at import by fill_tables(); indexed by byte.
 */
unsigned char fwsp_is_tchar[256];

/*
 * RFC 9110 5.5: field-value = *field-content, field-vchar = VCHAR / obs-text,
 * with SP and HTAB inside. So a byte of a value is HTAB, SP, VCHAR (%x21-7E)
 * or obs-text (%x80-FF); every other control (CR, LF, NUL, DEL...) is not.
 * The writer's rule (grammar.FORBIDDEN_OUT) refuses the same controls.
 */
unsigned char fwsp_is_field_byte[256];

/* The tables above, then the head parser's (speedups_head.c): once, from PyInit_speedups. */
static void
fill_tables(void)
{
    static const char tchar_punct[] = "!#$%&'*+-.^_`|~";
    int c;
    memset(fwsp_is_tchar, 0, sizeof fwsp_is_tchar);
    memset(fwsp_is_field_byte, 0, sizeof fwsp_is_field_byte);
    for (c = '0'; c <= '9'; c++) {
        fwsp_is_tchar[c] = 1;
    }
    for (c = 'A'; c <= 'Z'; c++) {
        fwsp_is_tchar[c] = 1;
        fwsp_is_tchar[c + ('a' - 'A')] = 1;
    }
    for (const char *p = tchar_punct; *p; p++) {
        fwsp_is_tchar[(unsigned char)*p] = 1;
    }
    fwsp_is_field_byte['\t'] = 1;
    for (c = 0x20; c <= 0x7e; c++) {
        fwsp_is_field_byte[c] = 1;
    }
    for (c = 0x80; c <= 0xff; c++) {
        fwsp_is_field_byte[c] = 1;
    }
    fwsp_fill_common_tables();
}

/*
 * The fields whose presence leaves a request head with decisions that only
 * the Python parser makes (_begin_request: a chunked body, keep-alive, an
 * expectation). read_request_head builds the whole event only without them;
 * Content-Length it reads itself when it is one plain number.
 */
static const char *const deciding_fields[] = {"transfer-encoding", "connection", "expect"};
_Static_assert(sizeof deciding_fields / sizeof deciding_fields[0] == N_DECIDING_FIELDS,
               "N_DECIDING_FIELDS (speedups.h) counts deciding_fields");

/* ------------------------------------------------------------------------
 * the module
 * ------------------------------------------------------------------------ */

static PyMethodDef speedups_methods[] = {
    {"parse_request_head", (PyCFunction)(void (*)(void))fwsp_parse_request_head, METH_FASTCALL,
     fwsp_parse_request_head_doc},
    {"serialize_response_fields", (PyCFunction)(void (*)(void))fwsp_serialize_response_fields, METH_FASTCALL,
     fwsp_serialize_response_fields_doc},
    {"read_request_head", (PyCFunction)(void (*)(void))fwsp_read_request_head, METH_FASTCALL,
     fwsp_read_request_head_doc},
    {"prepared_response", (PyCFunction)(void (*)(void))fwsp_prepared_response, METH_FASTCALL,
     fwsp_prepared_response_doc},
    {"parse_urlencoded", (PyCFunction)(void (*)(void))fwsp_parse_urlencoded, METH_FASTCALL,
     fwsp_parse_urlencoded_doc},
    {"bind_request_head", fwsp_bind_request_head, METH_O, fwsp_bind_request_head_doc},
    {"make_request_head", (PyCFunction)(void (*)(void))fwsp_make_request_head, METH_FASTCALL,
     fwsp_make_request_head_doc},
    {NULL, NULL, 0, NULL},
};

static int
speedups_exec(PyObject *module)
{
    speedups_state *state = get_state(module);
    state->http11 = PyUnicode_InternFromString("HTTP/1.1");
    state->http10 = PyUnicode_InternFromString("HTTP/1.0");
    if (state->http11 == NULL || state->http10 == NULL) {
        return -1;
    }
    for (int i = 0; i < N_COMMON_METHODS; i++) {
        state->methods[i] = PyUnicode_InternFromString(fwsp_common_methods[i]);
        if (state->methods[i] == NULL) {
            return -1;
        }
    }
    state->host = PyUnicode_InternFromString("host");
    state->content_length = PyUnicode_InternFromString("content-length");
    if (state->host == NULL || state->content_length == NULL) {
        return -1;
    }
    for (int i = 0; i < N_DECIDING_FIELDS; i++) {
        state->deciding[i] = PyUnicode_InternFromString(deciding_fields[i]);
        if (state->deciding[i] == NULL) {
            return -1;
        }
    }
    for (int i = 0; i < N_COMMON_NAMES; i++) {
        char lower[64];
        Py_ssize_t n = fwsp_common_name_len[i];
        if (n >= (Py_ssize_t)sizeof lower) {
            PyErr_SetString(PyExc_SystemError, "a common field name is longer than its buffer");
            return -1;
        }
        for (Py_ssize_t j = 0; j <= n; j++) {
            lower[j] = (char)ascii_lower((unsigned char)fwsp_common_names[i][j]);
        }
        state->spelled[i] = PyUnicode_InternFromString(fwsp_common_names[i]);
        state->lower[i] = PyUnicode_InternFromString(lower);
        if (state->spelled[i] == NULL || state->lower[i] == NULL) {
            return -1;
        }
    }
    return 0;
}

static int
speedups_traverse(PyObject *module, visitproc visit, void *arg)
{
    speedups_state *state = get_state(module);
    Py_VISIT(state->http11);
    Py_VISIT(state->http10);
    for (int i = 0; i < N_COMMON_METHODS; i++) {
        Py_VISIT(state->methods[i]);
    }
    for (int i = 0; i < N_COMMON_NAMES; i++) {
        Py_VISIT(state->spelled[i]);
        Py_VISIT(state->lower[i]);
    }
    Py_VISIT(state->head_type);
    Py_VISIT(state->host);
    Py_VISIT(state->content_length);
    for (int i = 0; i < N_DECIDING_FIELDS; i++) {
        Py_VISIT(state->deciding[i]);
    }
    return 0;
}

static int
speedups_clear(PyObject *module)
{
    speedups_state *state = get_state(module);
    Py_CLEAR(state->http11);
    Py_CLEAR(state->http10);
    for (int i = 0; i < N_COMMON_METHODS; i++) {
        Py_CLEAR(state->methods[i]);
    }
    for (int i = 0; i < N_COMMON_NAMES; i++) {
        Py_CLEAR(state->spelled[i]);
        Py_CLEAR(state->lower[i]);
    }
    Py_CLEAR(state->head_type);
    Py_CLEAR(state->host);
    Py_CLEAR(state->content_length);
    for (int i = 0; i < N_DECIDING_FIELDS; i++) {
        Py_CLEAR(state->deciding[i]);
    }
    for (int i = 0; i < SEEN_SLOTS; i++) {
        Py_CLEAR(state->seen_names[i].name);
        Py_CLEAR(state->seen_texts[i]);
    }
    for (int i = 0; i < RECENT_SLOTS; i++) {
        Py_CLEAR(state->recent_texts[i]);
    }
    return 0;
}

static void
speedups_free(void *module)
{
    speedups_clear((PyObject *)module);
}

static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
    {0, NULL},
};

PyDoc_STRVAR(speedups_doc,
"Compiled fast paths of framework.http1: each returns None unless its input is the plain\n"
"common case, and the pure-Python code (the reference) then runs instead.\n"
"FRAMEWORK_HTTP1_PURE=1 in the environment keeps this module from being used.");

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "framework.http1.speedups",
    .m_doc = speedups_doc,
    .m_size = sizeof(speedups_state),
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
    .m_traverse = speedups_traverse,
    .m_clear = speedups_clear,
    .m_free = speedups_free,
};

PyMODINIT_FUNC
PyInit_speedups(void)
{
    fill_tables();
    return PyModuleDef_Init(&speedups_module);
}
