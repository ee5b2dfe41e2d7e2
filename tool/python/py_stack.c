#include "config.h"

#include "tool/python/py_stack.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INTERPRETERS 64
#define MAX_STR_CHARS (1u << 20)   /* longer strings are not names */
#define MAX_LINE_TABLE (1u << 20)  /* bytes */
#define MAX_CODE_BYTES (1u << 24)  /* an instruction offset beyond: not a frame */
#define STR_CHUNK 1024             /* bytes of string data read at a time */
#define FRAME_WINDOW 16384         /* bytes of a data stack chunk read at once */
#define MAX_CHUNK (1u << 26)       /* a frame further from its chunk is not in it */
#define FRAME_BYTES 512            /* a frame's bytes read, at most */
#define SEEN_MAX (PY_STACK_MAX * 2) /* frames walked, with those skipped */
#define HINT_THREADS 32            /* thread states whose last frames are kept */
#define TS_BYTES 512               /* a thread state's bytes read, at most */
#define BATCH_WINDOW 4096          /* the same as FRAME_WINDOW, for py_stacks_read */

/* A user-space address of an object or frame (8-aligned on x86_64). */
static bool addr_ok(uint64_t a)
{
	return a >= 0x1000 && a < (1ull << 47) && (a & 7) == 0;
}

static uint64_t u64_in(const unsigned char *buf, uint32_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof v);
	return v;
}

static int read_u64(const struct mem_reader *mem, uint64_t addr, uint64_t *v)
{
	return mem->read(mem->ctx, addr, v, sizeof *v);
}

bool py_type_is(const struct py_layout *l, const struct mem_reader *mem, uint64_t type, uint64_t *known,
		    const char *name)
{
	char buf[16];
	size_t n = strlen(name) + 1;
	uint64_t tp_name;

	if (*known)
		return type == *known;
	if (!addr_ok(type) || n > sizeof buf || read_u64(mem, type + l->tp_name, &tp_name) != 0 || !tp_name ||
	    mem->read(mem->ctx, tp_name, buf, n) != 0 || memcmp(buf, name, n) != 0)
		return false;
	*known = type;
	return true;
}

/* Appends code point cp as UTF-8 if it fits in buf[*len .. size - 1). */
static bool put_utf8(char *buf, size_t size, size_t *len, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd; /* lone surrogates and garbage: the replacement character */
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*len + n > size - 1)
		return false;
	memcpy(buf + *len, u, n);
	*len += n;
	return true;
}

/* nchars characters of kind bytes each at data, as UTF-8 into buf (ASCII:
 * copied). Stops at the first character that does not fit. */
static int decode_chars(const struct mem_reader *mem, uint64_t data, uint64_t nchars, unsigned kind, bool ascii,
			char *buf, size_t size, size_t *len)
{
	unsigned char chunk[STR_CHUNK];

	for (uint64_t done = 0; done < nchars;) {
		uint64_t n = nchars - done;
		if (n > STR_CHUNK / kind)
			n = STR_CHUNK / kind;
		if (ascii && n > size - 1 - *len)
			n = size - 1 - *len; /* one byte each: read no more than fits */
		if (n == 0 || mem->read(mem->ctx, data + done * kind, chunk, n * kind) != 0)
			return n == 0 ? 0 : -1;
		for (uint64_t i = 0; i < n; i++) {
			uint32_t cp = kind == 1 ? chunk[i] : kind == 2 ? (uint32_t)(chunk[2 * i] | chunk[2 * i + 1] << 8)
								: (uint32_t)chunk[4 * i] | (uint32_t)chunk[4 * i + 1] << 8 |
									  (uint32_t)chunk[4 * i + 2] << 16 |
									  (uint32_t)chunk[4 * i + 3] << 24;
			if ((ascii && cp >= 0x80) || !put_utf8(buf, size, len, cp))
				return ascii && cp >= 0x80 ? -1 : 0;
		}
		done += n;
	}
	return 0;
}

