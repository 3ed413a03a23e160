/*
 * framework.http1.speedups, response heads: serialize_response_fields and
 * prepared_response, the writer's two fast paths, with the table of names and
 * texts already checked (seen_names and seen_texts in the module state).
 *
 * A file of its own because it is the other direction of the grammar: it
 * shares with the request parser (speedups_head.c) only the byte tables and
 * the module state (speedups.h). Every helper of the two functions is static
 * here, so a response is still serialised within one translation unit.
 */

#include "speedups.h"

/* The slot of seen_names and seen_texts (see SEEN_SLOTS in speedups.h) for a str, by its address. */
static inline size_t
seen_slot(PyObject *object)
{
    return ((uintptr_t)object >> 4) & (SEEN_SLOTS - 1);
}

/* ------------------------------------------------------------------------
 * serialize_response_fields
 * ------------------------------------------------------------------------ */

/*
 * Length of a str that may be written as is into a head, or -1 to decline:
 * only exact str of one-byte characters (what encode("latin-1") writes
 * unchanged), holding no control but HTAB (RFC 9110 5.5 for field values,
 * RFC 9112 4 for the reason-phrase; so no CR or LF to split the head).
 */
static Py_ssize_t
plain_text_len(PyObject *s)
{
    if (!PyUnicode_CheckExact(s) || PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) {
        return -1;
    }
    const Py_UCS1 *p = PyUnicode_1BYTE_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!fwsp_is_field_byte[p[i]]) {
            return -1;
        }
    }
    return n;
}

/* Length of a str that is a token (RFC 9110 5.6.2, so ASCII), or -1 to decline. */
static Py_ssize_t
token_len(PyObject *s)
{
    if (!PyUnicode_CheckExact(s) || !PyUnicode_IS_ASCII(s)) {
        return -1;
    }
    const Py_UCS1 *p = PyUnicode_1BYTE_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n == 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!fwsp_is_tchar[p[i]]) {
            return -1;
        }
    }
    return n;
}

/* plain_text_len, remembered for a short text found plain. */
static Py_ssize_t
checked_text_len(speedups_state *state, PyObject *text)
{
    PyObject **seen = &state->seen_texts[seen_slot(text)];
    if (*seen == text) {
        return PyUnicode_GET_LENGTH(text);
    }
    Py_ssize_t n = plain_text_len(text);
    if (n >= 0 && n <= SEEN_TEXT_MAX) {
        Py_INCREF(text);
        Py_XSETREF(*seen, text);
    }
    return n;
}

/* Bytes that "name: value\r\n" lines take for one value list, or -1 to decline. */
static Py_ssize_t
values_len(speedups_state *state, Py_ssize_t name_len, PyObject *values)
{
    if (!PyList_CheckExact(values)) {
        return -1;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(values); i++) {
        Py_ssize_t n = checked_text_len(state, PyList_GET_ITEM(values, i));
        if (n < 0) {
            return -1;
        }
        total += name_len + 2 + n + 2;
    }
    return total;
}

/* The extra (name, value) pairs, read in place when they are an exact list or tuple. */
static int
extra_items(PyObject *extra, PyObject *const **items, Py_ssize_t *count)
{
    if (!PyList_CheckExact(extra) && !PyTuple_CheckExact(extra)) {
        return 0;
    }
    *items = (PyObject *const *)PySequence_Fast_ITEMS(extra);
    *count = PySequence_Fast_GET_SIZE(extra);
    return 1;
}

static char *
copy_text(char *out, PyObject *s)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    memcpy(out, PyUnicode_1BYTE_DATA(s), (size_t)n);
    return out + n;
}

/*
 * A lower-case key as field_display_name shows it: each "-"-separated part
 * capitalised ("content-type" -> "Content-Type"). The key is an ASCII token.
 */
