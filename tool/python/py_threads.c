#include "config.h"

#include "tool/python/py_threads.h"

#include <stdbool.h>
#include <ctype.h>
#include <string.h>

#include "tool/python/py_layout.h"

/* Bounds on what the target's memory may claim: a dict of more entries is
 * not one we look for. Entries are read a batch at a time. */
#define DICT_MAX_ENTRIES 65536
#define ENTRY_BATCH 128
#define KEY_CACHE 64

/* glibc x86_64: struct pthread's tid (pthread_t is its address); the same
 * constant gil_locate.c uses for PyThreadState.thread_id. */
#define PTHREAD_TID_OFFSET 0x2d0

/* Type flags: instances keep their attributes out of a dict of their own
 * (3.11+), and 3.13+ right after the object. */
#define TPFLAGS_INLINE_VALUES (1ul << 2)
#define TPFLAGS_MANAGED_DICT (1ul << 4)

enum dict_format {
	DICT_2_7,  /* ma_table of (hash, key, value), ma_mask + 1 slots */
	DICT_3_6,  /* compact: dk_size, dk_indices, then (hash, key, value) entries */
	DICT_3_11, /* dk_log2_size, dk_log2_index_bytes, dk_kind: (key, value) for str keys */
};

enum attrs_format {
	ATTRS_DICTOFFSET, /* the instance dict at tp_dictoffset */
	ATTRS_3_11,       /* dict at obj - 3 pointers, else values at obj - 4 */
	ATTRS_3_12,       /* obj - 3 pointers: a dict, or values tagged with bit 0 */
	ATTRS_3_13,       /* a dict at the managed offset, else values at tp_basicsize */
};

enum int_format {
	INT_2_7,  /* int: long ob_ival (a pthread_t fits) */
	INT_3_6,  /* ob_size: signed digit count, 30-bit digits after it */
	INT_3_12, /* lv_tag: digit count << 3 | sign, 30-bit digits after it */
};

/* Where things are, per version (x86_64); object offsets for a default
 * build, shifted by the free-threaded build's larger object header. */
struct names_layout {
	enum dict_format dict;
	enum attrs_format attrs;
	enum int_format ints;
	uint32_t tstate_interp, interp_modules;
	uint32_t ob_type, tp_name, tp_basicsize, tp_flags, tp_dictoffset, ht_cached_keys;
	uint32_t md_dict;
	uint32_t dict_keys, dict_values; /* 2.7: ma_mask, ma_table */
	uint32_t values_prefix;          /* PyDictValues' bytes before its values */
	int32_t managed_dict;            /* from the object (negative) */
	uint32_t int_value;              /* ob_ival, ob_size or lv_tag; digits 8 bytes on */
	const char *name_attr, *ident_attr, *native_attr;
};

/* tstate->interp, interp->modules (3.12+: imports.modules) and
 * PyHeapTypeObject.ht_cached_keys: DWARF of pyenv's builds up to 3.13,
 * then measured in Debian's 3.14.10 and 3.15.2 (a live
 * interpreter's own addresses, ctypes). Debian's 3.11.2 matches 3.11.7. */
static const struct {
	int major, minor;
	bool free_threaded;
	uint16_t tstate_interp, interp_modules, ht_cached_keys;
} version_offsets[] = {
	{ 2, 7, false, 0x08, 0x10, 0 },	      { 3, 6, false, 0x10, 0x10, 0 },
	{ 3, 7, false, 0x10, 0x28, 0 },	      { 3, 8, false, 0x10, 0x38, 0 },
	{ 3, 9, false, 0x10, 0x358, 0 },      { 3, 10, false, 0x10, 0x358, 0 },
	{ 3, 11, false, 0x10, 0x378, 0x368 }, { 3, 12, false, 0x10, 0x3b0, 0x370 },
	{ 3, 13, false, 0x10, 0x1de8, 0x370 }, { 3, 14, false, 0x10, 0x1e08, 0x370 },
	{ 3, 15, false, 0x10, 0x1da8, 0x378 },
	/* Free-threaded 3.13 (trixie's source, --disable-gil): DWARF. */
	{ 3, 13, true, 0x10, 0x1df0, 0x380 },
};

