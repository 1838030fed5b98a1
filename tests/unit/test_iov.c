/* iovec stream helpers: slicing and copying across buffer boundaries. */
#include "../../devices/iov.h"
#include "../harness.h"

static void slices_and_copies(void)
{
	char a[3] = "abc", b[4] = "defg", c[2] = "hi", out[16] = { 0 };
	struct iovec v[3] = { { a, 3 }, { b, 4 }, { c, 2 } }, s[3];

	CHECK_EQ(iov_size(v, 3), 9);
	CHECK_EQ(iov_slice(v, 3, 2, 4, s, 3), 2);	/* "c" + "def" */
	CHECK_EQ(s[0].iov_len, 1);
	CHECK(s[0].iov_base == a + 2);
	CHECK_EQ(s[1].iov_len, 3);
	CHECK_EQ(iov_slice(v, 3, 9, 4, s, 3), 0);	/* past the end */
	CHECK_EQ(iov_slice(v, 3, 0, 9, s, 2), 2);	/* out of room */
	CHECK_EQ(iov_to_buf(v, 3, 1, out, 7), 7);
	CHECK_STR(out, "bcdefgh");
	CHECK_EQ(iov_to_buf(v, 3, 7, out, 10), 2);	/* short: only 2 left */
	CHECK_EQ(iov_from_buf(v, 3, 2, "XYZ", 3), 3);
	CHECK(memcmp(a, "abX", 3) == 0 && memcmp(b, "YZfg", 4) == 0);
}

HARNESS_MAIN(slices_and_copies)