/* 2.7's str: bytes, copied as they are (the caller escapes). */
static ssize_t read_str_27(const struct py_layout *l, const struct mem_reader *mem, uint64_t obj, char *buf,
			   size_t size)
{
	unsigned char head[40];
	int64_t n;

	if (mem->read(mem->ctx, obj, head, sizeof head) != 0 ||
	    !py_type_is(l, mem, u64_in(head, l->ob_type), &l->types->str, "str"))
		return -1;
	memcpy(&n, head + l->ob_size, sizeof n);
	if (n < 0 || n > MAX_STR_CHARS)
		return -1;
	if ((uint64_t)n > size - 1)
		n = (int64_t)(size - 1);
	if (n && mem->read(mem->ctx, obj + l->str_sval, buf, (size_t)n) != 0)
		return -1;
	buf[n] = '\0';
	return (ssize_t)n;
}

ssize_t py_read_str(const struct py_layout *l, const struct mem_reader *mem, uint64_t obj, char *buf, size_t size)
{
	unsigned char head[128];
	uint32_t state;
	int64_t length;
	unsigned kind;
	bool compact, ascii;
	size_t len = 0;

	if (!size || !addr_ok(obj))
		return -1;
	buf[0] = '\0';
	if (l->str_is_bytes)
		return read_str_27(l, mem, obj, buf, size);
	if (l->uni_ascii_size > sizeof head || mem->read(mem->ctx, obj, head, l->uni_ascii_size) != 0 ||
	    !py_type_is(l, mem, u64_in(head, l->ob_type), &l->types->str, "str"))
		return -1;
	memcpy(&length, head + l->uni_length, sizeof length);
	memcpy(&state, head + l->uni_state, sizeof state);
	kind = (state >> l->uni_kind_shift) & 7;
	compact = (state >> (l->uni_kind_shift + 3)) & 1;
	ascii = (state >> (l->uni_kind_shift + 4)) & 1;
	/* Names in code objects are compact; a legacy string is refused. */
	if (length < 0 || length > MAX_STR_CHARS || !compact || (kind != 1 && kind != 2 && kind != 4) ||
	    (ascii && kind != 1))
		return -1;
	if (decode_chars(mem, obj + (ascii ? l->uni_ascii_size : l->uni_compact_size), (uint64_t)length, kind, ascii,
			 buf, size, &len) != 0) {
		buf[0] = '\0';
		return -1;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

int py_read_bytes(const struct py_layout *l, const struct mem_reader *mem, uint64_t obj, uint8_t **data,
		      size_t *len)
{
	unsigned char head[64];
	int64_t n;

	*data = NULL;
	*len = 0;
	if (!addr_ok(obj) || l->bytes_sval > sizeof head || mem->read(mem->ctx, obj, head, l->bytes_sval) != 0 ||
	    !(l->str_is_bytes ? py_type_is(l, mem, u64_in(head, l->ob_type), &l->types->str, "str")
			      : py_type_is(l, mem, u64_in(head, l->ob_type), &l->types->bytes, "bytes")))
		return -1;
	memcpy(&n, head + l->ob_size, sizeof n);
	if (n < 0 || n > MAX_LINE_TABLE || !(*data = malloc(n ? (size_t)n : 1)))
		return -1;
	if (n && mem->read(mem->ctx, obj + l->bytes_sval, *data, (size_t)n) != 0) {
		free(*data);
		*data = NULL;
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/* The part of a thread state that says where its frames are: the frame
 * pointer (3.11, 3.12: to its cframe), 3.11+ the data stack chunk, and
 * the u64 at word_off (0: none). Its first offset in *lo; its length. */
static uint32_t ts_bounds(const struct py_layout *l, uint32_t word_off, uint32_t *lo)
{
	uint32_t a = l->ts_frame; /* the lowest offset, and the highest */
	uint32_t b = a;

	if (l->ts_chunk) {
		a = l->ts_chunk < a ? l->ts_chunk : a;
		b = l->ts_chunk > b ? l->ts_chunk : b;
	}
	if (word_off) {
		a = word_off < a ? word_off : a;
		b = word_off > b ? word_off : b;
	}
	*lo = a;
	return b + 8 - a;
}

/* The frame pointer and chunk from a thread state's bytes (ts, from lo);
 * *cframe: the frame pointer is the cframe's, still to be followed. */
static void ts_parse(const struct py_layout *l, const unsigned char *ts, uint32_t lo, uint64_t *frame,
		     uint64_t *chunk, bool *cframe)
{
	*frame = u64_in(ts, l->ts_frame - lo);
	*chunk = l->ts_chunk ? u64_in(ts, l->ts_chunk - lo) : 0;
	*cframe = l->ts_cframe >= 0 && *frame;
}

/* Where a thread's frames are: its first frame (0: none) and, 3.11+,
 * the data stack chunk its frames are laid out in (0: unknown). One read
 * of the thread state covers both. -1 when it does not read. */
static int first_frame(const struct py_layout *l, const struct mem_reader *mem, uint64_t tstate, uint64_t *frame,
		       uint64_t *chunk)
{
	unsigned char ts[TS_BYTES];
	uint32_t lo, len = ts_bounds(l, 0, &lo);
	uint64_t p;
	bool cframe;

	if (!addr_ok(tstate) || len > sizeof ts || mem->read(mem->ctx, tstate + lo, ts, len) != 0)
		return -1;
	ts_parse(l, ts, lo, &p, chunk, &cframe);
	/* 3.11, 3.12: the frame is in the thread's current _PyCFrame. */
	if (cframe && (!addr_ok(p) || read_u64(mem, p + (uint32_t)l->ts_cframe, &p) != 0))
		return -1;
	*frame = p;
	return p && !addr_ok(p) ? -1 : 0;
}

/* A copy of the part of the data stack chunk that ends with the first
 * frame: 3.11+ push frames one after the other there, so the frames of a
 * stack are read at once. Frames elsewhere (generators', the C stack's,
 * every frame object before 3.11) come from the frames read beforehand
 * (hints), else one read each. */
struct frame_window {
	uint64_t start, end;
	unsigned char *buf;
	size_t cap;
	/* Frames read beforehand (hints): npre of them, FRAME_BYTES each. */
	const uint64_t *pre_addr;
	const unsigned char *pre_bytes;
	size_t npre;
};

#define CHUNK_HEADER 24 /* _PyStackChunk: previous, size, top */

/* The span of the window: the chunk's part that ends with frame; 0 when
 * the frame is not in the chunk (frames elsewhere are read one by one). */
static size_t window_span(const struct frame_window *w, const struct py_layout *l, uint64_t chunk, uint64_t frame,
			  uint64_t *start)
{
	uint64_t end = frame + l->frame_read;

	if (!addr_ok(chunk) || frame < chunk + CHUNK_HEADER || frame - chunk > MAX_CHUNK)
		return 0;
	*start = end - chunk > w->cap ? end - w->cap : chunk;
	return end - *start;
}

static void window_fill(struct frame_window *w, const struct py_layout *l, const struct mem_reader *mem,
			uint64_t chunk, uint64_t frame)
{
	uint64_t start;
	size_t len = window_span(w, l, chunk, frame, &start);

	w->start = w->end = 0;
	if (len && mem->read(mem->ctx, start, w->buf, len) == 0) {
		w->start = start;
		w->end = start + len;
	}
}

static int frame_bytes(const struct frame_window *w, const struct mem_reader *mem, uint64_t frame, void *f,
		       size_t len)
{
	if (frame >= w->start && frame + len <= w->end) {
		memcpy(f, w->buf + (frame - w->start), len);
		return 0;
	}
	for (size_t i = 0; i < w->npre; i++)
		if (w->pre_addr[i] == frame) {
			memcpy(f, w->pre_bytes + i * FRAME_BYTES, len);
			return 0;
		}
	return mem->read(mem->ctx, frame, f, len);
}

/* One frame read: its code and offset; *skip when it runs no code of its
 * own (owned by the C stack, or not started yet). -1: not a frame. */
static int read_frame(const struct py_layout *l, const struct mem_reader *mem, const struct frame_window *w,
		      uint64_t frame, uint64_t *next, struct py_frame_ref *ref, bool *skip)
{
	unsigned char f[FRAME_BYTES];
	uint64_t code, start, instr;
	int32_t lasti;

	if (l->frame_read > sizeof f || frame_bytes(w, mem, frame, f, l->frame_read) != 0)
		return -1;
	if (l->frame_typed && !py_type_is(l, mem, u64_in(f, l->ob_type), &l->types->frame, "frame"))
		return -1;
	*next = u64_in(f, l->f_back);
	code = u64_in(f, l->f_code) & (l->f_code_tagged ? ~(uint64_t)7 : ~(uint64_t)0);
	*skip = l->f_owner >= 0 && f[l->f_owner] >= l->owner_cstack;
	if (*skip)
		return *next && !addr_ok(*next) ? -1 : 0;
	if (!addr_ok(code) || (*next && !addr_ok(*next)))
		return -1;
	ref->code = code;
	if (l->instr_kind != PY_INSTR_POINTER) {
		memcpy(&lasti, f + l->f_instr, sizeof lasti);
		/* -1: not started; its line is the first. */
		lasti = lasti < 0 ? 0 : lasti;
		ref->offset = (uint32_t)lasti * (l->instr_kind == PY_INSTR_LASTI_UNITS ? 2u : 1u);
		return ref->offset < MAX_CODE_BYTES ? 0 : -1;
	}
	instr = u64_in(f, l->f_instr);
	start = code + l->co_code_adaptive;
	/* Before the first instruction: pushed, not started (incomplete). */
	*skip = instr < start;
	if (!*skip && instr - start >= MAX_CODE_BYTES)
		return -1;
	ref->offset = *skip ? 0 : (uint32_t)(instr - start);
	return 0;
}

/* The walk from frame: frames met go to seen (for hints), code frames to out. */
static int walk(const struct py_layout *l, const struct mem_reader *mem, const struct frame_window *w, uint64_t frame,
		struct py_stack *out, uint64_t *seen, size_t *nseen)
{
	*nseen = 0;
	while (frame) {
		struct py_frame_ref ref;
		uint64_t next;
		bool skip;
		/* Frames form a chain from the innermost out: one met twice is
		 * a cycle (memory reused under the walk). */
		for (size_t i = 0; i < *nseen; i++)
			if (seen[i] == frame)
				return -1;
		if (*nseen == SEEN_MAX || out->depth == PY_STACK_MAX) {
			out->truncated = true;
			return 0;
		}
		seen[(*nseen)++] = frame;
		if (read_frame(l, mem, w, frame, &next, &ref, &skip) != 0)
			return -1;
		if (!skip)
			out->frames[out->depth++] = ref;
		frame = next;
	}
	return 0;
}

int py_stack_read(const struct py_layout *l, const struct mem_reader *mem, uint64_t tstate, struct py_stack *out)
{
	unsigned char buf[FRAME_WINDOW];
	struct frame_window w = { .buf = buf, .cap = sizeof buf };
	uint64_t frame, chunk, seen[SEEN_MAX];
	size_t nseen;

	out->depth = 0;
	out->truncated = false;
	if (first_frame(l, mem, tstate, &frame, &chunk) != 0)
		return -1;
	window_fill(&w, l, mem, chunk, frame);
	return walk(l, mem, &w, frame, out, seen, &nseen);
}

/* The frames a thread state had at its last read, kept for the next. */
struct hint_entry {
	uint64_t tstate;
	size_t n;
	uint64_t frames[SEEN_MAX];
};

struct py_stack_hints {
	mem_spans_fn read_spans;
	void *ctx;
	struct hint_entry entries[HINT_THREADS];
	size_t next; /* the entry replaced next (round robin) */
	uint64_t pre_addr[SEEN_MAX];
	unsigned char pre_bytes[SEEN_MAX * FRAME_BYTES];
	unsigned char *windows; /* py_stacks_read's, allocated at its first call */
};

struct py_stack_hints *py_stack_hints_new(mem_spans_fn read_spans, void *ctx)
{
	struct py_stack_hints *h = calloc(1, sizeof *h);

	if (h) {
		h->read_spans = read_spans;
		h->ctx = ctx;
	}
	return h;
}

void py_stack_hints_free(struct py_stack_hints *h)
{
	if (h)
		free(h->windows);
	free(h);
}

static struct hint_entry *hint_for(struct py_stack_hints *h, uint64_t tstate)
{
	struct hint_entry *e;

	for (size_t i = 0; i < HINT_THREADS; i++)
		if (h->entries[i].tstate == tstate)
			return &h->entries[i];
	e = &h->entries[h->next];
	h->next = (h->next + 1) % HINT_THREADS;
	e->tstate = tstate;
	e->n = 0;
	return e;
}

/* Last time's frames outside the window, read in one call. */
static void prefetch(struct py_stack_hints *h, const struct py_layout *l, const struct hint_entry *e,
		     struct frame_window *w)
{
	struct mem_span spans[SEEN_MAX];
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		if (!(e->frames[i] >= w->start && e->frames[i] + l->frame_read <= w->end)) {
			h->pre_addr[n] = e->frames[i];
			spans[n] = (struct mem_span){ e->frames[i], h->pre_bytes + n * FRAME_BYTES, l->frame_read };
			n++;
		}
	w->pre_addr = h->pre_addr;
	w->pre_bytes = h->pre_bytes;
	w->npre = n ? h->read_spans(h->ctx, spans, n) : 0;
}

int py_stack_read_hinted(struct py_stack_hints *h, const struct py_layout *l, const struct mem_reader *mem,
			 uint64_t tstate, struct py_stack *out)
{
	unsigned char buf[FRAME_WINDOW];
	struct frame_window w = { .buf = buf, .cap = sizeof buf };
	struct hint_entry *e = hint_for(h, tstate);
	uint64_t frame, chunk;
	int rc;

	out->depth = 0;
	out->truncated = false;
	if (l->frame_read > FRAME_BYTES || first_frame(l, mem, tstate, &frame, &chunk) != 0) {
		e->n = 0;
		return -1;
	}
	window_fill(&w, l, mem, chunk, frame);
	prefetch(h, l, e, &w);
	rc = walk(l, mem, &w, frame, out, e->frames, &e->n);
	if (rc != 0)
		e->n = 0;
	return rc;
}

/* Reads every span: a span that does not read stops read_spans, so the
 * rest are asked again past it. ok[i]: span i was read whole. */
static void read_each(const struct py_stack_hints *h, const struct mem_span *spans, size_t n, bool *ok)
{
	for (size_t done = 0; done < n;) {
		size_t got = h->read_spans(h->ctx, spans + done, n - done);
		for (size_t i = 0; i < got; i++)
			ok[done + i] = true;
		if (done + got < n)
			ok[done + got] = false;
		done += got + 1;
	}
}

/* Where each thread's frames are (first_frame for n at once): the
 * thread states in one call, 3.11 and 3.12's cframes in another. */
static void first_frames(const struct py_stack_hints *h, const struct py_layout *l, const uint64_t *tstates,
			 size_t n, uint32_t word_off, uint64_t *words, uint64_t *frame, uint64_t *chunk, int *rc)
{
	unsigned char ts[PY_STACKS_BATCH][TS_BYTES];
	struct mem_span spans[PY_STACKS_BATCH] = { { 0 } };
	size_t idx[PY_STACKS_BATCH], k = 0;
	bool ok[PY_STACKS_BATCH], cframe[PY_STACKS_BATCH] = { false };
	uint32_t lo, len = ts_bounds(l, word_off, &lo);

	for (size_t i = 0; i < n; i++) {
		rc[i] = addr_ok(tstates[i]) && len <= TS_BYTES ? 0 : -1;
		if (rc[i] == 0)
			spans[k] = (struct mem_span){ tstates[i] + lo, ts[k], len }, idx[k++] = i;
	}
	read_each(h, spans, k, ok);
	for (size_t j = 0; j < k; j++) {
		size_t i = idx[j];
		rc[i] = ok[j] ? 0 : -1;
		if (ok[j]) {
			ts_parse(l, ts[j], lo, &frame[i], &chunk[i], &cframe[i]);
			words[i] = word_off ? u64_in(ts[j], word_off - lo) : 0;
		}
	}
	/* 3.11, 3.12: the frames are in the threads' current _PyCFrames. */
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (rc[i] == 0 && cframe[i] && addr_ok(frame[i]))
			spans[k] = (struct mem_span){ frame[i] + (uint32_t)l->ts_cframe, &frame[i], 8 }, idx[k++] = i;
		else if (rc[i] == 0 && cframe[i])
			rc[i] = -1;
	read_each(h, spans, k, ok);
	for (size_t j = 0; j < k; j++)
		rc[idx[j]] = ok[j] ? 0 : -1;
	for (size_t i = 0; i < n; i++)
		if (rc[i] == 0 && frame[i] && !addr_ok(frame[i]))
			rc[i] = -1;
}

int py_stacks_read(struct py_stack_hints *h, const struct py_layout *l, const struct mem_reader *mem,
		   const uint64_t *tstates, size_t n, uint32_t word_off, uint64_t *words, struct py_stack *out, int *rc)
{
	uint64_t frame[PY_STACKS_BATCH], chunk[PY_STACKS_BATCH], start, seen[SEEN_MAX];
	struct frame_window w[PY_STACKS_BATCH];
	struct mem_span spans[PY_STACKS_BATCH];
	size_t idx[PY_STACKS_BATCH], k = 0, nseen;
	bool ok[PY_STACKS_BATCH];

	if (n > PY_STACKS_BATCH || l->frame_read > FRAME_BYTES || !h->read_spans ||
	    (!h->windows && !(h->windows = malloc(PY_STACKS_BATCH * BATCH_WINDOW))))
		return -1;
	first_frames(h, l, tstates, n, word_off, words, frame, chunk, rc);
	/* The windows, in one call. */
	for (size_t i = 0; i < n; i++) {
		size_t len;
		w[i] = (struct frame_window){ .buf = h->windows + i * BATCH_WINDOW, .cap = BATCH_WINDOW };
		if (rc[i] == 0 && (len = window_span(&w[i], l, chunk[i], frame[i], &start)))
			spans[k] = (struct mem_span){ start, w[i].buf, len }, idx[k++] = i;
	}
	read_each(h, spans, k, ok);
	for (size_t j = 0; j < k; j++)
		if (ok[j])
			w[idx[j]].start = spans[j].addr, w[idx[j]].end = spans[j].addr + spans[j].len;
	for (size_t i = 0; i < n; i++) {
		out[i].depth = 0;
		out[i].truncated = false;
		if (rc[i] == 0)
			rc[i] = walk(l, mem, &w[i], frame[i], &out[i], seen, &nseen);
	}
	return 0;
}

/* Appends the thread states of the interpreter interp; -1 when torn. */
static int interp_threads(const struct py_layout *l, const struct mem_reader *mem, uint64_t interp, uint64_t *out,
			  size_t max, size_t *n)
{
	uint64_t t;
	size_t first = *n;

	if (read_u64(mem, interp + l->is_tstate_head, &t) != 0)
		return -1;
	while (t && *n < max) {
		if (!addr_ok(t))
			return -1;
		for (size_t i = first; i < *n; i++)
			if (out[i] == t)
				return -1;
		out[(*n)++] = t;
		if (read_u64(mem, t + l->ts_next, &t) != 0)
			return -1;
	}
	return 0;
}

ssize_t py_thread_states(const struct py_layout *l, const struct mem_reader *mem, uint64_t runtime, uint64_t tstate,
			 uint64_t *out, size_t max)
{
	uint64_t interp = 0;
	size_t n = 0;

	if (runtime && l->rt_interp_head) {
		if (read_u64(mem, runtime + l->rt_interp_head, &interp) != 0)
			return -1;
		for (int i = 0; interp && i < MAX_INTERPRETERS; i++) {
			if (!addr_ok(interp) || interp_threads(l, mem, interp, out, max, &n) != 0 ||
			    read_u64(mem, interp + l->is_next, &interp) != 0)
				return -1;
		}
		return (ssize_t)n;
	}
	if (!addr_ok(tstate) || read_u64(mem, tstate + l->ts_interp, &interp) != 0 || !addr_ok(interp) ||
	    interp_threads(l, mem, interp, out, max, &n) != 0)
		return -1;
	return (ssize_t)n;
}
