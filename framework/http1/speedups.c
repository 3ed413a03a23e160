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
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* T_OBJECT_EX, READONLY: RequestHead's slots */

#include <string.h>

/*
 * RFC 9110 5.6.2: token = 1*tchar
 *   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 * Filled once at import by fill_tables(); indexed by byte.
 */
static unsigned char is_tchar[256];

/*
 * RFC 9110 5.5: field-value = *field-content, field-vchar = VCHAR / obs-text,
 * with SP and HTAB inside. So a byte of a value is HTAB, SP, VCHAR (%x21-7E)
 * or obs-text (%x80-FF); every other control (CR, LF, NUL, DEL...) is not.
 * The writer's rule (grammar.FORBIDDEN_OUT) refuses the same controls.
 */
static unsigned char is_field_byte[256];

/*
 * Methods and field names that nearly every request carries, made once as
 * interned str: a head of common fields then allocates no method, name or
 * key string (speed, and memory: a waiting long poll keeps its fields dict,
 * loadtest/longpoll_fanout.py), and the keys being interned makes Python's
 * lookups with literal names (fields.get("host")) hit by identity.
 * The names are in their usual spelling; the dict key is the lower-case form.
 */
static const char *const common_methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"};
#define N_COMMON_METHODS ((int)(sizeof common_methods / sizeof common_methods[0]))
static Py_ssize_t common_method_len[N_COMMON_METHODS];

static const char *const common_names[] = {
    "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Accept-Charset",
    "Connection", "Keep-Alive", "Content-Type", "Content-Length", "Transfer-Encoding", "Content-Encoding",
    "Cookie", "Referer", "Origin", "Cache-Control", "Pragma", "Upgrade", "Upgrade-Insecure-Requests",
    "If-None-Match", "If-Modified-Since", "Range", "If-Range", "Authorization", "Expect", "Te", "Dnt",
    "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "X-Request-Id",
    "X-Requested-With", "X-Xsrftoken", "X-Csrftoken", "Sec-Fetch-Site", "Sec-Fetch-Mode",
    "Sec-Fetch-Dest", "Sec-Fetch-User", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform",
    "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Priority",
};
#define N_COMMON_NAMES ((int)(sizeof common_names / sizeof common_names[0]))
static Py_ssize_t common_name_len[N_COMMON_NAMES];

/*
 * The common fields whose values repeat from request to request and carry
 * nothing of one user's: their str is shared between requests through the
 * table of recent values below. Cookie, Authorization, tokens, request ids,
 * validators and lengths are not among them: they differ, and a secret is
 * not kept past its request.
 */
static const char *const shared_value_names[] = {
    "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Accept-Charset", "Connection",
    "Keep-Alive", "Content-Type", "Cache-Control", "Pragma", "Upgrade", "Upgrade-Insecure-Requests", "Origin",
    "Te", "Dnt", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Requested-With", "Sec-Fetch-Site", "Sec-Fetch-Mode",
    "Sec-Fetch-Dest", "Sec-Fetch-User", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Priority",
};
#define N_SHARED_VALUE_NAMES ((int)(sizeof shared_value_names / sizeof shared_value_names[0]))
static unsigned char common_value_shared[N_COMMON_NAMES];

static void
fill_tables(void)
{
    static const char tchar_punct[] = "!#$%&'*+-.^_`|~";
    int c;
    memset(is_tchar, 0, sizeof is_tchar);
    memset(is_field_byte, 0, sizeof is_field_byte);
    for (c = '0'; c <= '9'; c++) {
        is_tchar[c] = 1;
    }
    for (c = 'A'; c <= 'Z'; c++) {
        is_tchar[c] = 1;
        is_tchar[c + ('a' - 'A')] = 1;
    }
    for (const char *p = tchar_punct; *p; p++) {
        is_tchar[(unsigned char)*p] = 1;
    }
    is_field_byte['\t'] = 1;
    for (c = 0x20; c <= 0x7e; c++) {
        is_field_byte[c] = 1;
    }
    for (c = 0x80; c <= 0xff; c++) {
        is_field_byte[c] = 1;
    }
    for (int i = 0; i < N_COMMON_METHODS; i++) {
        common_method_len[i] = (Py_ssize_t)strlen(common_methods[i]);
    }
    for (int i = 0; i < N_COMMON_NAMES; i++) {
        common_name_len[i] = (Py_ssize_t)strlen(common_names[i]);
        common_value_shared[i] = 0;
        for (int j = 0; j < N_SHARED_VALUE_NAMES; j++) {
            if (strcmp(common_names[i], shared_value_names[j]) == 0) {
                common_value_shared[i] = 1;
            }
        }
    }
}


