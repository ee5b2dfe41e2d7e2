#include "config.h"

#include "tool/bpf/snapshot.h"

#include <bcc/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tool/inspect/proc_parse.h"
#include "tool/inspect/target.h"

/* bcc's bpf_delete_elem takes its key without const and does not write
 * it: the const is cast away through uintptr_t below. */
#define BATCH_ROWS 1024
#define MAX_KEY 64
#define MAX_VALUE 128

_Static_assert(sizeof(struct gs_wait_key) <= MAX_KEY && sizeof(struct gs_hist_key) <= MAX_KEY &&
		       sizeof(struct gs_held_key) <= MAX_KEY,
	       "a map's key outgrew the snapshot's buffers");
_Static_assert(sizeof(struct gs_wait_stats) <= MAX_VALUE && sizeof(struct gs_cpu_time) <= MAX_VALUE &&
		       sizeof(struct gs_sched) <= MAX_VALUE && sizeof(struct gs_inflight) <= MAX_VALUE &&
		       sizeof(struct gs_blocked) <= MAX_VALUE && sizeof(struct gs_held_stats) <= MAX_VALUE,
	       "a map's value outgrew the snapshot's buffers");

/* A map's rows as user space keeps them: {key, value} with the value at
 * value_offset, and the process id at tgid_offset (NO_TGID: none). */
struct row_layout {
	size_t key_size, value_size, value_offset, row_size, tgid_offset;
};
#define NO_TGID ((size_t)-1)

/* A growing array of {key, value} rows, the value at value_offset. */
struct row_sink {
	size_t key_size, value_size, value_offset, row_size;
	void **rows;
	size_t *cap, n;
};

static unsigned char *next_row(struct row_sink *s)
{
	if (s->n == *s->cap) {
		size_t ncap = *s->cap ? *s->cap * 2 : BATCH_ROWS;
		void *grown = realloc(*s->rows, ncap * s->row_size);
		if (!grown)
			return NULL;
		*s->rows = grown;
		*s->cap = ncap;
	}
	/* A row's fields beyond the map's key and value start at zero. */
	return memset((unsigned char *)*s->rows + s->n * s->row_size, 0, s->row_size);
}

/* One syscall per BATCH_ROWS rows (kernel 5.6+). -1 with EINVAL or
 * ENOTSUP/EOPNOTSUPP when the kernel has no batch operations. */
static int read_batched(int fd, struct row_sink *s)
{
	static unsigned char keys[BATCH_ROWS * MAX_KEY], values[BATCH_ROWS * MAX_VALUE];
	__u32 token = 0, next = 0;
	bool first = true;

	for (;;) {
		__u32 count = BATCH_ROWS;
		int rc = bpf_lookup_batch(fd, first ? NULL : &token, &next, keys, values, &count);
		if (rc != 0 && errno != ENOENT)
			return -1;
		for (__u32 i = 0; i < count; i++) {
			unsigned char *row = next_row(s);
			if (!row)
				return -1;
			memcpy(row, keys + i * s->key_size, s->key_size);
			memcpy(row + s->value_offset, values + i * s->value_size, s->value_size);
			s->n++;
		}
		if (rc != 0) /* ENOENT: that was the last batch */
			return 0;
		token = next;
		first = false;
	}
}

static int read_one_by_one(int fd, struct row_sink *s)
{
	unsigned char key[MAX_KEY], next[MAX_KEY];
	bool first = true;

	while (bpf_get_next_key(fd, first ? NULL : key, next) == 0) {
		unsigned char *row = next_row(s);
		first = false;
		memcpy(key, next, s->key_size);
		if (!row)
			return -1;
		/* A row deleted between the two calls is simply skipped. */
		if (bpf_lookup_elem(fd, key, row + s->value_offset) == 0) {
			memcpy(row, key, s->key_size);
			s->n++;
		}
	}
	return 0;
}

/* A map read once in a shared window (snapshot_share_begin): its rows as
 * the first reader got them. */
struct shared_read {
	int fd;          /* -1: free in this window */
	size_t row_size; /* the rows' layout, with the fd, names the read */
	void *rows;
	size_t n, cap;
};

#define SHARED_READS 16 /* more maps than the tool has */

static struct {
	bool on;
	uint32_t owner; /* the process reading now: its rows only are copied (0: all) */
	struct shared_read v[SHARED_READS];
} share;

void snapshot_share_begin(void)
{
	share.on = true;
	share.owner = 0;
	for (size_t i = 0; i < SHARED_READS; i++)
		share.v[i].fd = -1;
}

void snapshot_share_owner(uint32_t tgid)
{
	share.owner = tgid;
}

