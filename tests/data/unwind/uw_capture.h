/*
 * Fixtures for the unwinder's tests (tests/unit/test_unwind.c) and probes
 * (tests/data/unwind/uw_probe.c): what perf's REGS_USER + STACK_USER would
 * hold, taken by the process itself — the registers as of the return into the
 * caller of uw_capture_regs, the stack bytes from that SP up, and the
 * executable file mappings of /proc/self/maps — and a file format to keep
 * them. Header-only: each executable includes it once.
 */
#ifndef PMUPROF_UW_CAPTURE_H
#define PMUPROF_UW_CAPTURE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* perf's user registers (asm/perf_regs.h numbering), the SP and IP among them, and perf's mask. */
#if defined(__x86_64__)
#define UW_FX_NREGS 24 /* PERF_REG_X86_64_MAX */
#define UW_FX_SP 7     /* PERF_REG_X86_SP */
#define UW_FX_IP 8     /* PERF_REG_X86_IP */
#define UW_FX_MASK 0xff0fffull /* all but DS ES FS GS */
#elif defined(__aarch64__)
#define UW_FX_NREGS 33 /* PERF_REG_ARM64_MAX */
#define UW_FX_LR 30    /* PERF_REG_ARM64_LR */
#define UW_FX_SP 31    /* PERF_REG_ARM64_SP */
#define UW_FX_IP 32    /* PERF_REG_ARM64_PC */
#define UW_FX_MASK ((1ull << UW_FX_NREGS) - 1)
#else
#error "unwinding fixtures exist for x86-64 and arm64 only"
#endif

struct uw_fx_map {
	uint64_t start, end, pgoff;
	uint64_t file_size, file_mtime_ns; /* to notice a rebuilt file */
	uint32_t prot;
	char *path;
};

struct uw_fx {
	uint32_t pid;
	uint64_t regs_mask;
	uint64_t regs[UW_FX_NREGS]; /* by perf register number */
	uint64_t stack_size;
	unsigned char *stack;
	size_t nmaps;
	struct uw_fx_map *maps;
};

/*
 * uw_capture_regs(regs): every general register by perf register number as
 * the caller sees them right after the call returns: IP is the return
 * address, SP the caller's SP. Written in assembly so that no register is
 * disturbed before it is stored.
 * uw_copy_bytes(dst, src, n): a plain copy the sanitizers do not check (the
 * stack above SP holds other frames' redzones, which ASan would report).
 */
#if defined(__x86_64__)
__asm__(".pushsection .text\n"
	".p2align 4\n"
	".globl uw_capture_regs\n"
	".hidden uw_capture_regs\n"
	".type uw_capture_regs, @function\n"
	"uw_capture_regs:\n"
	"  movq %rax, 0(%rdi)\n"
	"  movq %rbx, 8(%rdi)\n"
	"  movq %rcx, 16(%rdi)\n"
	"  movq %rdx, 24(%rdi)\n"
	"  movq %rsi, 32(%rdi)\n"
	"  movq %rdi, 40(%rdi)\n"
	"  movq %rbp, 48(%rdi)\n"
	"  leaq 8(%rsp), %rax\n"
	"  movq %rax, 56(%rdi)\n"
	"  movq (%rsp), %rax\n"
	"  movq %rax, 64(%rdi)\n"
	"  pushfq\n"
	"  popq %rax\n"
	"  movq %rax, 72(%rdi)\n"
	"  xorl %eax, %eax\n"
	"  movw %cs, %ax\n"
	"  movq %rax, 80(%rdi)\n"
	"  movw %ss, %ax\n"
	"  movq %rax, 88(%rdi)\n"
	"  movq $0, 96(%rdi)\n"
	"  movq $0, 104(%rdi)\n"
	"  movq $0, 112(%rdi)\n"
	"  movq $0, 120(%rdi)\n"
	"  movq %r8, 128(%rdi)\n"
	"  movq %r9, 136(%rdi)\n"
	"  movq %r10, 144(%rdi)\n"
	"  movq %r11, 152(%rdi)\n"
	"  movq %r12, 160(%rdi)\n"
	"  movq %r13, 168(%rdi)\n"
	"  movq %r14, 176(%rdi)\n"
	"  movq %r15, 184(%rdi)\n"
	"  movq 0(%rdi), %rax\n"
	"  ret\n"
	".size uw_capture_regs, .-uw_capture_regs\n"
	".p2align 4\n"
	".globl uw_copy_bytes\n"
	".hidden uw_copy_bytes\n"
	".type uw_copy_bytes, @function\n"
	"uw_copy_bytes:\n"
	"  movq %rdx, %rcx\n"
	"  rep movsb\n"
	"  ret\n"
	".size uw_copy_bytes, .-uw_copy_bytes\n"
	".popsection\n");
