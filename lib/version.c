/*
 * Version of the library as built, for comparison with the header's.
 */
#include "internal.h"

int tnn_version_number(void)
{
    return TNN_VERSION_NUMBER;
}

const char *tnn_version_string(void)
{
    return TNN_VERSION_STRING;
}