/* The layout of major.minor; false for a version without one. */
static bool names_layout_init(struct names_layout *nl, int major, int minor, bool free_threaded)
{
	/* A free-threaded object header: ob_tid, flags, mutex, gc bits,
	 * ob_ref_local, ob_ref_shared, then ob_type (16 bytes more). */
	uint32_t shift = free_threaded ? 16 : 0;
	size_t i, n = sizeof version_offsets / sizeof version_offsets[0];

	for (i = 0; i < n; i++)
		if (version_offsets[i].major == major && version_offsets[i].minor == minor &&
		    version_offsets[i].free_threaded == free_threaded)
			break;
	if (i == n)
		return false;
	*nl = (struct names_layout){
		.dict = major == 2 ? DICT_2_7 : minor < 11 ? DICT_3_6 : DICT_3_11,
		.attrs = major == 2 || minor < 11 ? ATTRS_DICTOFFSET
			 : minor == 11		  ? ATTRS_3_11
			 : minor == 12		  ? ATTRS_3_12
						  : ATTRS_3_13,
		.ints = major == 2 ? INT_2_7 : minor < 12 ? INT_3_6 : INT_3_12,
		.tstate_interp = version_offsets[i].tstate_interp,
		.interp_modules = version_offsets[i].interp_modules,
		.ob_type = 0x08 + shift,
		.tp_name = 0x18 + shift,
		.tp_basicsize = 0x20 + shift,
		.tp_flags = 0xa8 + shift,
		.tp_dictoffset = 0x120 + shift,
		.ht_cached_keys = version_offsets[i].ht_cached_keys,
		.md_dict = 0x10 + shift,
		.dict_keys = 0x20 + shift,
		.dict_values = 0x28 + shift,
		.values_prefix = major == 3 && minor >= 13 ? 8 : 0,
		/* 3.13t keeps only the dict pointer before the object. */
		.managed_dict = free_threaded ? -8 : -24,
		.int_value = 0x10 + shift,
		/* 2.7's Thread keeps "private" attributes, mangled. */
		.name_attr = major == 2 ? "_Thread__name" : "_name",
		.ident_attr = major == 2 ? "_Thread__ident" : "_ident",
		.native_attr = major == 3 && minor >= 8 ? "_native_id" : NULL,
	};
	return true;
}

/* This file's layout for the stacks' one: the version's, with what the
 * stacks' layout read from the target itself (3.13+: _Py_DebugOffsets)
 * taking precedence, and the object header both must agree on. */
static int names_layout_of(const struct py_layout *l, struct names_layout *nl)
{
	if (!l || !names_layout_init(nl, l->major, l->minor, l->free_threaded) || l->ob_type != nl->ob_type ||
	    l->tp_name != nl->tp_name)
		return -1;
	if (l->ts_interp)
		nl->tstate_interp = l->ts_interp;
	return 0;
}

enum attr { ATTR_NAME, ATTR_IDENT, ATTR_NATIVE, ATTR_OTHER, ATTR_COUNT = ATTR_OTHER };

/* One walk: the reader, the layouts, the types already checked, and the
 * attribute names met (Threads share interned key objects: each is read
 * once, not once per Thread). */
struct walk {
	const struct names_layout *nl;
	const struct py_layout *l;
	const struct mem_reader *mem;
	uint64_t dict_type, int_type, module_type; /* 0: not seen yet */
	struct {
		uint64_t key;
		enum attr attr;
	} keys[KEY_CACHE];
	size_t nkeys;
};

static int read_u64(const struct walk *w, uint64_t addr, uint64_t *v)
{
	return addr ? w->mem->read(w->mem->ctx, addr, v, sizeof *v) : -1;
}

/* Whether obj's type is the one named name (*known remembers it). */
static bool has_type(const struct walk *w, uint64_t obj, const char *name, uint64_t *known)
{
	uint64_t type;

	return read_u64(w, obj + w->nl->ob_type, &type) == 0 && py_type_is(w->l, w->mem, type, known, name);
}

/* The slots of a dict, or of a split table: n entries stride bytes apart
 * with the key (and the value) at an offset, or the values in an array
 * of their own (values[i] is entry i's). */
struct slots {
	uint64_t entries, values;
	size_t n;
	uint32_t stride, key_off, value_off;
};

/* Called with each present key and value: 0 goes on, anything else stops
 * the walk and is returned. */
typedef int (*slot_fn)(struct walk *w, uint64_t key, uint64_t value, void *arg);

