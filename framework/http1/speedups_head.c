/*
 * framework.http1.speedups, request heads: parse_request_head and
 * read_request_head (one pass that validates and measures a head, then its
 * objects; read_request_head's whole event is a RequestHead filled at the
 * slots speedups_requesthead.c bound), with the common methods and names.
 *
 * A file of its own because it is one concept, the server's reading of RFC
 * 9112 3 and 5, and the hottest path of a request: every helper parse_head
 * calls is static in this file (or static inline in speedups.h), so the
 * compiler sees and inlines all of it as it did in one file. It shares with
 * the other files only what speedups.h declares: the byte tables, the module
 * state, and the common methods and names it defines, which the module
 * interns at import.
 */

#include "speedups.h"

/*
 * Methods and field names that nearly every request carries, made once as
 * interned str: a head of common fields then allocates no method, name or
 * key string (speed, and memory: a waiting long poll keeps its fields dict,
 * loadtest/longpoll_fanout.py), and the keys being interned makes Python's
 * lookups with literal names (fields.get("host")) hit by identity.
 * The names are in their usual spelling; the dict key is the lower-case form.
 */
const char *const fwsp_common_methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"};
_Static_assert(sizeof fwsp_common_methods / sizeof fwsp_common_methods[0] == N_COMMON_METHODS,
               "N_COMMON_METHODS (speedups.h) counts fwsp_common_methods");
static Py_ssize_t common_method_len[N_COMMON_METHODS];

const char *const fwsp_common_names[] = {
    "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Accept-Charset",
    "Connection", "Keep-Alive", "Content-Type", "Content-Length", "Transfer-Encoding", "Content-Encoding",
    "Cookie", "Referer", "Origin", "Cache-Control", "Pragma", "Upgrade", "Upgrade-Insecure-Requests",
    "If-None-Match", "If-Modified-Since", "Range", "If-Range", "Authorization", "Expect", "Te", "Dnt",
    "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "X-Request-Id",
    "X-Requested-With", "X-Xsrftoken", "X-Csrftoken", "Sec-Fetch-Site", "Sec-Fetch-Mode",
    "Sec-Fetch-Dest", "Sec-Fetch-User", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform",
    "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Priority",
};
_Static_assert(sizeof fwsp_common_names / sizeof fwsp_common_names[0] == N_COMMON_NAMES,
               "N_COMMON_NAMES (speedups.h) counts fwsp_common_names");
Py_ssize_t fwsp_common_name_len[N_COMMON_NAMES];

/*
 * The common fields whose values repeat from request to request and carry
 * nothing of one user's: their str is shared between requests through the
 * table of recent values (RECENT_SLOTS, speedups.h). Cookie, Authorization,
 * tokens, request ids, validators and lengths are not among them: they
 * differ, and a secret is not kept past its request.
 */
static const char *const shared_value_names[] = {
    "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Accept-Charset", "Connection",
    "Keep-Alive", "Content-Type", "Cache-Control", "Pragma", "Upgrade", "Upgrade-Insecure-Requests", "Origin",
    "Te", "Dnt", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Requested-With", "Sec-Fetch-Site", "Sec-Fetch-Mode",
    "Sec-Fetch-Dest", "Sec-Fetch-User", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Priority",
};
#define N_SHARED_VALUE_NAMES ((int)(sizeof shared_value_names / sizeof shared_value_names[0]))
static unsigned char common_value_shared[N_COMMON_NAMES];

/*
 * The lengths of the common methods and names, and which names' values are
 * shared: part of fill_tables (speedups.c), which calls this once at import.
 */
void
fwsp_fill_common_tables(void)
{
    for (int i = 0; i < N_COMMON_METHODS; i++) {
        common_method_len[i] = (Py_ssize_t)strlen(fwsp_common_methods[i]);
    }
    for (int i = 0; i < N_COMMON_NAMES; i++) {
        fwsp_common_name_len[i] = (Py_ssize_t)strlen(fwsp_common_names[i]);
        common_value_shared[i] = 0;
        for (int j = 0; j < N_SHARED_VALUE_NAMES; j++) {
            if (strcmp(fwsp_common_names[i], shared_value_names[j]) == 0) {
                common_value_shared[i] = 1;
            }
        }
    }
}

