/*
 * The guest side of the judge: a WASI reactor around a static CPython 3.11.
 *
 * The host snapshots the module after `r1_init` (Py_Initialize + harness import), then for every
 * test instantiates the snapshot and hands one request at a time to `r1_run`. Requests and
 * responses are JSON bytes; their meaning lives in harness.py. Nothing here is reachable from
 * Python except `_r1host.peer_call`, which only the trusted check instance is given a peer for.
 */
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__attribute__((import_module("r1"), import_name("peer_call")))
extern int32_t r1_host_peer_call(const char *ptr, int32_t len);
__attribute__((import_module("r1"), import_name("peer_result")))
extern void r1_host_peer_result(char *ptr);

static PyObject *dispatch;
static char *response;
static int32_t response_len;

/* _r1host.peer_call(request: bytes) -> bytes: forwards a request to the solution instance. */
static PyObject *peer_call(PyObject *self, PyObject *arg) {
    (void)self;
    char *data;
    Py_ssize_t len;
    if (PyBytes_AsStringAndSize(arg, &data, &len) < 0) {
        return NULL;
    }
    int32_t n = r1_host_peer_call(data, (int32_t)len);
    if (n < 0) {
        PyErr_SetString(PyExc_RuntimeError, "no solution instance answered");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL) {
        return NULL;
    }
    r1_host_peer_result(PyBytes_AS_STRING(out));
    return out;
}

static PyMethodDef host_methods[] = {
    {"peer_call", peer_call, METH_O, "Send a request to the solution instance."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef host_module = {
    PyModuleDef_HEAD_INIT, "_r1host", NULL, -1, host_methods,
};

static PyObject *init_host_module(void) { return PyModule_Create(&host_module); }

static void fail(const char *what) {
    fprintf(stderr, "r1_init: %s\n", what);
    if (PyErr_Occurred()) {
        PyErr_Print();
    }
    abort();
}

/* Start the interpreter and import the harness; the host snapshots memory right after. */
__attribute__((export_name("r1_init"))) void r1_init(void) {
    PyImport_AppendInittab("_r1host", init_host_module);

    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.use_hash_seed = 1;
    config.hash_seed = 0;
    config.write_bytecode = 0;
    config.site_import = 0;
    config.install_signal_handlers = 0;
    config.module_search_paths_set = 1;
    PyStatus status = PyWideStringList_Append(&config.module_search_paths, L"/harness");
    if (!PyStatus_Exception(status)) {
        status = PyWideStringList_Append(&config.module_search_paths, L"/stdlib");
    }
    if (!PyStatus_Exception(status)) {
        status = Py_InitializeFromConfig(&config);
    }
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        fail(status.err_msg ? status.err_msg : "interpreter start-up failed");
    }
    PyObject *harness = PyImport_ImportModule("r1_harness");
    if (harness == NULL) {
        fail("cannot import r1_harness");
    }
    PyObject *ready = PyObject_CallMethod(harness, "initialize", NULL);
    if (ready == NULL) {
        fail("r1_harness.initialize failed");
    }
    Py_DECREF(ready);
    dispatch = PyObject_GetAttrString(harness, "dispatch");
    if (dispatch == NULL) {
        fail("r1_harness.dispatch missing");
    }
    Py_DECREF(harness);
}

/* A buffer for the host to write a request into. */
__attribute__((export_name("r1_alloc"))) char *r1_alloc(int32_t len) {
    return malloc(len > 0 ? (size_t)len : 1);
}

/* Handle one request; returns 0 when the harness produced a response. */
__attribute__((export_name("r1_run"))) int32_t r1_run(char *ptr, int32_t len) {
    PyObject *request = PyBytes_FromStringAndSize(ptr, len);
    free(ptr);
    if (request == NULL) {
        return 1;
    }
    PyObject *result = PyObject_CallOneArg(dispatch, request);
    Py_DECREF(request);
    if (result == NULL || !PyBytes_Check(result)) {
        PyErr_Print();
        Py_XDECREF(result);
        return 1;
    }
    free(response);
    response_len = (int32_t)PyBytes_GET_SIZE(result);
    response = malloc(response_len > 0 ? (size_t)response_len : 1);
    memcpy(response, PyBytes_AS_STRING(result), (size_t)response_len);
    Py_DECREF(result);
    return 0;
}

__attribute__((export_name("r1_response_ptr"))) char *r1_response_ptr(void) { return response; }

__attribute__((export_name("r1_response_len"))) int32_t r1_response_len(void) { return response_len; }
