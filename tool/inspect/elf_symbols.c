#include "config.h"

#include "tool/inspect/elf_symbols.h"

#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Sections larger than this are not read: no real symbol table or .rodata
 * comes close, and a hostile file must not make us allocate gigabytes. */
#define ELF_MAX_SECTION_BYTES (512u << 20)
#define ELF_MAX_VERDEFS 4096
#define PAGE_MASK_4K (~(uint64_t)0xfff)

struct elf_file {
	Elf *elf;
	int fd;               /* -1 for an in-memory image */
	const char *image;    /* in-memory image, or NULL */
	size_t image_size;
	GElf_Ehdr ehdr;
	GElf_Phdr *loads;     /* PT_LOAD segments */
	size_t nloads;
};

static struct elf_file *finish_open(struct elf_file *ef)
{
	size_t nphdr;

	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF || !gelf_getehdr(ef->elf, &ef->ehdr) ||
	    elf_getphdrnum(ef->elf, &nphdr) != 0 || nphdr > 65535)
		goto fail;
	ef->loads = calloc(nphdr ? nphdr : 1, sizeof *ef->loads);
	if (!ef->loads)
		goto fail;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(ef->elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    ph.p_filesz <= ph.p_memsz && ph.p_vaddr + ph.p_memsz >= ph.p_vaddr)
			ef->loads[ef->nloads++] = ph;
	}
	return ef;
fail:
	elf_close(ef);
	return NULL;
}

struct elf_file *elf_open_fd(int fd)
{
	struct elf_file *ef;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	ef = calloc(1, sizeof *ef);
	if (!ef)
		return NULL;
	ef->fd = fd;
	/* ELF_C_READ, not mmap: a file truncated under us must not SIGBUS. */
	ef->elf = elf_begin(fd, ELF_C_READ, NULL);
	return finish_open(ef);
}

struct elf_file *elf_open_memory(const void *image, size_t size)
{
	struct elf_file *ef;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	ef = calloc(1, sizeof *ef);
	if (!ef)
		return NULL;
	ef->fd = -1;
	ef->image = image;
	ef->image_size = size;
	ef->elf = elf_memory((char *)(uintptr_t)image, size); /* read only: ELF_C_READ_MMAP's image */
	return finish_open(ef);
}

void elf_close(struct elf_file *ef)
{
	if (!ef)
		return;
	if (ef->elf)
		elf_end(ef->elf);
	free(ef->loads);
	free(ef);
}

int elf_type(const struct elf_file *ef)
{
	return ef->ehdr.e_type;
}

static Elf_Data *section_data(Elf_Scn *scn, GElf_Shdr *shdr)
{
	if (!gelf_getshdr(scn, shdr) || shdr->sh_type == SHT_NOBITS ||
	    shdr->sh_size > ELF_MAX_SECTION_BYTES)
		return NULL;
	return elf_getdata(scn, NULL);
}

/* Name of version index ndx from .gnu.version_d, or NULL. */
static const char *verdef_name(Elf *elf, Elf_Scn *verdef_scn, unsigned ndx)
{
	GElf_Shdr shdr;
	Elf_Data *data;
	int offset = 0;

	if (!verdef_scn || !(data = section_data(verdef_scn, &shdr)))
		return NULL;
	for (int i = 0; i < ELF_MAX_VERDEFS; i++) {
		GElf_Verdef vd;
		GElf_Verdaux aux;
		if (!gelf_getverdef(data, offset, &vd))
			return NULL;
		if (vd.vd_ndx == ndx) {
			if (vd.vd_aux > INT32_MAX - (unsigned)offset ||
			    !gelf_getverdaux(data, offset + (int)vd.vd_aux, &aux))
				return NULL;
			return elf_strptr(elf, shdr.sh_link, aux.vda_name);
		}
		if (vd.vd_next == 0 || vd.vd_next > (unsigned)(INT32_MAX - offset))
			return NULL;
		offset += (int)vd.vd_next;
	}
	return NULL;
}

static Elf_Scn *find_section_of_type(Elf *elf, GElf_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &shdr) && shdr.sh_type == type)
			return scn;
	return NULL;
}

