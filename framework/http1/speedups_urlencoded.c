/*
 * framework.http1.speedups, form bodies: parse_urlencoded, the compiled twin
 * of urlencoded.parse_urlencoded (application/x-www-form-urlencoded bytes).
 *
 * A file of its own because it is not HTTP/1.1 grammar and, unlike the head
 * parser and writer, never declines; it shares nothing with them but
 * ascii_lower (speedups.h), and reads no module state.
 */

#include "speedups.h"

/* ------------------------------------------------------------------------
 * parse_urlencoded
 * ------------------------------------------------------------------------ */

static inline int
hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = ascii_lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/*
 * p[0:n] with "+" a space and each %XX the byte it names (an escape that is
 * not two hex digits stays as it is, as unquote_to_bytes leaves it), into
 * out, which has room for n bytes. Returns the length written.
 */
static Py_ssize_t
unescape_form(const unsigned char *p, Py_ssize_t n, unsigned char *out)
{
    Py_ssize_t w = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '+') {
            c = ' ';
        }
        else if (c == '%' && i + 2 < n) {
            int hi = hex_digit(p[i + 1]);
            int lo = hex_digit(p[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (unsigned char)(hi * 16 + lo);
                i += 2;
            }
        }
        out[w++] = c;
    }
    return w;
}

FWSP_DOC_STRVAR(fwsp_parse_urlencoded_doc,
"parse_urlencoded(data, keep_blank_values, /)\n"
"--\n"
"\n"
"An application/x-www-form-urlencoded string as {name: [value bytes]}.\n"
"\n"
"What urlencoded.parse_urlencoded (the pure-Python reference) returns for the\n"
"same bytes: parts split on \"&\" only, each at its first \"=\"; \"+\" is a space and\n"
"%XX the byte it names in names and values (an invalid escape stays); a part\n"
"without a value counts only with keep_blank_values; names are read as\n"
"Latin-1. Never declines: every input has its answer.");

PyObject *
fwsp_parse_urlencoded(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "parse_urlencoded() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    int keep_blank = PyObject_IsTrue(args[1]);
    if (keep_blank < 0) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;
    PyObject *result = PyDict_New();
    unsigned char *scratch = PyMem_Malloc(n > 0 ? (size_t)n : 1);
    if (result == NULL) {
        goto error;
    }
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t start = 0; start < n;) {
        const unsigned char *amp = memchr(p + start, '&', (size_t)(n - start));
        Py_ssize_t end = amp == NULL ? n : amp - p;
        if (end > start) {
            const unsigned char *eq = memchr(p + start, '=', (size_t)(end - start));
            Py_ssize_t name_end = eq == NULL ? end : eq - p;
            Py_ssize_t value_start = eq == NULL ? end : name_end + 1;
            if (end > value_start || keep_blank) {
                Py_ssize_t len = unescape_form(p + start, name_end - start, scratch);
                PyObject *key = PyUnicode_DecodeLatin1((const char *)scratch, len, NULL);
                if (key == NULL) {
                    goto error;
                }
                len = unescape_form(p + value_start, end - value_start, scratch);
                PyObject *value = PyBytes_FromStringAndSize((const char *)scratch, len);
                if (value == NULL) {
                    Py_DECREF(key);
                    goto error;
                }
                PyObject *values = PyDict_GetItemWithError(result, key); /* borrowed */
                int rc;
                if (values != NULL) {
                    rc = PyList_Append(values, value);
                }
                else if (PyErr_Occurred()) {
                    rc = -1;
                }
                else {
                    values = PyList_New(1);
                    if (values == NULL) {
                        rc = -1;
                    }
                    else {
                        Py_INCREF(value);
                        PyList_SET_ITEM(values, 0, value);
                        rc = PyDict_SetItem(result, key, values);
                        Py_DECREF(values);
                    }
                }
                Py_DECREF(key);
                Py_DECREF(value);
                if (rc < 0) {
                    goto error;
                }
            }
        }
        start = end + 1;
    }
    PyMem_Free(scratch);
    PyBuffer_Release(&view);
    return result;

error:
    PyMem_Free(scratch);
    PyBuffer_Release(&view);
    Py_XDECREF(result);
    return NULL;
}
