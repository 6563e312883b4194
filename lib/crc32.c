/*
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as in zlib and
 * PNG, so that files can be checked with common tools.
 */
#include <pthread.h>

#include "internal.h"

static uint32_t crc_table[256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void make_table(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

uint32_t tnn__crc32(const void *data, size_t size)
{
    pthread_once(&crc_table_once, make_table);
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < size; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}
