#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/figures/histogram.h"

static struct hist_row row(uint32_t tid, uint32_t slot, uint64_t count)
{
	return (struct hist_row){ { .tgid = 100, .tid = tid, .slot = slot }, count };
}

START_TEST(slot_ranges)
{
	uint64_t lo, hi;

	/* bpf_log2l(us): slot s holds 2^(s-1) .. 2^s - 1 us, slot 0 below 1 us. */
	histogram_slot_range(0, &lo, &hi);
	ck_assert_uint_eq(lo, 0);
	ck_assert_uint_eq(hi, 0);
	histogram_slot_range(1, &lo, &hi);
	ck_assert_uint_eq(lo, 1);
	ck_assert_uint_eq(hi, 1);
	histogram_slot_range(13, &lo, &hi);
	ck_assert_uint_eq(lo, 4096);
	ck_assert_uint_eq(hi, 8191);
}
END_TEST

START_TEST(process_intervals)
{
	struct histograms h = { 0 };
	struct hist_row first[] = { row(0, 13, 10), row(0, 3, 2) };
	struct hist_row second[] = { row(0, 13, 25), row(0, 3, 2), row(0, 12, 1) };
	const struct hist_series *p;

	ck_assert_int_eq(histograms_update(&h, first, 2), 0);
	p = histograms_find(&h, 0);
	ck_assert_uint_eq(p->interval.slots[13], 10);
	ck_assert_uint_eq(histogram_total(&p->interval), 12);
	ck_assert_int_eq(histograms_update(&h, second, 3), 0);
	p = histograms_find(&h, 0);
	ck_assert_uint_eq(p->interval.slots[13], 15);
	ck_assert_uint_eq(p->interval.slots[3], 0);
	ck_assert_uint_eq(p->interval.slots[12], 1);
	ck_assert_uint_eq(p->run.slots[13], 25);
	ck_assert_uint_eq(histogram_total(&p->run), 28);
	histograms_free(&h);
}
END_TEST

START_TEST(per_thread_sums_and_ended_threads)
{
	struct histograms h = { 0 };
	struct hist_row first[] = { row(7, 13, 4), row(8, 13, 6) };
	struct hist_row second[] = { row(7, 13, 5) }; /* 8 ended: its rows were deleted */
	const struct hist_series *p;

	ck_assert_int_eq(histograms_update(&h, first, 2), 0);
	p = histograms_find(&h, 0);
	ck_assert_uint_eq(p->interval.slots[13], 10);
	ck_assert_int_eq(histograms_update(&h, second, 1), 0);
	p = histograms_find(&h, 0);
	ck_assert_uint_eq(p->interval.slots[13], 1);
	ck_assert_uint_eq(p->run.slots[13], 11);
	ck_assert_uint_eq(histograms_find(&h, 8)->run.slots[13], 6);
	ck_assert_uint_eq(histograms_find(&h, 8)->interval.slots[13], 0);
	histograms_free(&h);
}
END_TEST

START_TEST(rendering)
{
	struct histogram hist = { { 0 } };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	hist.slots[12] = 5;
	hist.slots[13] = 20;
	histogram_render(f, &hist, "GIL waits:", 20);
	fputc('\n', f);
	histogram_json(f, &hist);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "GIL waits:\n"));
	ck_assert_ptr_nonnull(strstr(buf, "2048 -> 4095     : 5         |*****               |"));
	ck_assert_ptr_nonnull(strstr(buf, "4096 -> 8191     : 20        |********************|"));
	ck_assert_ptr_null(strstr(buf, "1024 ->"));
	ck_assert_ptr_nonnull(strstr(buf, "[{\"low_us\": 2048, \"high_us\": 4095, \"count\": 5}, "
					  "{\"low_us\": 4096, \"high_us\": 8191, \"count\": 20}]"));
	free(buf);
}
END_TEST

Suite *histogram_suite(void)
{
	Suite *s = suite_create("histogram");
	TCase *tc = tcase_create("buckets");

	tcase_add_test(tc, slot_ranges);
	tcase_add_test(tc, process_intervals);
	tcase_add_test(tc, per_thread_sums_and_ended_threads);
	tcase_add_test(tc, rendering);
	suite_add_tcase(s, tc);
	return s;
}