#else
/* X0..X29 in place, then LR, SP and PC: the return address is both LR and PC. */
__asm__(".pushsection .text\n"
	".p2align 4\n"
	".globl uw_capture_regs\n"
	".hidden uw_capture_regs\n"
	".type uw_capture_regs, %function\n"
	"uw_capture_regs:\n"
	"  stp x0, x1, [x0, #0]\n"
	"  stp x2, x3, [x0, #16]\n"
	"  stp x4, x5, [x0, #32]\n"
	"  stp x6, x7, [x0, #48]\n"
	"  stp x8, x9, [x0, #64]\n"
	"  stp x10, x11, [x0, #80]\n"
	"  stp x12, x13, [x0, #96]\n"
	"  stp x14, x15, [x0, #112]\n"
	"  stp x16, x17, [x0, #128]\n"
	"  stp x18, x19, [x0, #144]\n"
	"  stp x20, x21, [x0, #160]\n"
	"  stp x22, x23, [x0, #176]\n"
	"  stp x24, x25, [x0, #192]\n"
	"  stp x26, x27, [x0, #208]\n"
	"  stp x28, x29, [x0, #224]\n"
	"  mov x1, sp\n"
	"  stp x30, x1, [x0, #240]\n"
	"  str x30, [x0, #256]\n"
	"  ret\n"
	".size uw_capture_regs, .-uw_capture_regs\n"
	".p2align 4\n"
	".globl uw_copy_bytes\n"
	".hidden uw_copy_bytes\n"
	".type uw_copy_bytes, %function\n"
	"uw_copy_bytes:\n"
	"  cbz x2, 2f\n"
	"1:\n"
	"  ldrb w3, [x1], #1\n"
	"  strb w3, [x0], #1\n"
	"  subs x2, x2, #1\n"
	"  b.ne 1b\n"
	"2:\n"
	"  ret\n"
	".size uw_copy_bytes, .-uw_copy_bytes\n"
	".popsection\n");
#endif

void uw_capture_regs(uint64_t regs[UW_FX_NREGS]);
void uw_copy_bytes(void *dst, const void *src, size_t n);

static inline void uw_fx_free(struct uw_fx *f)
{
	for (size_t i = 0; i < f->nmaps; i++)
		free(f->maps[i].path);
	free(f->maps);
	free(f->stack);
	memset(f, 0, sizeof(*f));
}

static inline void uw_fx_file_id(const char *path, uint64_t *size, uint64_t *mtime_ns)
{
	struct stat st;
	*size = *mtime_ns = 0;
	if (path[0] == '/' && stat(path, &st) == 0) {
		*size = (uint64_t)st.st_size;
		*mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	}
}

/*
 * Completes a capture: copies up to max_stack bytes from regs' SP to the end
 * of the stack mapping and lists the executable file mappings (and the vDSO).
 * Call it right after uw_capture_regs, from the same function or deeper:
 * everything it does happens below that SP.
 */
static inline int uw_fx_finish(struct uw_fx *f, const uint64_t regs[UW_FX_NREGS], size_t max_stack)
{
	memset(f, 0, sizeof(*f));
	f->pid = (uint32_t)getpid();
	f->regs_mask = UW_FX_MASK;
	memcpy(f->regs, regs, sizeof(f->regs));
	uint64_t sp = regs[UW_FX_SP];
	FILE *m = fopen("/proc/self/maps", "re");
	if (!m)
		return -errno;
	char line[4352];
	size_t cap = 0;
	while (fgets(line, sizeof(line), m)) {
		unsigned long long lo, hi, off;
		char perms[8];
		int at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, perms, &off, &at) < 4)
			continue;
		char *name = at ? line + at : line + strlen(line);
		name[strcspn(name, "\n")] = '\0';
		if (sp >= lo && sp < hi && !f->stack) {
			size_t n = hi - sp < max_stack ? (size_t)(hi - sp) : max_stack;
			f->stack = malloc(n ? n : 1);
			if (!f->stack)
				break;
			uw_copy_bytes(f->stack, (const void *)(uintptr_t)sp, n);
			f->stack_size = n;
		}
		if (perms[2] != 'x' || (name[0] != '/' && strcmp(name, "[vdso]") != 0))
			continue;
		if (f->nmaps == cap) {
			cap = cap ? 2 * cap : 32;
			struct uw_fx_map *g = realloc(f->maps, cap * sizeof(*g));
			if (!g)
				break;
			f->maps = g;
		}
		struct uw_fx_map *mp = &f->maps[f->nmaps];
		mp->start = lo;
		mp->end = hi;
		mp->pgoff = off;
		mp->prot = (perms[0] == 'r' ? 1u : 0u) | (perms[1] == 'w' ? 2u : 0u) | 4u;
		mp->path = strdup(name);
		if (!mp->path)
			break;
		uw_fx_file_id(name, &mp->file_size, &mp->file_mtime_ns);
		f->nmaps++;
	}
	fclose(m);
	return f->stack && f->nmaps ? 0 : -ENOMEM;
}