static int slots_each(struct walk *w, const struct slots *s, slot_fn fn, void *arg)
{
	unsigned char buf[ENTRY_BATCH * 24];
	uint64_t vals[ENTRY_BATCH];

	for (size_t i = 0; i < s->n; i += ENTRY_BATCH) {
		size_t k = s->n - i < ENTRY_BATCH ? s->n - i : ENTRY_BATCH;
		if (w->mem->read(w->mem->ctx, s->entries + i * s->stride, buf, k * s->stride) != 0 ||
		    (s->values && w->mem->read(w->mem->ctx, s->values + i * 8, vals, k * 8) != 0))
			return -1;
		for (size_t j = 0; j < k; j++) {
			uint64_t key, value;
			memcpy(&key, buf + j * s->stride + s->key_off, 8);
			if (s->values)
				value = vals[j];
			else
				memcpy(&value, buf + j * s->stride + s->value_off, 8);
			/* Free slots, dummies and deleted entries hold no value. */
			int r = key && value ? fn(w, key, value, arg) : 0;
			if (r != 0)
				return r;
		}
	}
	return 0;
}

/* 3.6-3.10 keys: dk_size, its indices (1 to 8 bytes each), the entries. */
static int keys_slots_3_6(struct walk *w, uint64_t keys, struct slots *s)
{
	int64_t hdr[5]; /* dk_refcnt, dk_size, dk_lookup, dk_usable, dk_nentries */
	uint64_t size, ix;

	if (w->mem->read(w->mem->ctx, keys, hdr, sizeof hdr) != 0)
		return -1;
	size = (uint64_t)hdr[1];
	if (size < 8 || size > 4 * DICT_MAX_ENTRIES || (size & (size - 1)) || hdr[4] < 0 ||
	    (uint64_t)hdr[4] > size)
		return -1;
	ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
	*s = (struct slots){ .entries = keys + sizeof hdr + size * ix, .n = (size_t)hdr[4], .stride = 24,
			     .key_off = 8, .value_off = 16 };
	return 0;
}

/* 3.11+ keys: log2 of the size and of the indices' bytes, the kind (0:
 * any keys, with their hash; 1: str keys; 2: split, str keys). */
static int keys_slots_3_11(struct walk *w, uint64_t keys, struct slots *s)
{
	unsigned char hdr[32];
	int64_t nentries;
	unsigned log2_size, log2_index;

	if (w->mem->read(w->mem->ctx, keys, hdr, sizeof hdr) != 0)
		return -1;
	log2_size = hdr[8];
	log2_index = hdr[9];
	memcpy(&nentries, hdr + 24, 8);
	/* Indices of 1, 2, 4 or 8 bytes: log2_index is log2_size + 0..3. */
	if (log2_size < 3 || log2_size > 20 || log2_index < log2_size || log2_index > log2_size + 3 || hdr[10] > 2 ||
	    nentries < 0 || nentries > ((int64_t)1 << log2_size))
		return -1;
	*s = (struct slots){ .entries = keys + sizeof hdr + ((uint64_t)1 << log2_index), .n = (size_t)nentries };
	if (hdr[10] == 0)
		s->stride = 24, s->key_off = 8, s->value_off = 16;
	else
		s->stride = 16, s->key_off = 0, s->value_off = 8;
	return 0;
}

/* The slots of keys whose values are in the array at values (0: in the
 * entries), at most max of them. */
static int keys_slots(struct walk *w, uint64_t keys, uint64_t values, size_t max, struct slots *s)
{
	if (!keys || (w->nl->dict == DICT_3_6 ? keys_slots_3_6(w, keys, s) : keys_slots_3_11(w, keys, s)) != 0)
		return -1;
	s->values = values;
	if (s->n > max)
		s->n = max;
	return s->n <= DICT_MAX_ENTRIES ? 0 : -1;
}

static int dict_slots(struct walk *w, uint64_t dict, struct slots *s)
{
	uint64_t a, b;

	if (!has_type(w, dict, "dict", &w->dict_type) || read_u64(w, dict + w->nl->dict_keys, &a) != 0 ||
	    read_u64(w, dict + w->nl->dict_values, &b) != 0)
		return -1;
	if (w->nl->dict == DICT_2_7) {
		/* a: ma_mask, b: ma_table; a table of mask + 1 slots. */
		if (a < 7 || a >= 4 * DICT_MAX_ENTRIES || ((a + 1) & a) || !b)
			return -1;
		*s = (struct slots){ .entries = b, .n = a + 1, .stride = 24, .key_off = 8, .value_off = 16 };
		return 0;
	}
	/* a: ma_keys, b: ma_values (split tables). */
	return keys_slots(w, a, b ? b + w->nl->values_prefix : 0, DICT_MAX_ENTRIES, s);
}