void snapshot_share_end(void)
{
	share.on = false;
	share.owner = 0;
}

/* The window's read of fd with rows of row_size, or a free entry (fd -1)
 * to make it; NULL when the table is full (then nothing is shared). */
static struct shared_read *shared_read(int fd, size_t row_size)
{
	for (size_t i = 0; i < SHARED_READS; i++)
		if (share.v[i].fd == fd && share.v[i].row_size == row_size)
			return &share.v[i];
	for (size_t i = 0; i < SHARED_READS; i++) {
		struct shared_read *r = &share.v[i];
		if (r->fd >= 0)
			continue;
		/* Its buffer, kept from an earlier window, in rows of this size. */
		if (r->row_size != row_size) {
			r->cap = r->row_size ? r->cap * r->row_size / row_size : 0;
			r->row_size = row_size;
		}
		return r;
	}
	return NULL;
}

static bool owned(const unsigned char *row, size_t tgid_offset)
{
	uint32_t tgid;

	if (!share.owner || tgid_offset == NO_TGID)
		return true;
	memcpy(&tgid, row + tgid_offset, sizeof tgid);
	return tgid == share.owner;
}

/* A shared read's rows (the owner's only, where set) into *rows
 * (reallocated): a fleet's process copies its own rows, not every
 * process's. Returns how many, or -1. */
static int copy_shared(const struct shared_read *r, size_t tgid_offset, void **rows, size_t *cap)
{
	const unsigned char *from = r->rows;
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		const unsigned char *row = from + i * r->row_size;
		if (!owned(row, tgid_offset))
			continue;
		if (n == *cap) {
			size_t ncap = *cap ? 2 * *cap : 64;
			void *grown = realloc(*rows, ncap * r->row_size);
			if (!grown)
				return -1;
			*rows = grown;
			*cap = ncap;
		}
		memcpy((unsigned char *)*rows + n * r->row_size, row, r->row_size);
		n++;
	}
	return (int)n;
}

static int read_rows_now(int fd, const struct row_layout *l, void **rows, size_t *cap);

/* Every row of a hash map into *rows (reallocated). Returns how many, or
 * -1. In a shared window a map is read once, whoever asks. */
static int read_rows(int fd, const struct row_layout *l, void **rows, size_t *cap)
{
	struct shared_read *r = share.on ? shared_read(fd, l->row_size) : NULL;
	int n;

	if (!r)
		return read_rows_now(fd, l, rows, cap);
	if (r->fd < 0) {
		if ((n = read_rows_now(fd, l, &r->rows, &r->cap)) < 0)
			return -1;
		r->fd = fd;
		r->row_size = l->row_size;
		r->n = (size_t)n;
	}
	return copy_shared(r, l->tgid_offset, rows, cap);
}

static int read_rows_now(int fd, const struct row_layout *l, void **rows, size_t *cap)
{
	size_t key_size = l->key_size, value_size = l->value_size;
	struct row_sink s = { key_size, value_size, l->value_offset, l->row_size, rows, cap, 0 };

	if (key_size > MAX_KEY || value_size > MAX_VALUE) {
		errno = E2BIG;
		return -1;
	}
	if (read_batched(fd, &s) == 0)
		return (int)s.n;
	if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSPC)
		return -1;
	s.n = 0;
	return read_one_by_one(fd, &s) == 0 ? (int)s.n : -1;
}

int snapshot_rows(int fd, struct wait_rows *rows)
{
	static const struct row_layout l = { sizeof(struct gs_wait_key), sizeof(struct gs_wait_stats),
					     offsetof(struct wait_row, stats), sizeof(struct wait_row),
					     offsetof(struct wait_row, key.tgid) };
	int n = read_rows(fd, &l, (void **)&rows->v, &rows->cap);

	rows->n = n > 0 ? (size_t)n : 0;
	return n < 0 ? -1 : 0;
}

void wait_rows_free(struct wait_rows *rows)
{
	free(rows->v);
	memset(rows, 0, sizeof *rows);
}

int snapshot_forget(int fd, const struct gs_wait_key *keys, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if (bpf_delete_elem(fd, (void *)(uintptr_t)&keys[i]) != 0 && errno != ENOENT)
			rc = -1;
	return rc;
}

int snapshot_histogram(int fd, struct hist_row **rows, size_t *cap)
{
	static const struct row_layout l = { sizeof(struct gs_hist_key), sizeof(uint64_t), offsetof(struct hist_row, count),
					     sizeof(struct hist_row), offsetof(struct hist_row, key.tgid) };

	return read_rows(fd, &l, (void **)rows, cap);
}