static char *
copy_display_name(char *out, PyObject *key)
{
    const Py_UCS1 *p = PyUnicode_1BYTE_DATA(key);
    Py_ssize_t n = PyUnicode_GET_LENGTH(key);
    int start = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (start && c >= 'a' && c <= 'z') {
            c = (unsigned char)(c - ('a' - 'A'));
        }
        else if (!start && c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c + ('a' - 'A'));
        }
        *out++ = (char)c;
        start = c == '-';
    }
    return out;
}

/* The rest of a field line after its name: ": value\r\n". */
static char *
copy_field_tail(char *out, PyObject *value)
{
    *out++ = ':';
    *out++ = ' ';
    out = copy_text(out, value);
    *out++ = '\r';
    *out++ = '\n';
    return out;
}

/* token_len, remembered (with the display form) for a name short enough to keep. */
static Py_ssize_t
checked_name_len(speedups_state *state, PyObject *key)
{
    seen_name *seen = &state->seen_names[seen_slot(key)];
    if (seen->name == key) {
        return seen->len;
    }
    Py_ssize_t n = token_len(key);
    if (n > 0 && n <= SEEN_NAME_MAX) {
        copy_display_name(seen->display, key);
        seen->len = n;
        Py_INCREF(key);
        Py_XSETREF(seen->name, key); /* (a str's release runs no Python code) */
    }
    return n;
}

/* copy_display_name, from the remembered form where there is one. */
static char *
copy_name(speedups_state *state, char *out, PyObject *key)
{
    seen_name *seen = &state->seen_names[seen_slot(key)];
    if (seen->name == key) {
        memcpy(out, seen->display, (size_t)seen->len);
        return out + seen->len;
    }
    return copy_display_name(out, key); /* (evicted by a later name of the same response) */
}

/*
 * Bytes that "name: value\r\n" lines take for (name, value) pairs, or -1 to
 * decline. `shown`: names are written as field_display_name shows them, and
 * names and values are remembered once checked; else names as given.
 */
static Py_ssize_t
pairs_len(speedups_state *state, PyObject *const *pairs, Py_ssize_t count, int shown)
{
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = pairs[i];
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            return -1;
        }
        PyObject *name = PyTuple_GET_ITEM(pair, 0), *value = PyTuple_GET_ITEM(pair, 1);
        Py_ssize_t name_len = shown ? checked_name_len(state, name) : token_len(name);
        Py_ssize_t value_len = name_len < 0 ? -1 : shown ? checked_text_len(state, value) : plain_text_len(value);
        if (value_len < 0) {
            return -1;
        }
        total += name_len + 2 + value_len + 2;
    }
    return total;
}

FWSP_DOC_STRVAR(fwsp_serialize_response_fields_doc,
"serialize_response_fields(status, fields, extra, reason, version, /)\n"
"--\n"
"\n"
"Render a response head from {lower-case name: [values]} plus extra pairs, or None.\n"
"\n"
"Args:\n"
"    status: the status code (an exact int).\n"
"    fields: HTTPHeaders' storage, names shown as field_display_name shows them.\n"
"    extra: (name, value) pairs written after them as given (framing fields).\n"
"    reason: the reason phrase, already chosen.\n"
"    version: the HTTP version of the status line.\n"
"\n"
"Returns:\n"
"    The bytes writer.serialize_response_fields returns for the same\n"
"    arguments, or None when anything is unusual (a name that is not a\n"
"    token, a control character, a character beyond Latin-1, a type other\n"
"    than the exact built-in ones): the Python writer then validates, and\n"
"    raises its ValueError.");

/* The decimal digits of value, as f"{value}" writes them, into out (24 bytes
 * are enough for any long); returns their count. Written out rather than with
 * snprintf, whose format parsing cost about 600 instructions a response
 * (loadtest/instructions.py). */