/*
 * A str made of the bytes p[0:n], read as Latin-1 (what the Python parser's
 * head.decode("latin-1") makes). `high` says whether any byte is >= 0x80: the
 * string's maximum character must be exact, since CPython keeps pure-ASCII
 * strings in their own form.
 */
static PyObject *
latin1_str(const unsigned char *p, Py_ssize_t n, int high)
{
    PyObject *s = PyUnicode_New(n, high ? 0xff : 0x7f);
    if (s != NULL && n > 0) {
        memcpy(PyUnicode_1BYTE_DATA(s), p, (size_t)n);
    }
    return s;
}

/* The slot of recent_texts for the n bytes at p (n >= 1). */
static inline size_t
recent_slot(const unsigned char *p, Py_ssize_t n)
{
    uint64_t head = 0, tail = 0;
    Py_ssize_t k = n < 8 ? n : 8;
    memcpy(&head, p, (size_t)k);
    memcpy(&tail, p + n - k, (size_t)k);
    uint64_t h = (head ^ (tail * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)n) * 0xFF51AFD7ED558CCDULL;
    return (size_t)(h >> 57) & (RECENT_SLOTS - 1);
}

/*
 * latin1_str for ASCII bytes, shared with the last request that sent the
 * same text (see RECENT_SLOTS, speedups.h): a new reference, or NULL with an exception.
 */
static PyObject *
shared_text(speedups_state *state, const unsigned char *p, Py_ssize_t n)
{
    if (n == 0 || n > RECENT_TEXT_MAX) {
        return latin1_str(p, n, 0);
    }
    PyObject **slot = &state->recent_texts[recent_slot(p, n)];
    PyObject *text = *slot;
    if (text != NULL && PyUnicode_GET_LENGTH(text) == n && memcmp(PyUnicode_1BYTE_DATA(text), p, (size_t)n) == 0) {
        Py_INCREF(text);
        return text;
    }
    text = latin1_str(p, n, 0);
    if (text != NULL) {
        Py_INCREF(text);
        Py_XSETREF(*slot, text);
    }
    return text;
}

/* ------------------------------------------------------------------------
 * parse_request_head
 * ------------------------------------------------------------------------ */

/*
 * The fields of one head the stack holds before any object is made. A head
 * with more fields is declined (Python parses it), which keeps this function
 * free of heap bookkeeping; 64 is far above what browsers and proxies send.
 */
#define MAX_FAST_FIELDS 64

typedef struct {
    Py_ssize_t name_start, name_len;
    Py_ssize_t value_start, value_len;
    int name_has_upper; /* the dict key needs a lower-case copy */
    int value_high;     /* the value holds obs-text (bytes >= 0x80) */
} field_span;

typedef struct {
    Py_ssize_t method_len;
    Py_ssize_t target_start, target_len;
    int http11; /* version: 1 for HTTP/1.1, 0 for HTTP/1.0 */
    Py_ssize_t count;
    field_span fields[MAX_FAST_FIELDS];
} head_spans;

/*
 * RFC 9112 3: request-line = method SP request-target SP HTTP-version,
 * method = token, request-target of visible ASCII (the Python parser's
 * _COMMON_REQUEST_LINE: the two versions served, no other form). Returns the
 * offset just after the line, or -1 to decline.
 */
static Py_ssize_t
scan_request_line(const unsigned char *p, Py_ssize_t n, Py_ssize_t max_target, head_spans *spans)
{
    Py_ssize_t pos = 0;
    while (pos < n && fwsp_is_tchar[p[pos]]) {
        pos++;
    }
    if (pos == 0 || pos >= n || p[pos] != ' ') {
        return -1;
    }
    spans->method_len = pos;
    pos++;
    /* request-target: %x21-7E, so no SP, no control, no obs-text */
    Py_ssize_t start = pos;
    while (pos < n && p[pos] >= 0x21 && p[pos] <= 0x7e) {
        pos++;
    }
    if (pos == start || pos >= n || p[pos] != ' ' || pos - start > max_target) {
        return -1;
    }
    spans->target_start = start;
    spans->target_len = pos - start;
    pos++;
    /* HTTP-version = HTTP-name "/" DIGIT "." DIGIT; only 1.1 and 1.0 here */
    if (n - pos < 8 || memcmp(p + pos, "HTTP/1.", 7) != 0 || (p[pos + 7] != '1' && p[pos + 7] != '0')) {
        return -1;
    }
    spans->http11 = p[pos + 7] == '1';
    return pos + 8;
}

