/*
 * errors.c - names and messages of the library's error codes and of the
 * Python exception classes, expanded from the X-macro tables in cmsgref.h
 * so that a code, its name and its message cannot drift apart.
 */
#include "cmsgref.h"

/* Returns the message of a CR_E* code; "unknown error" otherwise. */
const char *cr_strerror(int err)
{
    switch (err) {
    case 0: return "success";
#define CR_ERRNO_MSG(name, val, msg)                                           \
    case (val): return (msg);
        CR_ERRNO_MAP(CR_ERRNO_MSG)
#undef CR_ERRNO_MSG
    default: return "unknown error";
    }
}

/* Returns "CR_EINVAL" and the like; "CR_E?" for an unknown code. */
const char *cr_err_name(int err)
{
    switch (err) {
#define CR_ERRNO_NAME(name, val, msg)                                          \
    case (val): return "CR_" #name;
        CR_ERRNO_MAP(CR_ERRNO_NAME)
#undef CR_ERRNO_NAME
    default: return "CR_E?";
    }
}

/* Returns the Python class name of exc; "?" for an unknown value. */
const char *cr_pyexc_name(enum cr_pyexc exc)
{
    switch (exc) {
#define CR_PYEXC_NAME(name, val, cls)                                          \
    case CR_PY_##name: return (cls);
        CR_PYEXC_MAP(CR_PYEXC_NAME)
#undef CR_PYEXC_NAME
    default: return "?";
    }
}