/* A str's length as its header says (2.7: bytes; else code points, as
 * many as bytes for the ASCII names looked for): one read rules out most
 * keys before their text is read. -1 when it does not read. */
static int64_t str_length(const struct walk *w, uint64_t obj)
{
	uint64_t len;

	if (read_u64(w, obj + (w->l->str_is_bytes ? w->l->ob_size : w->l->uni_length), &len) != 0)
		return -1;
	return (int64_t)len;
}

/* Whether obj is the str name, of length len (a longer str is read one
 * character too long to differ; a key that is no str is no match). */
static bool str_is(const struct walk *w, uint64_t obj, int64_t len, const char *name)
{
	char buf[32];
	size_t n = strlen(name);

	if ((int64_t)n != len || n + 2 > sizeof buf)
		return false;
	return py_read_str(w->l, w->mem, obj, buf, n + 2) == (ssize_t)n && memcmp(buf, name, n) == 0;
}

static bool str_equals(const struct walk *w, uint64_t obj, const char *name)
{
	return str_is(w, obj, str_length(w, obj), name);
}

struct find_arg {
	const char *name;
	uint64_t value;
};

static int find_key(struct walk *w, uint64_t key, uint64_t value, void *arg)
{
	struct find_arg *f = arg;

	if (!str_equals(w, key, f->name))
		return 0;
	f->value = value;
	return 1;
}

/* The value of the str key name in slots: 1 found, 0 not there, -1 when
 * the walk failed. */
static int slots_find(struct walk *w, const struct slots *s, const char *name, uint64_t *value)
{
	struct find_arg f = { name, 0 };
	int r = slots_each(w, s, find_key, &f);

	*value = f.value;
	return r < 0 ? -1 : r;
}

static int dict_find(struct walk *w, uint64_t dict, const char *name, uint64_t *value)
{
	struct slots s;

	return dict_slots(w, dict, &s) != 0 ? -1 : slots_find(w, &s, name, value);
}

/* The attributes of obj before 3.11: the dict at tp_dictoffset. */
static int attrs_dictoffset(struct walk *w, uint64_t obj, uint64_t type, struct slots *s)
{
	uint64_t off, dict;

	/* A small positive offset (a negative one counts from the end of a
	 * variable-sized object: no Thread is one). */
	if (read_u64(w, type + w->nl->tp_dictoffset, &off) != 0 || off < 16 || off > 4096 ||
	    read_u64(w, obj + off, &dict) != 0)
		return -1;
	return dict_slots(w, dict, s);
}

/* The values of a split table with the keys its type shares. */
static int attrs_shared(struct walk *w, uint64_t type, uint64_t values, size_t max, struct slots *s)
{
	uint64_t keys;

	if (read_u64(w, type + w->nl->ht_cached_keys, &keys) != 0)
		return -1;
	return keys_slots(w, keys, values, max, s);
}

/* 3.13+: the dict when one was made, else the values inline after the
 * object (capacity, size, embedded, valid, then the values). */
static int attrs_3_13(struct walk *w, uint64_t obj, uint64_t type, uint64_t flags, struct slots *s)
{
	uint64_t dict, basicsize;
	unsigned char prefix[4];

	if (read_u64(w, obj + (uint64_t)(int64_t)w->nl->managed_dict, &dict) != 0)
		return -1;
	if (dict)
		return dict_slots(w, dict, s);
	if (!(flags & TPFLAGS_INLINE_VALUES) || read_u64(w, type + w->nl->tp_basicsize, &basicsize) != 0 ||
	    basicsize < 16 || basicsize > 4096 || w->mem->read(w->mem->ctx, obj + basicsize, prefix, 4) != 0 ||
	    !prefix[3])
		return -1;
	return attrs_shared(w, type, obj + basicsize + w->nl->values_prefix, prefix[0], s);
}