static int
format_long(char *out, long value)
{
    char reversed[24];
    int count = 0, length = 0;
    unsigned long magnitude = value < 0 ? 0UL - (unsigned long)value : (unsigned long)value;
    do {
        reversed[count++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0) {
        out[length++] = '-';
    }
    while (count) {
        out[length++] = reversed[--count];
    }
    return length;
}

PyObject *
fwsp_serialize_response_fields(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    speedups_state *state = get_state(module);
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "serialize_response_fields() takes 5 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *status = args[0], *fields = args[1], *extra = args[2], *reason = args[3], *version = args[4];
    PyObject *const *extra_pairs;
    Py_ssize_t extra_count;
    if (!PyLong_CheckExact(status) || !PyDict_CheckExact(fields) || !extra_items(extra, &extra_pairs, &extra_count)) {
        Py_RETURN_NONE;
    }
    int overflow;
    long code = PyLong_AsLongAndOverflow(status, &overflow);
    if (overflow || (code == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    char code_text[24];
    int code_len = format_long(code_text, code); /* f"{status}" for an int */

    /* Pass 1: validate and measure. status-line = HTTP-version SP status-code SP reason-phrase CRLF */
    Py_ssize_t version_len = checked_text_len(state, version), reason_len = checked_text_len(state, reason);
    if (version_len < 0 || reason_len < 0) {
        Py_RETURN_NONE;
    }
    Py_ssize_t total = version_len + 1 + code_len + 1 + reason_len + 2 + 2; /* + the blank line */
    Py_ssize_t pos = 0;
    PyObject *key, *values;
    while (PyDict_Next(fields, &pos, &key, &values)) { /* borrowed; nothing here can run Python code */
        Py_ssize_t name_len = checked_name_len(state, key);
        Py_ssize_t lines_len = name_len < 0 ? -1 : values_len(state, name_len, values);
        if (lines_len < 0) {
            Py_RETURN_NONE;
        }
        total += lines_len;
    }
    Py_ssize_t extra_len = pairs_len(state, extra_pairs, extra_count, 0);
    if (extra_len < 0) {
        Py_RETURN_NONE;
    }
    total += extra_len;

    /* Pass 2: copy, no checks left. Allocating a bytes object runs no Python code
     * (bytes are not tracked by the garbage collector, so no finaliser runs), so
     * nothing measured in pass 1 can have changed. */
    PyObject *head = PyBytes_FromStringAndSize(NULL, total);
    if (head == NULL) {
        return NULL;
    }
    char *out = PyBytes_AS_STRING(head);
    out = copy_text(out, version);
    *out++ = ' ';
    memcpy(out, code_text, (size_t)code_len);
    out += code_len;
    *out++ = ' ';
    out = copy_text(out, reason);
    *out++ = '\r';
    *out++ = '\n';
    pos = 0;
    while (PyDict_Next(fields, &pos, &key, &values)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(values); i++) {
            out = copy_name(state, out, key);
            out = copy_field_tail(out, PyList_GET_ITEM(values, i));
        }
    }
    for (Py_ssize_t i = 0; i < extra_count; i++) {
        out = copy_text(out, PyTuple_GET_ITEM(extra_pairs[i], 0));
        out = copy_field_tail(out, PyTuple_GET_ITEM(extra_pairs[i], 1));
    }
    *out++ = '\r';
    *out++ = '\n';
    return head;
}

FWSP_DOC_STRVAR(fwsp_prepared_response_doc,
"prepared_response(method, version, status, reason, block, fields, body, keep_alive, /)\n"
"--\n"
"\n"
"The whole of a usual response on prepared fields, head and body, or None.\n"
"\n"
"Usual: the connection stays open (keep_alive is True), the request is HTTP/1.1\n"
"and not HEAD, and the status has a body (not 1xx, 204 or 304), so the framing\n"
"is a Content-Length and nothing else (writer.frame_response).\n"
"\n"
"Args:\n"
"    method, version: the request's.\n"
"    status: the status code (an exact int); reason: its phrase, already chosen.\n"
"    block: the prepared fields' lines (PreparedFields.block, exact bytes).\n"
"    fields: (lower-case name, value) pairs written after them, names as\n"
"        field_display_name shows them.\n"
"    body: the whole body (exact bytes).\n"
"\n"
"Returns:\n"
"    What writer.prepared_response sends for the same arguments, or None for\n"
"    anything else or anything unusual (a name that is not a token, a control\n"
"    character, a character beyond Latin-1, a type other than the exact\n"
"    built-in ones): the Python writer then frames, validates, and raises.");

/* s is an exact str holding the ASCII text[0:n]. */
static int
str_is(PyObject *s, const char *text, Py_ssize_t n)
{
    return PyUnicode_CheckExact(s) && PyUnicode_IS_ASCII(s) && PyUnicode_GET_LENGTH(s) == n
           && memcmp(PyUnicode_1BYTE_DATA(s), text, (size_t)n) == 0;
}

PyObject *
fwsp_prepared_response(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    speedups_state *state = get_state(module);
    if (nargs != 8) {
        PyErr_Format(PyExc_TypeError, "prepared_response() takes 8 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *method = args[0], *version = args[1], *status = args[2], *reason = args[3];
    PyObject *block = args[4], *fields = args[5], *body = args[6], *keep_alive = args[7];
    PyObject *const *pairs;
    Py_ssize_t count;
    if (keep_alive != Py_True || !PyLong_CheckExact(status) || !PyBytes_CheckExact(block) || !PyBytes_CheckExact(body)
        || !extra_items(fields, &pairs, &count) || !PyUnicode_CheckExact(method) || str_is(method, "HEAD", 4)
        || !(version == state->http11 || str_is(version, "HTTP/1.1", 8))) {
        Py_RETURN_NONE;
    }
    int overflow;
    long code = PyLong_AsLongAndOverflow(status, &overflow);
    if (overflow || (code == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (code < 200 || code > 999 || code == 204 || code == 304) { /* no body, or not a status _status_line takes */
        Py_RETURN_NONE;
    }
    Py_ssize_t reason_len = checked_text_len(state, reason);
    if (reason_len < 0) {
        Py_RETURN_NONE;
    }
    char length_text[24];
    int length_len = format_long(length_text, (long)PyBytes_GET_SIZE(body));
    static const char version_text[] = "HTTP/1.1 ", length_name[] = "Content-Length: ";
    /* status-line = HTTP-version SP status-code SP reason-phrase CRLF; then the
     * fields, Content-Length, the blank line and the body. */
    Py_ssize_t total = (Py_ssize_t)(sizeof version_text - 1) + 3 + 1 + reason_len + 2 + PyBytes_GET_SIZE(block)
                       + (Py_ssize_t)(sizeof length_name - 1) + length_len + 2 + 2 + PyBytes_GET_SIZE(body);
    Py_ssize_t fields_len = pairs_len(state, pairs, count, 1);
    if (fields_len < 0) {
        Py_RETURN_NONE;
    }
    total += fields_len;

    /* Pass 2: copy (nothing measured above can change: see serialize_response_fields). */
    PyObject *message = PyBytes_FromStringAndSize(NULL, total);
    if (message == NULL) {
        return NULL;
    }
    char *out = PyBytes_AS_STRING(message);
    memcpy(out, version_text, sizeof version_text - 1);
    out += sizeof version_text - 1;
    out += format_long(out, code); /* three digits: 200 <= code <= 999 */
    *out++ = ' ';
    out = copy_text(out, reason);
    *out++ = '\r';
    *out++ = '\n';
    memcpy(out, PyBytes_AS_STRING(block), (size_t)PyBytes_GET_SIZE(block));
    out += PyBytes_GET_SIZE(block);
    for (Py_ssize_t i = 0; i < count; i++) {
        out = copy_name(state, out, PyTuple_GET_ITEM(pairs[i], 0));
        out = copy_field_tail(out, PyTuple_GET_ITEM(pairs[i], 1));
    }
    memcpy(out, length_name, sizeof length_name - 1);
    out += sizeof length_name - 1;
    memcpy(out, length_text, (size_t)length_len);
    out += length_len;
    memcpy(out, "\r\n\r\n", 4);
    out += 4;
    memcpy(out, PyBytes_AS_STRING(body), (size_t)PyBytes_GET_SIZE(body));
    return message;
}
