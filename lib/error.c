/*
 * Status codes and the thread-local last-error message.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

#define TNN_MESSAGE_MAX 512

/* The only mutable state besides the allocator; per thread, so threads
 * working on different handles never see each other's failures. */
static _Thread_local char last_message[TNN_MESSAGE_MAX];
static _Thread_local int last_code;

const char *tnn_strerror(int code)
{
    switch (code) {
    case TNN_OK: return "success";
    case TNN_E_INVALID: return "invalid argument";
    case TNN_E_SHAPE: return "shape mismatch";
    case TNN_E_NOMEM: return "out of memory";
    case TNN_E_IO: return "input/output error";
    case TNN_E_FORMAT: return "bad file format";
    case TNN_E_CORRUPT: return "corrupt data";
    case TNN_E_VERSION: return "unsupported version";
    case TNN_E_NUMERIC: return "non-finite value";
    case TNN_E_STATE: return "invalid state";
    default: return "unknown error";
    }
}

const char *tnn_last_error(void)
{
    return last_message;
}

int tnn_last_error_code(void)
{
    return last_code;
}

void tnn_clear_error(void)
{
    last_message[0] = '\0';
    last_code = TNN_OK;
}

int tnn_set_error(int code, const char *func, const char *message)
{
    if (code >= 0 || !func || !message)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "code %d must be a TNN_E_* code, func and message "
                         "not NULL",
                         code);
    return tnn__fail(code, func, "%s", message);
}

int tnn__fail(int code, const char *func, const char *fmt, ...)
{
    int used = snprintf(last_message, sizeof last_message, "%s: ", func);
    if (used < 0 || (size_t)used >= sizeof last_message)
        used = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message + used, sizeof last_message - (size_t)used, fmt,
              ap);
    va_end(ap);
    last_code = code;
    return code;
}