/* The slots holding obj's attributes. */
static int attrs_slots(struct walk *w, uint64_t obj, struct slots *s)
{
	uint64_t type, flags, ptr;
	int64_t back = w->nl->managed_dict;

	if (read_u64(w, obj + w->nl->ob_type, &type) != 0 || read_u64(w, type + w->nl->tp_flags, &flags) != 0)
		return -1;
	if (w->nl->attrs == ATTRS_DICTOFFSET || !(flags & TPFLAGS_MANAGED_DICT))
		return attrs_dictoffset(w, obj, type, s);
	if (w->nl->attrs == ATTRS_3_13)
		return attrs_3_13(w, obj, type, flags, s);
	if (read_u64(w, obj + (uint64_t)back, &ptr) != 0)
		return -1;
	/* 3.12: values are tagged, stored one byte below their address. */
	if (w->nl->attrs == ATTRS_3_12 && (ptr & 1))
		return attrs_shared(w, type, ptr + 1, DICT_MAX_ENTRIES, s);
	if (ptr)
		return dict_slots(w, ptr, s);
	/* 3.11: no dict yet, the values pointer just below it. */
	if (w->nl->attrs != ATTRS_3_11 || read_u64(w, obj + (uint64_t)(back - 8), &ptr) != 0 || !ptr)
		return -1;
	return attrs_shared(w, type, ptr, DICT_MAX_ENTRIES, s);
}

/* A non-negative int that fits 64 bits (a pthread_t, a tid): 0, or -1
 * when obj is none. */
static int read_int(struct walk *w, uint64_t obj, uint64_t *v)
{
	uint64_t head, ndigits;
	uint32_t digits[3];

	if (!has_type(w, obj, "int", &w->int_type) || read_u64(w, obj + w->nl->int_value, &head) != 0)
		return -1;
	if (w->nl->ints == INT_2_7) {
		*v = head;
		return (int64_t)head >= 0 ? 0 : -1;
	}
	if (w->nl->ints == INT_3_12) {
		/* lv_tag: sign in the low 2 bits (0 positive, 1 zero, 2 negative). */
		if ((head & 3) == 2)
			return -1;
		ndigits = (head & 3) == 1 ? 0 : head >> 3;
	} else {
		ndigits = head; /* ob_size: negative for negative numbers */
	}
	if (ndigits > 3 || (ndigits && w->mem->read(w->mem->ctx, obj + w->nl->int_value + 8, digits, ndigits * 4) != 0))
		return -1;
	/* 30-bit digits, least significant first; 3 of them fit if the top is below 16. */
	*v = 0;
	for (uint64_t i = ndigits; i-- > 0;) {
		if (digits[i] >> 30 || (i == 2 && digits[i] >= 16))
			return -1;
		*v = *v << 30 | digits[i];
	}
	return 0;
}

/* The tid a pthread_t names: glibc's struct pthread keeps it. */
static pid_t pthread_tid(const struct walk *w, uint64_t ident)
{
	uint32_t tid;

	if (!ident || w->mem->read(w->mem->ctx, ident + PTHREAD_TID_OFFSET, &tid, sizeof tid) != 0)
		return 0;
	return tid > 0 && tid <= 0x3fffffff ? (pid_t)tid : 0;
}

/* Drops a UTF-8 sequence the truncation cut short. */
static void trim_partial_utf8(char *s, size_t len)
{
	size_t i = len, need;
	unsigned char lead;

	/* Back over continuation bytes (3 at most) to the sequence's lead. */
	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (lead = (unsigned char)s[i - 1]) < 0xc0)
		return;
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
}

struct thread_attrs {
	uint64_t found[ATTR_COUNT]; /* the values of _name, _ident, _native_id */
};

/* Which of the attributes looked for key names (remembered by address). */
static enum attr attr_of(struct walk *w, uint64_t key)
{
	const char *names[ATTR_COUNT] = { w->nl->name_attr, w->nl->ident_attr, w->nl->native_attr };
	enum attr attr = ATTR_OTHER;
	int64_t len;

	for (size_t i = 0; i < w->nkeys; i++)
		if (w->keys[i].key == key)
			return w->keys[i].attr;
	if ((len = str_length(w, key)) >= 0)
		for (int i = 0; i < ATTR_COUNT && attr == ATTR_OTHER; i++)
			if (names[i] && str_is(w, key, len, names[i]))
				attr = (enum attr)i;
	if (w->nkeys < KEY_CACHE) {
		w->keys[w->nkeys].key = key;
		w->keys[w->nkeys++].attr = attr;
	}
	return attr;
}