/*
 * RFC 9112 5: field-line = field-name ":" OWS field-value OWS, with
 * field-name = token (RFC 9110 5.1) and OWS = *( SP / HTAB ). The line
 * starts at `pos` and ends at CRLF or at the end of the head. Returns the
 * offset of its end (the CR, or n), or -1 to decline: a name that is not a
 * token (obs-fold starts with SP or HTAB, so it is declined here too), no
 * colon, or a value byte that is a control (RFC 9110 5.5), a bare CR or LF.
 */
static Py_ssize_t
scan_field_line(const unsigned char *p, Py_ssize_t n, Py_ssize_t pos, field_span *span)
{
    Py_ssize_t start = pos;
    int upper = 0;
    while (pos < n && fwsp_is_tchar[p[pos]]) {
        upper |= p[pos] >= 'A' && p[pos] <= 'Z';
        pos++;
    }
    if (pos == start || pos >= n || p[pos] != ':') {
        return -1;
    }
    span->name_start = start;
    span->name_len = pos - start;
    span->name_has_upper = upper;
    pos++;
    while (pos < n && (p[pos] == ' ' || p[pos] == '\t')) {
        pos++;
    }
    Py_ssize_t value_start = pos, value_end = pos;
    int high = 0;
    for (; pos < n; pos++) {
        unsigned char c = p[pos];
        if (c == '\r') {
            break;
        }
        if (!fwsp_is_field_byte[c]) {
            return -1;
        }
        high |= c >= 0x80;
        if (c != ' ' && c != '\t') {
            value_end = pos + 1; /* trailing OWS is not part of the value */
        }
    }
    span->value_start = value_start;
    span->value_len = value_end - value_start;
    span->value_high = high;
    return pos;
}

/*
 * Pass 1: validate the whole head and record where its parts are. Returns 1
 * for a plain common head, 0 to decline. A CR must begin a CRLF that ends a
 * line; a field line follows every CRLF (the head ends before the blank line).
 */
static int
scan_head(const unsigned char *p, Py_ssize_t n, Py_ssize_t max_headers, Py_ssize_t max_target, head_spans *spans)
{
    Py_ssize_t pos = scan_request_line(p, n, max_target, spans);
    spans->count = 0;
    if (pos < 0) {
        return 0;
    }
    while (pos < n) {
        if (n - pos < 2 || p[pos] != '\r' || p[pos + 1] != '\n') {
            return 0;
        }
        pos += 2;
        if (spans->count >= MAX_FAST_FIELDS || spans->count >= max_headers) {
            return 0; /* too many fields: Python answers 431, or parses a rare long head */
        }
        pos = scan_field_line(p, n, pos, &spans->fields[spans->count]);
        if (pos < 0) {
            return 0;
        }
        spans->count++;
    }
    return 1;
}

/* The field name lower-cased, as the dict key (Python's name.lower(), ASCII here). */
static PyObject *
lower_key(const unsigned char *p, Py_ssize_t n)
{
    PyObject *key = PyUnicode_New(n, 0x7f);
    if (key == NULL) {
        return NULL;
    }
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(key);
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (Py_UCS1)(c + ('a' - 'A')) : c;
    }
    return key;
}

/*
 * Add (name, value) to the headers list at index i and value to fields[key],
 * as _parse_field_lines does. Takes no reference from its arguments.
 */
