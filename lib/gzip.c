// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gzip.c - gzip for binary reports (gzip.h).  zlib is not linked: the
 * traced program gets no new dependency, and a program that has no zlib
 * still gets a valid (stored) gzip file.  zlib's memory comes from tmem
 * through its zalloc/zfree hooks, never from the program's allocator.
 * Report path only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "gzip.h"
#include "tmem.h"

static struct {
	bool tried, past_fini;
	int (*init2)(z_streamp, int, int, int, int, int, const char *, int);
	int (*deflate)(z_streamp, int);
	int (*end)(z_streamp);
} Z;

static void gz_load(void)
{
	void *h;

	if (Z.tried)
		return;
	Z.tried = true;
	h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	Z.init2 = (int (*)(z_streamp, int, int, int, int, int, const char *, int))dlsym(h, "deflateInit2_");
	Z.deflate = (int (*)(z_streamp, int))dlsym(h, "deflate");
	Z.end = (int (*)(z_streamp))dlsym(h, "deflateEnd");
	if (!Z.init2 || !Z.deflate || !Z.end)
		Z.init2 = NULL;
}

void gz_begin(void)
{
	if (!Z.past_fini)
		gz_load();
}

void gz_fini(void)
{
	gz_load();
	Z.past_fini = true;
}

bool gz_compresses(void)
{
	return Z.init2 != NULL;
}

/* ------------------------------------------------------------ zlib */

/* zlib frees without a size: each block carries its own in front. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	size_t n = (size_t)items * size + 16;
	size_t *p = tmem_alloc_scratch(n);

	if (!p)
		return NULL;
	*p = n;
	return (char *)p + 16;
}

static void z_free(voidpf opaque, voidpf addr)
{
	size_t *p = (size_t *)((char *)addr - 16);

	tmem_free(p, *p);
}

static bool zlib_write(struct out *o, const void *data, size_t n)
{
	z_stream z = { .zalloc = z_alloc, .zfree = z_free };
	unsigned char chunk[4096];
	int rc;

	/* 15 + 16: a gzip header and trailer around the deflate stream */
	if (Z.init2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
		    (int)sizeof(z)) != Z_OK)
		return false;
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)n; /* reports are far below 4 GiB; see pprof.c */
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = Z.deflate(&z, Z_FINISH);
		out_write(o, (const char *)chunk, sizeof(chunk) - z.avail_out);
	} while (rc == Z_OK);
	Z.end(&z);
	return rc == Z_STREAM_END;
}

/* ------------------------------------------------------------ stored */

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

static void put_le32(unsigned char *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

/* RFC 1952 around RFC 1951's stored blocks (BTYPE 00) of 65535 bytes. */
static void stored_write(struct out *o, const unsigned char *p, size_t n)
{
	static const unsigned char header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	unsigned char b[8];
	size_t off = 0;

	out_write(o, (const char *)header, sizeof(header));
	do {
		size_t len = n - off < 65535 ? n - off : 65535;

		b[0] = off + len == n; /* BFINAL on the last block */
		b[1] = (unsigned char)len;
		b[2] = (unsigned char)(len >> 8);
		b[3] = (unsigned char)~len;
		b[4] = (unsigned char)(~len >> 8);
		out_write(o, (const char *)b, 5);
		out_write(o, (const char *)p + off, len);
		off += len;
	} while (off < n);
	put_le32(b, crc32_of(p, n));
	put_le32(b + 4, (uint32_t)n);
	out_write(o, (const char *)b, 8);
}

void gz_write(struct out *o, const void *data, size_t n, bool with_zlib)
{
	/* deflateInit2() takes all the memory zlib needs: zlib_write() fails
	 * before its first byte or not at all */
	if (with_zlib && Z.init2 && zlib_write(o, data, n))
		return;
	stored_write(o, data, n);
}