static int collect_attr(struct walk *w, uint64_t key, uint64_t value, void *arg)
{
	uint64_t *found = ((struct thread_attrs *)arg)->found;
	enum attr attr = attr_of(w, key);

	if (attr != ATTR_OTHER && !found[attr])
		found[attr] = value;
	return 0;
}

/* One Thread of threading._active (key: its ident): its name, its tid.
 * 0, or -1 when it is not a readable Thread. */
static int thread_entry(struct walk *w, uint64_t key, uint64_t thread, struct py_thread_name *out)
{
	struct thread_attrs a = { { 0 } };
	uint64_t *found = a.found, ident = 0, native = 0;
	struct slots s;
	ssize_t len;

	if (attrs_slots(w, thread, &s) != 0 || slots_each(w, &s, collect_attr, &a) != 0 || !found[ATTR_NAME] ||
	    (len = py_read_str(w->l, w->mem, found[ATTR_NAME], out->name, sizeof out->name)) < 0)
		return -1;
	trim_partial_utf8(out->name, (size_t)len);
	/* The native id is the tid (3.8+); else the ident, a pthread_t. */
	if (found[ATTR_NATIVE] && read_int(w, found[ATTR_NATIVE], &native) == 0 && native > 0 &&
	    native <= 0x3fffffff) {
		out->tid = (pid_t)native;
		return 0;
	}
	if ((!found[ATTR_IDENT] || read_int(w, found[ATTR_IDENT], &ident) != 0) && read_int(w, key, &ident) != 0)
		return -1;
	out->tid = pthread_tid(w, ident);
	return out->tid ? 0 : -1;
}

struct active_arg {
	struct py_thread_name *out;
	size_t max, n;
};

static int add_thread(struct walk *w, uint64_t key, uint64_t thread, void *arg)
{
	struct active_arg *a = arg;

	if (a->n == a->max)
		return 1;
	/* A Thread half set up, or one the walk caught as it changed: skipped. */
	if (thread_entry(w, key, thread, &a->out[a->n]) == 0)
		a->n++;
	return 0;
}

/* threading._active, from any thread state: interp, sys.modules, the
 * threading module's dict. 1 found, 0 threading not imported (or not
 * yet defined it), -1 unreadable. */
static int find_active(struct walk *w, uint64_t tstate, uint64_t *active)
{
	uint64_t interp, modules, threading, md;
	int r;

	if (read_u64(w, tstate + w->nl->tstate_interp, &interp) != 0 ||
	    read_u64(w, interp + w->nl->interp_modules, &modules) != 0)
		return -1;
	if ((r = dict_find(w, modules, "threading", &threading)) <= 0)
		return r;
	/* A module (sys.modules may hold anything: then no threading). */
	if (!has_type(w, threading, "module", &w->module_type))
		return 0;
	if (read_u64(w, threading + w->nl->md_dict, &md) != 0)
		return -1;
	return dict_find(w, md, "_active", active);
}

ssize_t py_thread_names(const struct py_layout *l, const struct mem_reader *mem, uint64_t any_tstate,
			struct py_thread_name *out, size_t max)
{
	struct names_layout nl;
	struct walk w = { .nl = &nl, .l = l, .mem = mem };
	struct active_arg a = { out, max, 0 };
	struct slots s;
	uint64_t active;
	int r;

	if (!any_tstate || names_layout_of(l, &nl) != 0)
		return -1;
	if ((r = find_active(&w, any_tstate, &active)) <= 0)
		return r;
	if (dict_slots(&w, active, &s) != 0 || slots_each(&w, &s, add_thread, &a) < 0)
		return -1;
	return (ssize_t)a.n;
}

bool py_thread_name_is_default(const char *name)
{
	static const char *const prefixes[] = { "Thread-", "Dummy-" };

	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		const char *p = name + strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) != 0 || !isdigit((unsigned char)*p))
			continue;
		while (isdigit((unsigned char)*p))
			p++;
		/* 3.10+: the target function's name in parentheses. */
		return !*p || (p[0] == ' ' && p[1] == '(' && p[strlen(p) - 1] == ')');
	}
	return false;
}