/* "name", or "name@VER" / "name@@VER" as .symtab spells versioned symbols. */
static bool name_matches(const char *sym, const char *name, const char **version, bool *is_default)
{
	size_t n = strlen(name);

	if (strncmp(sym, name, n) != 0)
		return false;
	if (sym[n] == '\0') {
		*version = NULL;
		*is_default = true;
		return true;
	}
	if (sym[n] != '@')
		return false;
	*is_default = sym[n + 1] == '@';
	*version = sym + n + (*is_default ? 2 : 1);
	return true;
}

static bool already_found(const struct elf_symbol *out, size_t stored, uint64_t value,
			  const char *version)
{
	for (size_t i = 0; i < stored; i++)
		if (out[i].value == value && (!version || strcmp(out[i].version, version) == 0))
			return true;
	return false;
}

struct symtab_scan {
	Elf *elf;
	Elf_Data *syms;
	GElf_Shdr shdr;
	Elf_Data *versym;    /* parallel to .dynsym; NULL for .symtab */
	Elf_Scn *verdef;
	bool is_symtab;
};

static size_t scan_table(const struct symtab_scan *t, const char *name, struct elf_symbol *out,
			 size_t max, size_t found)
{
	size_t count = t->shdr.sh_entsize ? t->shdr.sh_size / t->shdr.sh_entsize : 0;

	for (size_t i = 0; i < count && i < INT32_MAX; i++) {
		GElf_Sym sym;
		const char *sname, *version;
		bool is_default;

		if (!gelf_getsym(t->syms, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		sname = elf_strptr(t->elf, t->shdr.sh_link, sym.st_name);
		if (!sname || !name_matches(sname, name, &version, &is_default))
			continue;
		if (t->versym) {
			GElf_Versym vs;
			if (gelf_getversym(t->versym, (int)i, &vs) && (vs & 0x7fff) >= 2) {
				version = verdef_name(t->elf, t->verdef, vs & 0x7fff);
				is_default = !(vs & 0x8000);
			}
		}
		if (already_found(out, found < max ? found : max, sym.st_value, t->is_symtab ? NULL : version))
			continue;
		if (found < max) {
			struct elf_symbol *o = &out[found];
			memset(o, 0, sizeof *o);
			o->value = sym.st_value;
			o->size = sym.st_size;
			o->type = GELF_ST_TYPE(sym.st_info);
			o->from_symtab = t->is_symtab;
			o->is_default = is_default;
			if (version)
				snprintf(o->version, sizeof o->version, "%s", version);
		}
		found++;
	}
	return found;
}

size_t elf_find_symbol(struct elf_file *ef, const char *name, struct elf_symbol *out, size_t max)
{
	static const GElf_Word order[] = { SHT_DYNSYM, SHT_SYMTAB };
	size_t found = 0;

	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
		struct symtab_scan t = { .elf = ef->elf, .is_symtab = order[k] == SHT_SYMTAB };
		Elf_Scn *scn = find_section_of_type(ef->elf, order[k]);
		if (!scn || !(t.syms = section_data(scn, &t.shdr)))
			continue;
		if (!t.is_symtab) {
			GElf_Shdr vshdr;
			Elf_Scn *vscn = find_section_of_type(ef->elf, SHT_GNU_versym);
			t.versym = vscn ? section_data(vscn, &vshdr) : NULL;
			t.verdef = find_section_of_type(ef->elf, SHT_GNU_verdef);
		}
		found = scan_table(&t, name, out, max, found);
	}
	return found;
}

/* The function in one table that holds vaddr: its start at or below it
 * and vaddr within its size (a sizeless symbol says nothing of its end:
 * _fini is not the function after it). */
static void closest_function(Elf *elf, Elf_Data *syms, const GElf_Shdr *shdr, uint64_t vaddr, GElf_Sym *best,
			     const char **best_name)
{
	size_t count = shdr->sh_entsize ? shdr->sh_size / shdr->sh_entsize : 0;

	for (size_t i = 0; i < count && i < INT32_MAX; i++) {
		GElf_Sym sym;
		const char *name;
		if (!gelf_getsym(syms, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value > vaddr || vaddr - sym.st_value >= sym.st_size)
			continue;
		if (*best_name && sym.st_value <= best->st_value)
			continue;
		if ((name = elf_strptr(elf, shdr->sh_link, sym.st_name)) && *name) {
			*best = sym;
			*best_name = name;
		}
	}
}

bool elf_symbol_at(struct elf_file *ef, uint64_t vaddr, char *name, size_t len)
{
	static const GElf_Word tables[] = { SHT_SYMTAB, SHT_DYNSYM };
	const char *best_name = NULL;
	GElf_Sym best = { 0 };

	for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++) {
		GElf_Shdr shdr;
		Elf_Scn *scn = find_section_of_type(ef->elf, tables[k]);
		Elf_Data *syms = scn ? section_data(scn, &shdr) : NULL;
		if (syms)
			closest_function(ef->elf, syms, &shdr, vaddr, &best, &best_name);
	}
	if (!best_name)
		return false;
	snprintf(name, len, "%s", best_name);
	return true;
}

size_t elf_build_id(struct elf_file *ef, unsigned char *id, size_t max)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr shdr;
		GElf_Nhdr note;
		Elf_Data *data;
		size_t offset = 0, name_at, desc_at;
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE || !(data = section_data(scn, &shdr)))
			continue;
		while ((offset = gelf_getnote(data, offset, &note, &name_at, &desc_at)) > 0) {
			if (note.n_type != NT_GNU_BUILD_ID || note.n_namesz != 4 || note.n_descsz == 0 ||
			    note.n_descsz > max || memcmp((const char *)data->d_buf + name_at, "GNU", 4) != 0)
				continue;
			memcpy(id, (const char *)data->d_buf + desc_at, note.n_descsz);
			return note.n_descsz;
		}
	}
	return 0;
}

