/* SHA-256 (FIPS 180-4): content digests and cache keys. */
#ifndef HVM_SHA256_H
#define HVM_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32
#define SHA256_HEX   (2 * SHA256_BYTES + 1)

struct sha256 {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed so far */
	uint8_t block[64];
	size_t fill;		/* bytes waiting in block */
};

/* Starts a digest. */
void sha256_init(struct sha256 *s);

/* Adds len bytes. */
void sha256_update(struct sha256 *s, const void *data, size_t len);

/* Finishes: 32 bytes into out. The state must be re-initialised before reuse. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_BYTES]);

/* Finishes into lower-case hex (64 characters and a NUL). */
void sha256_final_hex(struct sha256 *s, char out[SHA256_HEX]);

/* One-shot digest of a buffer, as hex. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX]);

#endif