void snapshot_forget_histogram(int fd, uint32_t tgid, uint32_t tid)
{
	for (uint32_t slot = 0; slot < GS_HIST_SLOTS; slot++) {
		struct gs_hist_key key = { .tgid = tgid, .tid = tid, .slot = slot };
		bpf_delete_elem(fd, &key);
	}
}

void snapshot_forget_inflight(int fd, uint32_t tid)
{
	bpf_delete_elem(fd, &tid);
}

static unsigned possible_cpus(void)
{
	static unsigned cached;
	char *text;

	if (cached)
		return cached;
	text = proc_read_file("/sys/devices/system/cpu/possible", 4096, NULL);
	if (text) {
		cached = cpu_list_slots(text);
		free(text);
	}
	return cached;
}

/* One process's row of the per-CPU counters, zeroed on every CPU. */
static struct gs_counts *counts_buffer(unsigned *ncpu)
{
	*ncpu = possible_cpus();
	return *ncpu ? calloc(*ncpu, sizeof(struct gs_counts)) : NULL;
}

int snapshot_counters_add(int fd, uint32_t tgid)
{
	unsigned ncpu;
	struct gs_counts *zero = counts_buffer(&ncpu);
	int rc;

	if (!zero)
		return -1;
	/* Not over a row already there: an exec re-adds the same process,
	 * whose counts go on. */
	rc = bpf_update_elem(fd, &tgid, zero, BPF_NOEXIST);
	free(zero);
	return rc == 0 || errno == EEXIST ? 0 : -1;
}

void snapshot_counters_remove(int fd, uint32_t tgid)
{
	bpf_delete_elem(fd, &tgid);
}

int snapshot_counters(int fd, uint32_t tgid, uint64_t out[GS_COUNTERS])
{
	unsigned ncpu;
	struct gs_counts *per_cpu = counts_buffer(&ncpu);

	memset(out, 0, GS_COUNTERS * sizeof *out);
	if (!per_cpu)
		return -1;
	if (bpf_lookup_elem(fd, &tgid, per_cpu) != 0) {
		free(per_cpu);
		return -1;
	}
	for (unsigned c = 0; c < ncpu; c++)
		for (int i = 0; i < GS_COUNTERS; i++)
			out[i] += per_cpu[c].n[i];
	free(per_cpu);
	return 0;
}

int snapshot_held(int fd, struct held_row **rows, size_t *cap)
{
	static const struct row_layout l = { sizeof(struct gs_held_key), sizeof(struct gs_held_stats),
					     offsetof(struct held_row, stats), sizeof(struct held_row),
					     offsetof(struct held_row, key.tgid) };

	return read_rows(fd, &l, (void **)rows, cap);
}

void snapshot_forget_held(int fd, const struct gs_held_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bpf_delete_elem(fd, (void *)(uintptr_t)&keys[i]);
}

size_t snapshot_stack(int fd, int64_t stackid, uint64_t *ips, size_t max)
{
	uint64_t frames[SNAPSHOT_STACK_DEPTH] = { 0 };
	__u32 id = (__u32)stackid;
	size_t n = 0;

	if (stackid < 0 || bpf_lookup_elem(fd, &id, frames) != 0)
		return 0;
	while (n < max && n < SNAPSHOT_STACK_DEPTH && frames[n])
		ips[n] = frames[n], n++;
	return n;
}

/* A task that ended while blocked holding the GIL is never switched in
 * again: its entry would outlive it. Each entry deleted here is counted
 * in open_periods' slot 1, which only the tool writes (the kernel adds
 * and takes off in slot 0 atomically): a plain read and write of it races
 * with nothing, and the kernel's count of open periods stays exact. */
size_t snapshot_forget_blocked(int fd, int open_fd, uint32_t tid)
{
	uint64_t key, next;
	struct gs_blocked b;
	bool first = true;
	size_t forgotten = 0;

	while (bpf_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		if (bpf_lookup_elem(fd, &key, &b) == 0 && b.tid == tid && bpf_delete_elem(fd, &key) == 0)
			forgotten++;
	}
	if (forgotten && open_fd >= 0) {
		__u32 one = 1;
		int64_t closed = 0;
		if (bpf_lookup_elem(open_fd, &one, &closed) == 0) {
			closed += (int64_t)forgotten;
			bpf_update_elem(open_fd, &one, &closed, BPF_ANY);
		}
	}
	return forgotten;
}

int64_t snapshot_open_periods(int open_fd)
{
	__u32 zero = 0, one = 1;
	int64_t opened = 0, closed = 0;

	if (open_fd < 0 || bpf_lookup_elem(open_fd, &zero, &opened) != 0 || bpf_lookup_elem(open_fd, &one, &closed) != 0)
		return -1;
	return opened - closed;
}