#define UW_FX_MAGIC "PMUUWFX1"

static inline int uw_fx_save(const struct uw_fx *f, const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *o = fopen(tmp, "wbe");
	if (!o)
		return -errno;
	uint32_t nmaps = (uint32_t)f->nmaps;
	int ok = fwrite(UW_FX_MAGIC, 8, 1, o) == 1 && fwrite(&f->pid, 4, 1, o) == 1 &&
		 fwrite(&nmaps, 4, 1, o) == 1 && fwrite(&f->regs_mask, 8, 1, o) == 1 &&
		 fwrite(f->regs, sizeof(f->regs), 1, o) == 1 &&
		 fwrite(&f->stack_size, 8, 1, o) == 1 &&
		 fwrite(f->stack, 1, f->stack_size, o) == f->stack_size;
	for (size_t i = 0; ok && i < f->nmaps; i++) {
		const struct uw_fx_map *mp = &f->maps[i];
		uint32_t len = (uint32_t)strlen(mp->path);
		uint64_t v[5] = {mp->start, mp->end, mp->pgoff, mp->file_size, mp->file_mtime_ns};
		ok = fwrite(v, sizeof(v), 1, o) == 1 && fwrite(&mp->prot, 4, 1, o) == 1 &&
		     fwrite(&len, 4, 1, o) == 1 && fwrite(mp->path, 1, len, o) == len;
	}
	if (fclose(o) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static inline int uw_fx_load(const char *path, struct uw_fx *f)
{
	memset(f, 0, sizeof(*f));
	FILE *in = fopen(path, "rbe");
	if (!in)
		return -errno;
	char magic[8];
	uint32_t nmaps = 0;
	int ok = fread(magic, 8, 1, in) == 1 && memcmp(magic, UW_FX_MAGIC, 8) == 0 &&
		 fread(&f->pid, 4, 1, in) == 1 && fread(&nmaps, 4, 1, in) == 1 && nmaps < 4096 &&
		 fread(&f->regs_mask, 8, 1, in) == 1 && fread(f->regs, sizeof(f->regs), 1, in) == 1 &&
		 fread(&f->stack_size, 8, 1, in) == 1 && f->stack_size <= (1u << 20);
	if (ok) {
		f->stack = malloc(f->stack_size ? f->stack_size : 1);
		f->maps = calloc(nmaps ? nmaps : 1, sizeof(*f->maps));
		ok = f->stack && f->maps &&
		     fread(f->stack, 1, f->stack_size, in) == f->stack_size;
	}
	for (uint32_t i = 0; ok && i < nmaps; i++) {
		struct uw_fx_map *mp = &f->maps[i];
		uint64_t v[5];
		uint32_t len;
		ok = fread(v, sizeof(v), 1, in) == 1 && fread(&mp->prot, 4, 1, in) == 1 &&
		     fread(&len, 4, 1, in) == 1 && len < 4096 && (mp->path = calloc(1, len + 1)) &&
		     fread(mp->path, 1, len, in) == len;
		if (mp->path)
			f->nmaps = i + 1;
		mp->start = v[0];
		mp->end = v[1];
		mp->pgoff = v[2];
		mp->file_size = v[3];
		mp->file_mtime_ns = v[4];
	}
	fclose(in);
	if (!ok) {
		uw_fx_free(f);
		return -EINVAL;
	}
	return 0;
}

/* True when every mapped file is still the one the fixture saw. */
static inline int uw_fx_files_unchanged(const struct uw_fx *f)
{
	for (size_t i = 0; i < f->nmaps; i++) {
		uint64_t size, mtime;
		if (f->maps[i].path[0] != '/')
			continue;
		uw_fx_file_id(f->maps[i].path, &size, &mtime);
		if (size != f->maps[i].file_size || mtime != f->maps[i].file_mtime_ns)
			return 0;
	}
	return 1;
}

#endif
