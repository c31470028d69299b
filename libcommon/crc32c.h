/*
 * crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every FLT block.  Uses the SSE4.2 crc32 instruction when the
 * CPU has it (checked at run time), otherwise slicing-by-8 tables.
 */
#ifndef FL_CRC32C_H
#define FL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Chainable like zlib's crc32(): start with 0, feed the previous result.
 * fl_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t fl_crc32c(uint32_t crc, const void *buf, size_t n);

/* The two implementations, exposed so tests can compare them.  Calling
 * fl_crc32c_hw() when fl_crc32c_hw_available() is 0 is undefined. */
uint32_t fl_crc32c_sw(uint32_t crc, const void *buf, size_t n);
uint32_t fl_crc32c_hw(uint32_t crc, const void *buf, size_t n);
int fl_crc32c_hw_available(void);

#endif