int snapshot_cpu(int fd, struct cpu_row **rows, size_t *cap)
{
	static const struct row_layout l = { sizeof(uint32_t), sizeof(struct gs_cpu_time), offsetof(struct cpu_row, time),
					     sizeof(struct cpu_row), offsetof(struct cpu_row, time.tgid) };

	return read_rows(fd, &l, (void **)rows, cap);
}

void snapshot_forget_cpu(int fd, const uint32_t *tids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bpf_delete_elem(fd, (void *)(uintptr_t)&tids[i]);
}

static int read_running(int fd, struct gs_running **slots, size_t *n)
{
	unsigned ncpu = possible_cpus();
	__u32 zero = 0;

	if (ncpu == 0)
		return -1;
	if (*n < ncpu) {
		struct gs_running *grown = realloc(*slots, ncpu * sizeof *grown);
		if (!grown)
			return -1;
		*slots = grown;
	}
	*n = ncpu;
	/* Per-CPU values come 8-byte aligned, as gs_running is. */
	return bpf_lookup_elem(fd, &zero, *slots);
}

/* In a shared window the slots too are read once, with the rows: a slice
 * is either in its row or in a slot, as of the same reads. */
int snapshot_running(int fd, struct gs_running **slots, size_t *n)
{
	struct shared_read *r = share.on ? shared_read(fd, sizeof **slots) : NULL;
	int got;

	if (!r)
		return read_running(fd, slots, n);
	if (r->fd < 0) {
		struct gs_running *mine = r->rows;
		size_t count = r->cap;
		if (read_running(fd, &mine, &count) != 0)
			return -1;
		r->rows = mine;
		r->cap = r->n = count;
		r->fd = fd;
		r->row_size = sizeof **slots;
	}
	/* *n is the slots' room and, once read, their count (read_running's). */
	if ((got = copy_shared(r, NO_TGID, (void **)slots, n)) < 0)
		return -1;
	*n = (size_t)got;
	return 0;
}

size_t snapshot_keep_tgid(void *rows, size_t n, size_t row_size, size_t tgid_offset, uint32_t tgid)
{
	unsigned char *base = rows;
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t row_tgid;
		memcpy(&row_tgid, base + i * row_size + tgid_offset, sizeof row_tgid);
		if (row_tgid != tgid)
			continue;
		if (kept != i)
			memmove(base + kept * row_size, base + i * row_size, row_size);
		kept++;
	}
	return kept;
}

int snapshot_sched(int fd, struct sched_row **rows, size_t *cap)
{
	static const struct row_layout l = { sizeof(uint32_t), sizeof(struct gs_sched), offsetof(struct sched_row, sched),
					     sizeof(struct sched_row), offsetof(struct sched_row, sched.tgid) };

	return read_rows(fd, &l, (void **)rows, cap);
}

int snapshot_family(int fd, struct family_row **rows, size_t *cap)
{
	static const struct row_layout l = { sizeof(uint32_t), sizeof(struct gs_family),
					     offsetof(struct family_row, family), sizeof(struct family_row), NO_TGID };

	return read_rows_now(fd, &l, (void **)rows, cap);
}

int snapshot_inflight(int fd, struct inflight_row **rows, size_t *cap)
{
	static const struct row_layout l = { sizeof(uint32_t), sizeof(struct gs_inflight),
					     offsetof(struct inflight_row, wait), sizeof(struct inflight_row),
					     offsetof(struct inflight_row, wait.tgid) };

	return read_rows(fd, &l, (void **)rows, cap);
}

int snapshot_inflight_of(int fd, const pid_t *tids, size_t n, struct inflight_row **rows, size_t *cap)
{
	size_t found = 0;

	if (n > *cap) {
		struct inflight_row *grown = realloc(*rows, n * sizeof *grown);
		if (!grown)
			return -1;
		*rows = grown;
		*cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		struct inflight_row *r = &(*rows)[found];
		__u32 tid = (__u32)tids[i];
		memset(r, 0, sizeof *r);
		if (bpf_lookup_elem(fd, &tid, &r->wait) == 0) {
			r->tid = tid;
			found++;
		}
	}
	return (int)found;
}

/* Keys of 4 bytes land in the low half of the row's key on little-endian
 * hosts; the tool only uses the period itself. */
int snapshot_blocked(int fd, size_t key_size, struct blocked_row **rows, size_t *cap)
{
	const struct row_layout l = { key_size, sizeof(struct gs_blocked), offsetof(struct blocked_row, period),
				      sizeof(struct blocked_row), offsetof(struct blocked_row, period.tgid) };

	return read_rows(fd, &l, (void **)rows, cap);
}