/* The fields of RequestHead (grammar.py), in the order its constructor takes them. */
static const char *const head_fields[] = {
    "method", "target", "version", "headers", "keep_alive", "expect_continue", "chunked", "content_length", "fields",
};
#define N_HEAD_FIELDS ((Py_ssize_t)(sizeof head_fields / sizeof head_fields[0]))

/*
 * The fields whose presence leaves a request head with decisions that only
 * the Python parser makes (_begin_request: a chunked body, keep-alive, an
 * expectation). read_request_head builds the whole event only without them;
 * Content-Length it reads itself when it is one plain number.
 */
static const char *const deciding_fields[] = {"transfer-encoding", "connection", "expect"};
#define N_DECIDING_FIELDS ((int)(sizeof deciding_fields / sizeof deciding_fields[0]))

/*
 * Names and texts serialize_response_fields has already checked, found by
 * identity: a response's fields are mostly the same str objects every time
 * (Server, Content-Type, the Date of this second, the names handlers set as
 * literals), so their per-character checks, and the display form of each
 * name, are done once rather than per response. Each slot holds a strong
 * reference, so an address is never reused while it is there; str objects
 * cannot change. Direct-mapped by address; a collision just evicts. Only
 * short texts are kept: a megabyte value is not held on to after its
 * response, but a short one (a cookie, a token) stays referenced here until
 * another text takes its slot. Found by identity, it is never served as
 * another response's; it only lives on in memory a while.
 */
#define SEEN_SLOTS 256
#define SEEN_NAME_MAX 40
#define SEEN_TEXT_MAX 128

typedef struct {
    PyObject *name; /* a key found to be a token, or NULL */
    Py_ssize_t len;
    char display[SEEN_NAME_MAX]; /* as copy_display_name writes it */
} seen_name;

static inline size_t
seen_slot(PyObject *object)
{
    return ((uintptr_t)object >> 4) & (SEEN_SLOTS - 1);
}

/*
 * Recent request values and targets, as str, found by their bytes: the same
 * Host, User-Agent, Accept... and the same path come in request after
 * request, and every waiting long poll would otherwise hold its own copy of
 * each (loadtest/longpoll_fanout.py: bytes per waiter). A slot is chosen by
 * the length and the first and last bytes, and confirmed by comparing all of
 * them; a collision evicts. Only ASCII texts of at most RECENT_TEXT_MAX
 * bytes, of the fields in shared_value_names and of targets without a query
 * or parameters ("?", ";"), are kept (strong references: at most
 * RECENT_SLOTS short strings). A str cannot change, so sharing shows no
 * request another's data; but a path that carries a token of its own
 * (/reset/<token>) stays in its slot until another text takes it, as the
 * freed copy's bytes would stay in the allocator's memory.
 */
#define RECENT_SLOTS 128
#define RECENT_TEXT_MAX 256
/*
 * The module's state: the two versions served, the common methods and names,
 * made once, and RequestHead with where each of its slots lives (bound by
 * bind_request_head()).
 */
typedef struct {
    PyObject *http11;
    PyObject *http10;
    PyObject *methods[N_COMMON_METHODS];
    PyObject *spelled[N_COMMON_NAMES]; /* "User-Agent" */
    PyObject *lower[N_COMMON_NAMES];   /* "user-agent", the dict key */
    PyTypeObject *head_type;
    Py_ssize_t head_offsets[N_HEAD_FIELDS];
    PyObject *host;                        /* "host" */
    PyObject *content_length;              /* "content-length" */
    PyObject *deciding[N_DECIDING_FIELDS]; /* "transfer-encoding", ...: see read_request_head */
    seen_name seen_names[SEEN_SLOTS];      /* see serialize_response_fields */
    PyObject *seen_texts[SEEN_SLOTS];
    PyObject *recent_texts[RECENT_SLOTS]; /* see shared_text */
} speedups_state;