static int
add_field(PyObject *headers, Py_ssize_t i, PyObject *fields, PyObject *name, PyObject *key, PyObject *value)
{
    PyObject *pair = PyTuple_Pack(2, name, value);
    if (pair == NULL) {
        return -1;
    }
    PyList_SET_ITEM(headers, i, pair); /* steals the pair */
    PyObject *existing = PyDict_GetItemWithError(fields, key); /* borrowed */
    if (existing != NULL) {
        return PyList_Append(existing, value);
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    PyObject *values = PyList_New(1);
    if (values == NULL) {
        return -1;
    }
    Py_INCREF(value);
    PyList_SET_ITEM(values, 0, value);
    int rc = PyDict_SetItem(fields, key, values);
    Py_DECREF(values);
    return rc;
}

/* The index of the common field name equal to p[0:n] ignoring ASCII case, or -1. */
static int
find_common_name(const unsigned char *p, Py_ssize_t n)
{
    for (int i = 0; i < N_COMMON_NAMES; i++) {
        if (fwsp_common_name_len[i] != n) {
            continue;
        }
        const unsigned char *name = (const unsigned char *)fwsp_common_names[i];
        Py_ssize_t j = 0;
        while (j < n && ascii_lower(name[j]) == ascii_lower(p[j])) {
            j++;
        }
        if (j == n) {
            return i;
        }
    }
    return -1;
}

/*
 * The field's name as sent and its dict key (new references, or -1 with an
 * exception: memory), and the index of its common name or -1. A common name
 * comes from the module's strings when it is spelled as usual or all in lower
 * case; only its key when spelled otherwise.
 */
static int
field_strings(speedups_state *state, const unsigned char *p, const field_span *f, PyObject **name, PyObject **key,
              int *common_out)
{
    const unsigned char *text = p + f->name_start;
    int common = find_common_name(text, f->name_len);
    *common_out = common;
    if (common >= 0) {
        *key = state->lower[common];
        Py_INCREF(*key);
        if (!f->name_has_upper) {
            *name = *key;
        }
        else if (memcmp(text, fwsp_common_names[common], (size_t)f->name_len) == 0) {
            *name = state->spelled[common];
        }
        else {
            *name = latin1_str(text, f->name_len, 0);
            return *name == NULL ? -1 : 0;
        }
        Py_INCREF(*name);
        return 0;
    }
    *name = latin1_str(text, f->name_len, 0);
    if (*name == NULL) {
        return -1;
    }
    *key = f->name_has_upper ? lower_key(text, f->name_len) : *name;
    if (*key == NULL) {
        Py_CLEAR(*name);
        return -1;
    }
    if (!f->name_has_upper) {
        Py_INCREF(*key);
    }
    return 0;
}

/* The method as a str: the module's own for a common one (methods are case-sensitive, RFC 9110 9.1). */
static PyObject *
method_str(speedups_state *state, const unsigned char *p, Py_ssize_t n)
{
    for (int i = 0; i < N_COMMON_METHODS; i++) {
        if (common_method_len[i] == n && memcmp(p, fwsp_common_methods[i], (size_t)n) == 0) {
            Py_INCREF(state->methods[i]);
            return state->methods[i];
        }
    }
    return latin1_str(p, n, 0);
}

/* Pass 2: the objects of a head that pass 1 accepted (NULL with an exception: memory). */
static PyObject *
build_head(speedups_state *state, const unsigned char *p, const head_spans *spans)
{
    PyObject *method = NULL, *target = NULL, *headers = NULL, *fields = NULL;
    PyObject *version = spans->http11 ? state->http11 : state->http10;

    method = method_str(state, p, spans->method_len);
    const unsigned char *target_bytes = p + spans->target_start;
    int plain_path = memchr(target_bytes, '?', (size_t)spans->target_len) == NULL  /* (a query may hold a token) */
                     && memchr(target_bytes, ';', (size_t)spans->target_len) == NULL;
    target = plain_path ? shared_text(state, target_bytes, spans->target_len)
                        : latin1_str(target_bytes, spans->target_len, 0);
    headers = PyList_New(spans->count);
    fields = PyDict_New();
    if (method == NULL || target == NULL || headers == NULL || fields == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < spans->count; i++) {
        const field_span *f = &spans->fields[i];
        PyObject *name = NULL, *key = NULL, *value = NULL;
        int common;
        int rc = field_strings(state, p, f, &name, &key, &common);
        if (rc == 0) {
            const unsigned char *text = p + f->value_start;
            value = (common >= 0 && common_value_shared[common] && !f->value_high)
                        ? shared_text(state, text, f->value_len)
                        : latin1_str(text, f->value_len, f->value_high);
            rc = value == NULL ? -1 : add_field(headers, i, fields, name, key, value);
        }
        Py_XDECREF(name);
        Py_XDECREF(value);
        Py_XDECREF(key);
        if (rc < 0) {
            goto error; /* unfilled list slots are NULL, which list dealloc skips */
        }
    }
    Py_INCREF(version);
    PyObject *result = PyTuple_New(5);
    if (result == NULL) {
        Py_DECREF(version);
        goto error;
    }
    PyTuple_SET_ITEM(result, 0, method);
    PyTuple_SET_ITEM(result, 1, target);
    PyTuple_SET_ITEM(result, 2, version);
    PyTuple_SET_ITEM(result, 3, headers);
    PyTuple_SET_ITEM(result, 4, fields);
    return result;

error:
    Py_XDECREF(method);
    Py_XDECREF(target);
    Py_XDECREF(headers);
    Py_XDECREF(fields);
    return NULL;
}

FWSP_DOC_STRVAR(fwsp_parse_request_head_doc,
"parse_request_head(head, max_headers, max_target_bytes, /)\n"
"--\n"
"\n"
"Split a plain request head into (method, target, version, headers, fields), or None.\n"
"\n"
"Args:\n"
"    head: the request line and field lines, CRLF-separated, without the\n"
"        blank line that ends them (bytes, bytearray or any buffer).\n"
"    max_headers: Limits.max_headers; more field lines are declined.\n"
"    max_target_bytes: Limits.max_target_bytes; a longer target is declined.\n"
"\n"
"Returns:\n"
"    What the pure-Python parser computes for the same head: method, target\n"
"    and version as str, headers as a list of (name, value) pairs, fields as\n"
"    {lower-case name: [values]}. None whenever the head is not the common\n"
"    case (another request-line form or version, a control character, bare\n"
"    CR or LF, a name that is not a token, obs-fold, too many fields): the\n"
"    Python parser then reads it, and raises its usual ProtocolError.");

static PyObject *decided_head(speedups_state *state, const unsigned char *p, const head_spans *spans, PyObject *parts);

/* parse_request_head, and read_request_head when `decide` is set. */
static PyObject *
parse_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs, const char *name, int decide)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "%s() takes 3 arguments (%zd given)", name, nargs);
        return NULL;
    }
    /*
     * The limits come from a Limits object, which does not check its values:
     * anything but two non-negative ints that fit a Py_ssize_t (a float, a
     * huge or a negative int) is declined, and Python applies it as it does.
     */
    Py_ssize_t max_headers = -1, max_target = -1;
    if (PyLong_CheckExact(args[1]) && PyLong_CheckExact(args[2])) {
        max_headers = PyLong_AsSsize_t(args[1]);
        max_target = max_headers < 0 ? -1 : PyLong_AsSsize_t(args[2]);
        if (PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
                return NULL;
            }
            PyErr_Clear();
            max_headers = max_target = -1;
        }
    }
    if (max_headers < 0 || max_target < 0) {
        Py_RETURN_NONE;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    /*
     * Both passes must read the same bytes. Pass 2 allocates; an allocation
     * may run a collection, whose finalisers may write into a bytearray they
     * hold (its size cannot change while the view is held, its bytes can):
     * what pass 1 checked would not be what pass 2 copies. A bytes object
     * (exactly) cannot change and is read in place; anything else is copied first (the
     * parser's own bytearray slice: one memcpy of the head, on the stack when
     * it is small).
     */
    const unsigned char *p = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;
    unsigned char local[4096];
    unsigned char *copy = NULL;
    if (!PyBytes_CheckExact(args[0])) { /* (a subclass may export another buffer) */
        copy = n <= (Py_ssize_t)sizeof local ? local : PyMem_Malloc((size_t)n);
        if (copy == NULL) {
            PyBuffer_Release(&view);
            return PyErr_NoMemory();
        }
        memcpy(copy, p, (size_t)n);
        p = copy;
        PyBuffer_Release(&view);
    }
    /* ~2.5 KB on the stack for 64 fields: no allocation to decline a head */
    head_spans spans;
    PyObject *result;
    if (scan_head(p, n, max_headers, max_target, &spans)) {
        speedups_state *state = get_state(module);
        result = build_head(state, p, &spans);
        if (decide && result != NULL) {
            result = decided_head(state, p, &spans, result);
        }
    }
    else {
        result = Py_None;
        Py_INCREF(result);
    }
    if (copy == NULL) {
        PyBuffer_Release(&view);
    }
    else if (copy != local) {
        PyMem_Free(copy);
    }
    return result;
}