static const GElf_Phdr *load_holding(const struct elf_file *ef, uint64_t vaddr, size_t len)
{
	for (size_t i = 0; i < ef->nloads; i++) {
		const GElf_Phdr *ph = &ef->loads[i];
		if (vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr < ph->p_filesz &&
		    len <= ph->p_filesz - (vaddr - ph->p_vaddr))
			return ph;
	}
	return NULL;
}

int elf_vaddr_to_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *offset)
{
	const GElf_Phdr *ph = load_holding(ef, vaddr, 1);

	if (!ph)
		return -1;
	*offset = vaddr - ph->p_vaddr + ph->p_offset;
	return 0;
}

int elf_load_bias(struct elf_file *ef, uint64_t map_start, uint64_t map_offset, uint64_t *bias)
{
	for (size_t i = 0; i < ef->nloads; i++) {
		const GElf_Phdr *ph = &ef->loads[i];
		if ((ph->p_offset & PAGE_MASK_4K) == map_offset) {
			*bias = map_start - (ph->p_vaddr & PAGE_MASK_4K);
			return 0;
		}
	}
	return -1;
}

int elf_read_vaddr(struct elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	const GElf_Phdr *ph = load_holding(ef, vaddr, len);
	uint64_t off;

	if (!ph)
		return -1;
	off = vaddr - ph->p_vaddr + ph->p_offset;
	if (ef->fd < 0) {
		if (off > ef->image_size || len > ef->image_size - off)
			return -1;
		memcpy(buf, ef->image + off, len);
		return 0;
	}
	return pread(ef->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static Elf_Scn *find_section_named(struct elf_file *ef, const char *wanted)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr shdr;

	if (elf_getshdrstrndx(ef->elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *n = gelf_getshdr(scn, &shdr) ? elf_strptr(ef->elf, shstrndx, shdr.sh_name) : NULL;
		if (n && strcmp(n, wanted) == 0)
			return scn;
	}
	return NULL;
}

bool elf_scan_strings(struct elf_file *ef, const char *section, size_t min_len,
		      bool (*found)(const char *str, void *arg), void *arg)
{
	Elf_Scn *scn = find_section_named(ef, section);
	GElf_Shdr shdr;
	Elf_Data *data = scn ? section_data(scn, &shdr) : NULL;
	const char *p, *end;

	if (!data || !data->d_buf)
		return false;
	p = data->d_buf;
	end = p + data->d_size;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			break;
		if ((size_t)(nul - p) >= min_len && found(p, arg))
			return true;
		p = nul + 1;
	}
	return false;
}