static inline speedups_state *
get_state(PyObject *module)
{
    return (speedups_state *)PyModule_GetState(module);
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
 * same text (see RECENT_SLOTS): a new reference, or NULL with an exception.
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
    while (pos < n && is_tchar[p[pos]]) {
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
    while (pos < n && is_tchar[p[pos]]) {
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
        if (!is_field_byte[c]) {
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

static inline unsigned char
ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* The index of the common field name equal to p[0:n] ignoring ASCII case, or -1. */
static int
find_common_name(const unsigned char *p, Py_ssize_t n)
{
    for (int i = 0; i < N_COMMON_NAMES; i++) {
        if (common_name_len[i] != n) {
            continue;
        }
        const unsigned char *name = (const unsigned char *)common_names[i];
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
        else if (memcmp(text, common_names[common], (size_t)f->name_len) == 0) {
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
        if (common_method_len[i] == n && memcmp(p, common_methods[i], (size_t)n) == 0) {
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

PyDoc_STRVAR(parse_request_head_doc,
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

static PyObject *
parse_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
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

PyDoc_STRVAR(read_request_head_doc,
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

static PyObject *
read_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return parse_head(module, args, nargs, "read_request_head", 1);
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
        if (!is_field_byte[p[i]]) {
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
        if (!is_tchar[p[i]]) {
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

PyDoc_STRVAR(serialize_response_fields_doc,
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

static PyObject *
serialize_response_fields(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
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

PyDoc_STRVAR(prepared_response_doc,
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

static PyObject *
prepared_response(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
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

/* ------------------------------------------------------------------------
 * RequestHead, built without its Python constructor
 *
 * The dataclass's generated __init__ is a Python frame storing nine slots:
 * about 2,500 instructions per request, more than the rest of a plain GET's
 * framing. Here the instance is allocated and its slots filled directly, at
 * the offsets its member descriptors give. bind_request_head() checks once
 * that every field is a plain object slot, and refuses the class otherwise.
 * ------------------------------------------------------------------------ */

PyDoc_STRVAR(bind_request_head_doc,
"bind_request_head(cls, /)\n--\n\n"
"Make make_request_head() build instances of cls, a slots dataclass whose fields are\n"
"method, target, version, headers, keep_alive, expect_continue, chunked, content_length\n"
"and fields, in that order. Raises TypeError when cls is not laid out so.");

static PyObject *
bind_request_head(PyObject *module, PyObject *cls)
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

PyDoc_STRVAR(make_request_head_doc,
"make_request_head(method, target, version, headers, keep_alive, expect_continue, chunked,\n"
"                  content_length, fields, /)\n--\n\n"
"The bound RequestHead with these fields, without running its __init__.");

static PyObject *
make_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
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

/* ------------------------------------------------------------------------
 * the module
 * ------------------------------------------------------------------------ */

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

PyDoc_STRVAR(parse_urlencoded_doc,
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

static PyObject *
parse_urlencoded(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
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

static PyMethodDef speedups_methods[] = {
    {"parse_request_head", (PyCFunction)(void (*)(void))parse_request_head, METH_FASTCALL, parse_request_head_doc},
    {"serialize_response_fields", (PyCFunction)(void (*)(void))serialize_response_fields, METH_FASTCALL,
     serialize_response_fields_doc},
    {"read_request_head", (PyCFunction)(void (*)(void))read_request_head, METH_FASTCALL, read_request_head_doc},
    {"prepared_response", (PyCFunction)(void (*)(void))prepared_response, METH_FASTCALL, prepared_response_doc},
    {"parse_urlencoded", (PyCFunction)(void (*)(void))parse_urlencoded, METH_FASTCALL, parse_urlencoded_doc},
    {"bind_request_head", bind_request_head, METH_O, bind_request_head_doc},
    {"make_request_head", (PyCFunction)(void (*)(void))make_request_head, METH_FASTCALL, make_request_head_doc},
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
        state->methods[i] = PyUnicode_InternFromString(common_methods[i]);
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
        Py_ssize_t n = common_name_len[i];
        if (n >= (Py_ssize_t)sizeof lower) {
            PyErr_SetString(PyExc_SystemError, "a common field name is longer than its buffer");
            return -1;
        }
        for (Py_ssize_t j = 0; j <= n; j++) {
            lower[j] = (char)ascii_lower((unsigned char)common_names[i][j]);
        }
        state->spelled[i] = PyUnicode_InternFromString(common_names[i]);
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
