/*
 * framework.http1.speedups: what the files of the one extension module share.
 *
 * Private to speedups*.c (setup.py compiles them into the one module; nothing
 * else includes this). It holds the module's state, the tables the request
 * parser and the response writer both read (filled once at import, in
 * speedups.c), the small helpers more than one file uses, static inline so
 * that each file still inlines them, and the functions speedups.c's method
 * table names. A name shared across files starts with fwsp_ and is not
 * exported from the shared object.
 */

#ifndef FRAMEWORK_HTTP1_SPEEDUPS_H
#define FRAMEWORK_HTTP1_SPEEDUPS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

/*
 * Linkage across the module's files only: hidden from the shared object's
 * exported symbols, so nothing outside can take a name's place, and a table
 * is read as directly as a static one (no GOT indirection).
 */
#if defined(__GNUC__) || defined(__clang__)
#define FWSP_INTERNAL __attribute__((visibility("hidden")))
#else
#define FWSP_INTERNAL
#endif

/* The bytes of a token and of a field value (RFC 9110 5.6.2 and 5.5), for the parser
 * and the writer: see speedups.c. */
FWSP_INTERNAL extern unsigned char fwsp_is_tchar[256];
FWSP_INTERNAL extern unsigned char fwsp_is_field_byte[256];

/*
 * The common methods and field names (speedups_head.c, which parses with them;
 * the module interns them at import). Their counts are written here, since the
 * module state is sized by them; speedups_head.c checks each against its list
 * when it is compiled. fwsp_fill_common_tables() fills the lengths (and the
 * rest of the head parser's tables) once, from fill_tables.
 */
#define N_COMMON_METHODS 7
FWSP_INTERNAL extern const char *const fwsp_common_methods[];
#define N_COMMON_NAMES 46
FWSP_INTERNAL extern const char *const fwsp_common_names[];
FWSP_INTERNAL extern Py_ssize_t fwsp_common_name_len[N_COMMON_NAMES];
FWSP_INTERNAL void fwsp_fill_common_tables(void);

/* How many fields RequestHead has (head_fields, speedups_requesthead.c) and how many
 * fields leave a head to Python (deciding_fields, speedups.c); each list is
 * checked against its count where it is defined. */
#define N_HEAD_FIELDS ((Py_ssize_t)9)
#define N_DECIDING_FIELDS 3

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

/*
 * Recent request values and targets, as str, found by their bytes: the same
 * Host, User-Agent, Accept... and the same path come in request after
 * request, and every waiting long poll would otherwise hold its own copy of
 * each (loadtest/longpoll_fanout.py: bytes per waiter). A slot is chosen by
 * the length and the first and last bytes, and confirmed by comparing all of
 * them; a collision evicts. Only ASCII texts of at most RECENT_TEXT_MAX
 * bytes, of the fields in shared_value_names (speedups_head.c) and of
 * targets without a query or parameters ("?", ";"), are kept (strong
 * references: at most RECENT_SLOTS short strings). A str cannot change, so
 * sharing shows no request another's data; but a path that carries a token
 * of its own (/reset/<token>) stays in its slot until another text takes it,
 * as the freed copy's bytes would stay in the allocator's memory.
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

/* c with A-Z lower-cased (ASCII only): field names, hex digits, the module's keys. */
static inline unsigned char
ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/*
 * The module's functions, which speedups.c's method table names, and their
 * docstrings, each defined beside its function with FWSP_DOC_STRVAR (what
 * PyDoc_STRVAR makes, but visible to the other files).
 */
#define FWSP_DOC_STRVAR(name, str) const char name[] = PyDoc_STR(str)

/* speedups_head.c */
FWSP_INTERNAL extern const char fwsp_parse_request_head_doc[];
FWSP_INTERNAL PyObject *fwsp_parse_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
FWSP_INTERNAL extern const char fwsp_read_request_head_doc[];
FWSP_INTERNAL PyObject *fwsp_read_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* speedups_requesthead.c */
FWSP_INTERNAL extern const char fwsp_bind_request_head_doc[];
FWSP_INTERNAL PyObject *fwsp_bind_request_head(PyObject *module, PyObject *cls);
FWSP_INTERNAL extern const char fwsp_make_request_head_doc[];
FWSP_INTERNAL PyObject *fwsp_make_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* speedups_response.c */
FWSP_INTERNAL extern const char fwsp_serialize_response_fields_doc[];
FWSP_INTERNAL PyObject *fwsp_serialize_response_fields(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
FWSP_INTERNAL extern const char fwsp_prepared_response_doc[];
FWSP_INTERNAL PyObject *fwsp_prepared_response(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* speedups_urlencoded.c */
FWSP_INTERNAL extern const char fwsp_parse_urlencoded_doc[];
FWSP_INTERNAL PyObject *fwsp_parse_urlencoded(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#endif /* FRAMEWORK_HTTP1_SPEEDUPS_H */