PyObject *
fwsp_parse_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return parse_head(module, args, nargs, "parse_request_head", 0);
}

/*
 * The body length a Content-Length field's values give when they are one
 * plain number of 1 to 18 ASCII digits (what head.content_length reads without
 * its set, so it fits an int64), as a new int; else NULL and no error, for
 * Python to decide (merging repeats, refusing the rest).
 */
static PyObject *
plain_content_length(PyObject *values)
{
    if (!PyList_Check(values) || PyList_GET_SIZE(values) != 1) {
        return NULL;
    }
    PyObject *text = PyList_GET_ITEM(values, 0);
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text)) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const unsigned char *digits = PyUnicode_1BYTE_DATA(text);
    if (n < 1 || n > 18) {
        return NULL;
    }
    long long length = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9') {
            return NULL;
        }
        length = length * 10 + (digits[i] - '0');
    }
    return PyLong_FromLongLong(length);
}

/*
 * The whole RequestHead for `parts` (build_head's tuple, whose reference this
 * takes) when the head leaves nothing to decide: HTTP/1.1, an origin-form
 * target, exactly one Host, none of the deciding fields and at most one plain
 * Content-Length, so keep-alive and a body of that length or none (RFC 9112
 * 6.3 and 9.3, as _begin_request decides them). Otherwise `parts` itself, for
 * Python to decide; NULL on error.
 */
static PyObject *
decided_head(speedups_state *state, const unsigned char *p, const head_spans *spans, PyObject *parts)
{
    PyObject *length = Py_None; /* a new reference once read: released on every path below */
    PyTypeObject *type = state->head_type;
    PyObject *fields = PyTuple_GET_ITEM(parts, 4);
    if (type == NULL || !spans->http11 || p[spans->target_start] != '/') {
        return parts;
    }
    PyObject *host = PyDict_GetItemWithError(fields, state->host); /* borrowed */
    if (host == NULL || PyList_GET_SIZE(host) != 1) {
        goto undecided;
    }
    for (int i = 0; i < N_DECIDING_FIELDS; i++) {
        if (PyDict_GetItemWithError(fields, state->deciding[i]) != NULL || PyErr_Occurred()) {
            goto undecided;
        }
    }
    PyObject *declared = PyDict_GetItemWithError(fields, state->content_length); /* borrowed */
    if (declared != NULL) {
        length = plain_content_length(declared);
        if (length == NULL) {
            goto undecided; /* (or a MemoryError: undecided sees it) */
        }
    }
    else if (PyErr_Occurred()) {
        goto error;
    }
    PyObject *head = type->tp_alloc(type, 0); /* slots zeroed, as in make_request_head */
    if (head == NULL) {
        goto error;
    }
    /* In RequestHead's order (head_fields): method, target, version, headers, keep_alive,
       expect_continue, chunked, content_length, fields. */
    PyObject *values[N_HEAD_FIELDS] = {
        PyTuple_GET_ITEM(parts, 0), PyTuple_GET_ITEM(parts, 1), PyTuple_GET_ITEM(parts, 2),
        PyTuple_GET_ITEM(parts, 3), Py_True, Py_False, Py_False, length, fields,
    };
    for (Py_ssize_t i = 0; i < N_HEAD_FIELDS; i++) {
        Py_INCREF(values[i]);
        *(PyObject **)((char *)head + state->head_offsets[i]) = values[i];
    }
    if (length != Py_None) {
        Py_DECREF(length);
    }
    Py_DECREF(parts);
    return head;

undecided:
    if (!PyErr_Occurred()) {
        return parts;
    }
error:
    if (length != NULL && length != Py_None) {
        Py_DECREF(length);
    }
    Py_DECREF(parts);
    return NULL;
}

FWSP_DOC_STRVAR(fwsp_read_request_head_doc,
"read_request_head(head, max_headers, max_target_bytes, /)\n"
"--\n"
"\n"
"parse_request_head, and the whole event where the head leaves nothing to decide.\n"
"\n"
"Returns:\n"
"    None where parse_request_head declines. The bound RequestHead (see\n"
"    bind_request_head) for an HTTP/1.1 request with an origin-form target,\n"
"    exactly one Host, no Transfer-Encoding, Connection or Expect, and no\n"
"    Content-Length or one of 1 to 18 ASCII digits: keep-alive and a body of\n"
"    that length or none, what the Python parser decides for it. Otherwise\n"
"    parse_request_head's tuple, for Python to decide.");

PyObject *
fwsp_read_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return parse_head(module, args, nargs, "read_request_head", 1);
}
